// The capture page: the mini-program's stand-in, using only the public mobile API.
// One instruction at a time, in large text, optionally spoken; nothing is rushed.
"use strict";

(function () {
  const root = document.getElementById("capture");
  const API = root.dataset.api;
  const ACTIONS = {
    blink: ["请眨眨眼", "Blink your eyes"],
    turn_left: ["请慢慢向左转头", "Slowly turn your head to your left"],
    turn_right: ["请慢慢向右转头", "Slowly turn your head to your right"],
    nod: ["请慢慢点点头", "Slowly nod your head"],
    open_mouth: ["请张张嘴", "Open your mouth"],
  };
  const RELATIONSHIPS = {
    spouse: "配偶", child: "子女", grandchild: "孙子女", sibling: "兄弟姐妹",
    parent: "父母", other_relative: "其他亲属", carer: "照护人",
  };
  const SUBJECTS = {
    rejected_review: ["认证审核未通过的决定", "the rejection of your certification review"],
    suspension: ["暂停发放待遇的决定", "the suspension of your benefit"],
    loss_record: ["不再符合领取条件的记录", "the record that you no longer qualify"],
  };
  const STANDING = {
    certified: ["已认证，下次请在 {d} 前认证", "Certified; certify again before {d}"],
    due_soon: ["请在 {d} 前完成认证", "Certify before {d}"],
    overdue: ["认证已于 {d} 到期，请尽快认证", "Your certification was due on {d}: please certify soon"],
    suspended: ["待遇已暂停，完成认证后可恢复并补发", "Your benefit is suspended: certify to have it restored with arrears"],
    not_in_scope: ["目前无需认证", "Nothing is due"],
  };
  const APPEAL_STATUS = {
    open: "处理中 / being considered", upheld: "申诉成立 / upheld",
    dismissed: "未获支持 / not upheld", withdrawn: "已撤回 / withdrawn",
  };
  const state = {
    tokens: null, account: null, personId: null, stream: null, session: null, mode: "certify",
  };
  const $ = (id) => document.getElementById(id);

  function show(step) {
    for (const el of root.querySelectorAll(".step")) el.hidden = el.id !== "step-" + step;
  }
  function say(zh, en, isError) {
    const m = $("message");
    m.textContent = en ? zh + " / " + en : zh;
    m.className = "message" + (isError ? " error" : "");
  }
  function speak(text) {
    if (!$("speak").checked || !("speechSynthesis" in window)) return;
    const u = new SpeechSynthesisUtterance(text);
    u.lang = "zh-CN";
    u.rate = 0.8;
    window.speechSynthesis.cancel();
    window.speechSynthesis.speak(u);
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  async function api(method, path, body, extra) {
    const headers = Object.assign({}, extra || {});
    if (state.tokens) headers.Authorization = "Bearer " + state.tokens.access_token;
    let payload = body;
    if (body !== undefined && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const resp = await fetch(API + path, { method, headers, body: payload });
    const data = resp.status === 204 ? {} : await resp.json().catch(() => ({}));
    if (!resp.ok) {
      const err = new Error(data.message || "HTTP " + resp.status);
      err.status = resp.status;
      err.data = data;
      throw err;
    }
    return data;
  }

  function failed(err) {
    const retriable = err.status === 503 || err.status === undefined;
    say(
      retriable ? "网络或服务暂时不可用，请稍后重试" : "未能完成",
      (err.message || "") + (retriable ? " (please retry in a moment)" : ""),
      true
    );
  }

  async function sendCode() {
    try {
      const phone = $("login-phone").value.trim();
      const sent = await api("POST", "/auth/sms/code", { phone });
      $("code-button").disabled = true;
      setTimeout(() => { $("code-button").disabled = false; }, sent.resend_after_s * 1000);
      if (sent.demo_code) {
        root.dataset.demoCode = sent.demo_code;
        say("演示验证码：" + sent.demo_code, "Demo code: " + sent.demo_code);
      } else {
        say("验证码已发送，5分钟内有效", "A code was sent; it is valid for 5 minutes");
      }
      $("login-code").focus();
    } catch (err) {
      failed(err);
    }
  }

  async function login() {
    try {
      const result = await api("POST", "/auth/sms/login", {
        phone: $("login-phone").value.trim(),
        code: $("login-code").value.trim(),
      });
      if (!result.registered) {
        state.registration = result.registration_token;
        show("register");
        say("首次使用，请填写身份证号和姓名", "First time: your citizen ID and name");
        return;
      }
      state.tokens = result.tokens;
      await home();
    } catch (err) {
      failed(err);
    }
  }

  async function register() {
    try {
      state.tokens = await api("POST", "/auth/mobile/register", {
        registration_token: state.registration,
        citizen_id: $("register-cid").value.trim(),
        name: $("register-name").value.trim(),
      });
      await home();
    } catch (err) {
      failed(err);
    }
  }

  async function home() {
    const me = await api("GET", "/auth/me");
    state.account = me.account;
    $("greeting").textContent = me.account.display_name + "，您好 / Hello";
    const claim = me.claim;
    const claimOpen = me.account.kind === "family" && claim && claim.status === "pending";
    $("claim-box").hidden = !claimOpen;
    root.dataset.claim = claim ? claim.status : "";
    if (claimOpen) {
      $("claim-ref").textContent = "申请编号 / Reference: " + claim.id.slice(0, 8);
      $("claim-button").disabled = claim.next !== "face_check";
    }
    if (me.account.kind === "family") {
      const bindings = (await api("GET", "/family/bindings")).filter((b) => b.status === "active");
      const select = $("person-choice");
      select.textContent = "";
      for (const b of bindings) {
        const o = document.createElement("option");
        o.value = b.person_id;
        const rel = RELATIONSHIPS[b.relationship] || b.relationship;
        o.textContent = (b.person_name || b.person_id.slice(0, 8)) + "（您是其" + rel + "）";
        select.appendChild(o);
      }
      $("family-choice").hidden = bindings.length === 0;
      $("start-button").hidden = bindings.length === 0;
      $("overview").hidden = true;
      if (bindings.length) {
        await loadOverview(select.value);
      } else {
        $("due").textContent = claimOpen ? "" : "您还没有已生效的亲属绑定 / You have no active family binding yet";
      }
    } else {
      $("family-choice").hidden = true;
      $("start-button").hidden = false;
      state.personId = me.account.person_id;
      try {
        await loadOverview(state.personId);
      } catch (err) {
        $("overview").hidden = true;
        $("due").textContent = "完成首次刷脸认证后可查看认证期限 / Your due date shows after your first certification";
      }
    }
    show("home");
    say("请在光线明亮处，正对手机", "Face the phone in good light");
  }

  function item(list, text) {
    const li = document.createElement("li");
    li.textContent = text;
    list.appendChild(li);
    return li;
  }

  function pair(p, d) {
    return p[0].replace("{d}", d || "") + " / " + p[1].replace("{d}", d || "");
  }

  // The person's record, for the person or for the family member helping them.
  async function loadOverview(personId) {
    const family = state.account.kind === "family";
    const o = await api("GET", "/me/overview" + (family ? "?person_id=" + personId : ""));
    state.overview = o;
    root.dataset.dueOn = o.due_on || "";
    root.dataset.standing = o.standing;
    $("due").textContent = (family ? o.name + "：" : "") + pair(STANDING[o.standing] || [o.standing, o.standing], o.due_on);
    $("last-cert").textContent = o.last_certified_on
      ? "上次认证 / Last certified: " + o.last_certified_on : "";
    $("receipt").hidden = !o.receipt_code;
    if (o.receipt_code) {
      $("receipt-code").textContent = o.receipt_code;
      $("receipt-check").href = "/verify/" + o.receipt_code;
      $("receipt-pdf").hidden = family;
    }
    $("tasks").textContent = "";
    for (const t of o.open_tasks) {
      const who = t.who === "employer" ? ["您的用人单位", "your employer"] : ["乡镇（街道）工作人员", "your township"];
      item($("tasks"), who[0] + "将在 " + t.deadline_on + " 前联系核实 / " + who[1] + " will contact you by " + t.deadline_on);
    }
    $("contestable").textContent = "";
    for (const c of o.contestable) {
      const words = SUBJECTS[c.subject] || [c.subject, c.subject];
      const li = item($("contestable"), words[0] + "（" + c.decided_on + "）/ " + words[1] + " ");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "appeal-button";
      b.textContent = "申诉 / Appeal";
      b.addEventListener("click", () => openAppeal(c));
      li.appendChild(b);
    }
    $("contest-box").hidden = o.contestable.length === 0;
    $("appeals").textContent = "";
    for (const a of o.appeals) {
      const words = SUBJECTS[a.subject] || [a.subject, a.subject];
      let text = words[0] + "：" + (APPEAL_STATUS[a.status] || a.status);
      if (a.status === "open") text += "，" + a.due_on + " 前答复 / answered by " + a.due_on;
      if (a.decision_reason) text += " — " + a.decision_reason;
      item($("appeals"), text).dataset.status = a.status;
    }
    $("appeals-box").hidden = o.appeals.length === 0;
    $("visit-button").hidden = o.home_visits.length > 0;
    $("withdraw-button").hidden = family;
    $("notices-box").hidden = true;
    if (!family) {
      const inbox = await api("GET", "/me/notices?limit=5");
      $("notices").textContent = "";
      for (const n of inbox) item($("notices"), n.title + "：" + n.body);
      $("notices-box").hidden = inbox.length === 0;
    }
    $("overview").hidden = false;
    return o;
  }

  function openAppeal(c) {
    state.contesting = c;
    const words = SUBJECTS[c.subject] || [c.subject, c.subject];
    $("appeal-what").textContent = "申诉：" + words[0] + " / Contest " + words[1];
    $("appeal-form").hidden = false;
    $("appeal-statement").focus();
    speak("请说明理由，工作人员会在十五个工作日内答复");
  }

  async function sendAppeal(event) {
    event.preventDefault();
    const c = state.contesting;
    try {
      const body = { subject: c.subject, subject_id: c.subject_id, statement: $("appeal-statement").value };
      if (state.account.kind === "family") body.person_id = state.overview.person_id;
      const filed = await api("POST", "/me/appeals", body);
      $("appeal-form").hidden = true;
      $("appeal-statement").value = "";
      say("申诉已提交，将于 " + filed.due_on + " 前答复", "Appeal sent; answered by " + filed.due_on);
      speak("申诉已提交");
      await loadOverview(state.overview.person_id);
    } catch (err) {
      failed(err);
    }
  }

  async function askVisit() {
    try {
      await api("POST", "/persons/" + state.overview.person_id + "/home-visits", { reason: "elderly" });
      $("visit-button").hidden = true;
      say("已申请上门认证，乡镇（街道）工作人员会与您联系", "Home visit asked for; your township will call");
    } catch (err) {
      failed(err);
    }
  }

  async function receiptPdf() {
    try {
      const resp = await fetch(API + "/me/receipts/" + state.overview.receipt_code + "/pdf", {
        headers: { Authorization: "Bearer " + state.tokens.access_token },
      });
      if (!resp.ok) throw Object.assign(new Error("HTTP " + resp.status), { status: resp.status });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(await resp.blob());
      a.download = "receipt-" + state.overview.receipt_code + ".pdf";
      a.click();
    } catch (err) {
      failed(err);
    }
  }

  // Face checks need the person's consent (PIPL): shown once, recorded with its version.
  async function askConsent(mode) {
    if (state.account.kind === "family" && mode !== "claim") {
      say("需要您的亲属本人同意：请其在自己的手机上同意，或到服务网点签署同意书",
        "The person must consent first: in their own app, or on a form at a service point", true);
      return;
    }
    const notice = await api("GET", "/me/consent");
    state.notice = notice.notice_version;
    state.pending = mode;
    $("consent-zh").textContent = notice.notice_zh;
    $("consent-en").textContent = notice.notice_en;
    show("consent");
    speak("请阅读人脸信息处理告知，同意后开始认证");
  }

  async function agree() {
    try {
      await api("POST", "/me/consent", { notice_version: state.notice });
      await start(state.pending);
    } catch (err) {
      failed(err);
    }
  }

  async function withdraw() {
    if (!window.confirm("撤回后将不能刷脸认证，需到服务网点或预约上门认证。确定撤回？\nWithdraw? Then certify at a service point or by a home visit.")) return;
    try {
      const done = await api("POST", "/me/consent/withdrawal");
      say(done.message);
      await loadOverview(state.personId);
    } catch (err) {
      failed(err);
    }
  }

  async function start(mode) {
    state.mode = mode === "claim" ? "claim" : "certify";
    try {
      const body = { gentle: $("gentle").checked };
      if (state.mode === "claim") {
        state.session = await api("POST", "/claims/check", body);
      } else {
        if (state.account.kind === "family") body.person_id = $("person-choice").value;
        state.session = await api("POST", "/selfservice/sessions", body);
      }
      state.stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
        audio: false,
      });
      $("preview").srcObject = state.stream;
      show("record");
      $("instruction").textContent = "请把脸放在画面中间 / Put your face in the middle";
      say("准备好后请点击下方按钮", "Press the button when you are ready");
    } catch (err) {
      if (err.name === "NotAllowedError") {
        say("请允许使用摄像头", "Please allow the camera", true);
      } else if (err.status === 409 && err.data.details && err.data.details.reason === "consent_required") {
        await askConsent(mode).catch(failed);
      } else {
        failed(err);
      }
    }
  }

  function recorderType() {
    for (const t of ["video/webm;codecs=vp8", "video/webm", "video/mp4"]) {
      if (window.MediaRecorder && MediaRecorder.isTypeSupported(t)) return t;
    }
    return "";
  }

  async function record() {
    $("record-button").hidden = true;
    const s = state.session;
    const chunks = [];
    const type = recorderType();
    const recorder = new MediaRecorder(state.stream, type ? { mimeType: type } : undefined);
    recorder.ondataavailable = (e) => e.data.size && chunks.push(e.data);
    const stopped = new Promise((r) => (recorder.onstop = r));
    recorder.start(1000);
    say("正在录制，请按提示慢慢做动作", "Recording: do each action slowly as shown");
    const started = Date.now();
    for (let i = 0; i < s.actions.length; i++) {
      const [zh, en] = ACTIONS[s.actions[i]] || [s.actions[i], s.actions[i]];
      $("instruction").textContent = "第" + (i + 1) + "步：" + zh;
      $("countdown").textContent = en;
      speak(zh);
      await sleep(s.seconds_per_action * 1000);
    }
    const left = s.max_video_seconds * 1000 - (Date.now() - started) - 500;
    await sleep(Math.max(0, Math.min(1000, left)));
    recorder.stop();
    await stopped;
    state.stream.getTracks().forEach((t) => t.stop());
    $("instruction").textContent = "";
    $("countdown").textContent = "";
    const blob = new Blob(chunks, { type: (type || "video/webm").split(";")[0] });
    await upload(blob);
  }

  async function upload(blob) {
    const s = state.session;
    const up = s.upload;
    show("wait");
    say("正在上传视频", "Uploading the video");
    try {
      if (blob.size > up.max_bytes) throw new Error("video too large");
      const form = new FormData();
      for (const [k, v] of Object.entries(up.fields || {})) form.append(k, v);
      if (up.method === "presigned_post") {
        form.append("Content-Type", blob.type);
        form.append(up.file_field, blob, "selfie.webm");
        const resp = await fetch(up.url, { method: "POST", body: form });
        if (!resp.ok) throw Object.assign(new Error("upload refused (" + resp.status + ")"), { status: resp.status });
      } else {
        form.append(up.file_field, blob, "selfie.webm");
        await api("PUT", up.url.replace(/^\/api/, ""), form);
      }
      $("upload-progress").value = 50;
      await api("POST", "/selfservice/sessions/" + s.session_id + "/submit", { nonce: s.nonce, mirrored: false });
      say("视频已上传，正在核验", "Uploaded; checking");
      await poll();
    } catch (err) {
      show("outcome");
      $("outcome-title").textContent = "上传未成功 / The upload did not go through";
      $("again-button").hidden = false;
      failed(err);
    }
  }

  async function poll() {
    const s = state.session;
    for (let i = 0; i < 120; i++) {
      const st = await api("GET", "/selfservice/sessions/" + s.session_id);
      if (st.state !== "open" && st.state !== "pending") return outcome(st);
      $("upload-progress").value = Math.min(95, 50 + i * 3);
      await sleep(1500);
    }
    say("核验时间较长，请稍后再查看结果", "This is taking long; check again later", true);
  }

  async function showReceipt() {
    const personId = state.account.kind === "family" ? $("person-choice").value : state.personId;
    try {
      const o = await loadOverview(personId);
      if (!o.receipt_code) return;
      $("outcome-receipt").textContent = "回执码 " + o.receipt_code + "，下次请在 " + o.due_on + " 前认证 / Receipt "
        + o.receipt_code + "; certify again before " + o.due_on;
      $("outcome-receipt").hidden = false;
      root.dataset.receipt = o.receipt_code;
    } catch (err) {
      failed(err);
    }
  }

  function outcome(st) {
    show("outcome");
    const titles = state.mode === "claim" ? {
      pass: "已确认是您本人 / Confirmed: it is you",
      retry: "未能确认 / Not confirmed",
      fail: "未能确认 / Not confirmed",
    } : {
      pass: "认证成功 / Certified",
      retry: "请重新录制 / Please record again",
      fail: "未能通过，已转人工审核 / Not passed: staff will review it",
    };
    $("outcome-title").textContent = titles[st.state] || st.state;
    root.dataset.outcome = st.state;
    const list = $("outcome-reasons");
    list.textContent = "";
    for (const r of st.reasons || []) {
      const li = document.createElement("li");
      li.textContent = r.zh + " / " + r.en;
      list.appendChild(li);
    }
    $("outcome-next").textContent = st.next.zh + " / " + st.next.en;
    $("again-button").hidden = !["retry", "claim_retry"].includes(st.next.step);
    $("home-button").hidden = !(st.state === "pass" || st.state === "fail");
    $("outcome-receipt").hidden = true;
    speak(st.next.zh);
    say("", "");
    if (state.mode === "certify" && st.state === "pass") showReceipt();
    if (st.state === "fail") {
      $("outcome-receipt").textContent = "如审核未通过，您可以在首页申诉 / If the review rejects it, you can appeal from the start page";
      $("outcome-receipt").hidden = false;
    }
  }

  $("code-button").addEventListener("click", sendCode);
  $("login-button").addEventListener("click", login);
  $("claim-button").addEventListener("click", () => start("claim"));
  $("home-button").addEventListener("click", home);
  $("register-button").addEventListener("click", register);
  $("start-button").addEventListener("click", () => start("certify"));
  $("person-choice").addEventListener("change", (e) => loadOverview(e.target.value).catch(failed));
  $("appeal-form").addEventListener("submit", sendAppeal);
  $("visit-button").addEventListener("click", askVisit);
  $("receipt-pdf").addEventListener("click", receiptPdf);
  $("consent-button").addEventListener("click", agree);
  $("consent-decline").addEventListener("click", () => { show("home"); say("您可以到服务网点或预约上门认证", "You can certify at a service point or by a home visit"); });
  $("withdraw-button").addEventListener("click", withdraw);
  $("record-button").addEventListener("click", record);
  $("again-button").addEventListener("click", () => {
    $("record-button").hidden = false;
    start(state.mode);
  });
})();
