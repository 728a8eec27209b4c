"""The staff console: review queue, verification tasks, comparison runs, proposals,
dashboards, audit and tip-off investigation. Every page calls the same use cases as the
API with the signed-in staff member as the actor, so the same region scopes apply."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from functools import wraps
from typing import Any
from uuid import UUID

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException

from api.context import ctx, runtime
from api.errors import STATUS_BY_ERROR, STORAGE_ERRORS, record_denial, storage_answer
from api.ledger import ledger_response
from api.sniff import sniff
from certification.errors import (
    AccessDenied,
    AuthenticationFailed,
    DomainError,
    TooManyRequests,
    ValidationFailed,
)
from certification.ports import PageRequest
from certification.regions import CITY_CODE
from certification.services import accounts as account_service
from certification.services import audit as audit_service
from certification.services import comparison as comparison_service
from certification.services import dashboard as dashboard_service
from certification.services import review as review_service
from certification.services import supervision as supervision_service
from certification.services import verification as verification_service
from certification.services.persons import load_person
from certification.supervision import CATEGORY_LABELS, RewardScale
from certification.verification import (
    HomeVisitReason,
    HomeVisitStatus,
    Statement,
    VerificationChannel,
    VerificationResult,
)
from certification.vocabulary import AccountKind, StaffRole
from console.security import (
    check_csrf,
    hold_for_second_factor,
    pending_account,
    sign_in,
    sign_out,
    staff_actor,
)

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

MAX_EVIDENCE_BYTES = 60 * 1024 * 1024
PAGE = 50


def _query() -> dict[str, Any]:
    """The request's query string (first value of each), carried through a redirect."""
    return dict(request.args.to_dict())


def _status_for(err: DomainError) -> int:
    return next((s for cls, s in STATUS_BY_ERROR if isinstance(err, cls)), 400)


@bp.before_request
def _guard() -> Any:
    if request.endpoint == "console.task_evidence_upload":
        request.max_content_length = MAX_EVIDENCE_BYTES  # before the form is read
    if request.method == "POST":
        check_csrf()
    if request.endpoint in (
        "console.login",
        "console.second_factor",
        "console.static",
        "console.language",
    ):
        return None
    actor = staff_actor()
    if actor is None:
        return redirect(url_for("console.login", next=request.full_path))
    g.staff = actor
    return None


@bp.errorhandler(DomainError)
def _domain_error(err: DomainError) -> Any:
    status = _status_for(err)
    if isinstance(err, AccessDenied):
        record_denial(err)
    if request.method == "POST" and status in (409, 412, 422):
        flash(err.message, "error")
        back = request.referrer or ""
        if not back.startswith(request.host_url + "console/"):
            back = url_for("console.home")
        return redirect(back, code=303)
    return render_template("console/error.html", status=status, message=err.message), status


def _storage_error(err: Exception) -> Any:
    status, _reason, message = storage_answer(err)
    return render_template("console/error.html", status=status, message=message), status


for _storage_failure in STORAGE_ERRORS:
    bp.register_error_handler(_storage_failure, _storage_error)


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException) -> Any:
    status = err.code or 500
    if err.description == "csrf":
        message = "This form expired or did not come from this console; reload and retry."
    else:
        message = err.description or ""
    return render_template("console/error.html", status=status, message=message), status


def _actor() -> Any:
    return g.staff


def _page_request() -> PageRequest:
    from api.pagination import decode_cursor

    try:
        after = decode_cursor(request.args.get("cursor"))
    except Exception as err:  # a cursor from nowhere
        raise ValidationFailed("This page link is not valid.", field="cursor") from err
    return PageRequest(limit=PAGE, after=after)


def _next_link(page: Any) -> str | None:
    from api.pagination import encode_cursor

    cursor = encode_cursor(page.next_after)
    if cursor is None:
        return None
    values: dict[str, Any] = {**(request.view_args or {}), **request.args.to_dict()}
    return url_for(str(request.endpoint), **{**values, "cursor": cursor})


def _list_page(template: str, page: Any, *, people: bool = True, **extra: Any) -> str:
    """A list page: its items, the people they concern (by person_id), the next-page link."""
    found = {i.person_id: load_person(ctx(), i.person_id) for i in page.items} if people else {}
    return render_template(
        template, items=page.items, people=found, next_link=_next_link(page), **extra
    )


def _version() -> int:
    raw = request.form.get("version", "")
    if not raw.isdigit():
        raise ValidationFailed("This form is missing the record's version; reload the page.")
    return int(raw)


def _done(message: str, endpoint: str, **values: Any) -> Any:
    flash(message, "ok")
    return redirect(url_for(endpoint, **values), code=303)


def role_required(role: StaffRole) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if not _actor().has_role(role):
                raise AccessDenied(f"This page needs the {role.value} role.")
            return view(*args, **kwargs)

        return inner

    return wrap


# --- signing in ------------------------------------------------------------------------


def _after_sign_in() -> Any:
    target = request.args.get("next", "")
    if not target.startswith("/console/") or target.startswith("//"):
        target = url_for("console.home")
    return redirect(target, code=303)


def _refused(template: str, err: DomainError, **extra: Any) -> Any:
    status = _status_for(err)
    response = Response(render_template(template, error=err.message, **extra), status=status)
    if isinstance(err, TooManyRequests):
        response.headers["Retry-After"] = str(err.retry_after)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("console/login.html", error=None)
    rt = runtime()
    origin = request.remote_addr
    try:
        account = account_service.authenticate_password(
            ctx(),
            rt.passwords,
            rt.login_failures,
            username=request.form.get("username", "")[:64],
            password=request.form.get("password", "")[:256],
            origin=origin,
        )
        if account.kind not in (AccountKind.STAFF, AccountKind.OPERATOR):
            raise AuthenticationFailed("The console is for agency staff.")
    except (AuthenticationFailed, TooManyRequests) as err:
        return _refused("console/login.html", err)
    required = rt.settings.second_factor_required
    if account_service.needs_second_factor_enrolment(account, required=required):
        hold_for_second_factor(account, "enrol")
        return redirect(url_for("console.second_factor", **_query()), code=303)
    if account.totp_confirmed_at is not None:
        hold_for_second_factor(account, "code")
        return redirect(url_for("console.second_factor", **_query()), code=303)
    account_service.finish_sign_in(
        ctx(),
        rt.totp,
        rt.login_failures,
        account,
        otp=None,
        origin=origin,
        second_factor_required=required,
    )
    sign_in(account)
    return _after_sign_in()


@bp.route("/second-factor", methods=["GET", "POST"])
def second_factor() -> Any:
    """The authenticator code after the password, or its set-up (the first sign-in where it
    is required, or a signed-in staff member who chooses it)."""
    rt = runtime()
    pending = pending_account()
    signed_in = staff_actor()
    if pending is not None:
        account, stage = pending
    elif signed_in is not None and signed_in.account_id is not None:
        account, stage = account_service.load_active_account(ctx(), signed_in.account_id), "enrol"
    else:
        return redirect(url_for("console.login"), code=303)
    extra: dict[str, Any] = {}
    if stage == "enrol":
        if account.totp_confirmed_at is not None:
            flash("A second factor is already set up.", "ok")
            return redirect(url_for("console.home"), code=303)
        if request.method == "GET" or account.totp_secret is None:
            uri = account_service.start_second_factor(ctx(), rt.totp, account)
        else:
            uri = rt.totp.uri(account.totp_secret, account.username or account.display_name)
        secret = account.totp_secret or ""
        extra = {
            "secret": secret,
            "secret_groups": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "uri": uri,
        }
    if request.method == "GET":
        return render_template("console/second_factor.html", error=None, **extra)
    code = request.form.get("otp", "").strip()[:16]
    try:
        if stage == "enrol":
            account_service.confirm_second_factor(
                ctx(), rt.totp, account, code, request.remote_addr
            )
            if signed_in is not None:
                return _done("The second factor is set up.", "console.home")
        else:
            account_service.finish_sign_in(
                ctx(),
                rt.totp,
                rt.login_failures,
                account,
                otp=code,
                origin=request.remote_addr,
                second_factor_required=rt.settings.second_factor_required,
            )
    except (AuthenticationFailed, TooManyRequests, ValidationFailed) as err:
        return _refused("console/second_factor.html", err, **extra)
    if stage == "enrol":
        use_case = ctx()
        use_case.audit(
            account_service.actor_for(account, request.remote_addr),
            "auth.signed_in",
            "account",
            account.id,
        )
        use_case.uow.commit()
    sign_in(account)
    return _after_sign_in()


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    sign_out()
    return redirect(url_for("console.login"), code=303)


@bp.route("/language/<code>")
def language(code: str) -> Any:
    if code not in ("zh", "en"):
        abort(404)
    session["lang"] = code
    back = request.referrer or ""
    host = request.host_url.rstrip("/")
    if not back.startswith(host + "/"):
        back = url_for("console.home")
    return redirect(back)


# --- dashboard ---------------------------------------------------------------------------


@bp.route("/")
def home() -> Any:
    actor = _actor()
    if actor.kind == AccountKind.OPERATOR.value:
        return redirect(url_for("console.runs"))
    figures = dashboard_service.dashboard(ctx(), actor)
    names = {r.code: r.name for r in ctx().uow.regions.children(CITY_CODE)}
    lang = session.get("lang", "zh")

    def labelled(counts: dict[str, int], labels: dict[str, tuple[str, str]]) -> list[Any]:
        pick = 1 if lang == "en" else 0
        return [(labels.get(k, (k, k))[pick], n) for k, n in counts.items()]

    def named(counts: dict[str, int]) -> list[Any]:
        return [(names.get(k, k), n) for k, n in counts.items()]

    return render_template(
        "console/dashboard.html",
        d=figures,
        channels=CHANNEL_LABELS,
        labelled=labelled,
        named=named,
        names=names,
    )


CHANNEL_LABELS = {
    "counter": ("经办窗口", "counter"),
    "self_service_face": ("手机人脸识别", "self-service face"),
    "family_assisted": ("亲属协助人脸识别", "family-assisted face"),
    "partner_bank": ("合作银行", "partner bank"),
    "employer": ("所在单位", "employer"),
    "care_or_family_doctor": ("长护险/家庭医生", "care or family doctor"),
    "hospital_stay": ("住院", "hospital stay"),
    "air_rail_travel": ("乘坐飞机火车", "air or rail travel"),
    "bank_in_person": ("本人银行业务", "bank in person"),
    "border_crossing": ("出入境", "border crossing"),
    "big_data_model": ("大数据模型", "big-data model"),
    "bus_card_review": ("公交卡年审", "bus card review"),
    "other_confirmed": ("其他途径", "other"),
    "township_verification": ("乡镇（街道）核实", "township verification"),
    "data_comparison": ("信息比对", "data comparison"),
}


# --- review queue ------------------------------------------------------------------------


@bp.route("/review")
@role_required(StaffRole.REVIEWER)
def review_queue() -> Any:
    status = request.args.get("status", "open") or None
    page = review_service.list_cases(ctx(), _actor(), status=status, page=_page_request())
    return _list_page("console/review_list.html", page, status=status)


@bp.route("/review/<uuid:case_id>")
def review_case(case_id: UUID) -> Any:
    view = review_service.get_case(ctx(), _actor(), runtime().object_store, case_id)
    verdict = (view.attempt.verdict if view.attempt else None) or {}
    return render_template(
        "console/review_case.html",
        v=view,
        checks=_checks(verdict),
        frames=[name for name in view.links if name.startswith("frame_")],
    )


def _checks(verdict: dict[str, Any]) -> list[dict[str, Any]]:
    """Each check of the verdict with its score against its threshold, as the engine said."""
    return [c for c in verdict.get("checks") or [] if isinstance(c, dict)]


@bp.route("/review/<uuid:case_id>/decision", methods=["POST"])
@role_required(StaffRole.REVIEWER)
def review_decide(case_id: UUID) -> Any:
    review_service.decide_case(
        ctx(),
        _actor(),
        runtime().notifier,
        case_id,
        decision=request.form.get("decision", ""),
        comment=request.form.get("comment", ""),
        expected_version=_version(),
    )
    return _done("已记录审核决定 / Decision recorded.", "console.review_case", case_id=case_id)


@bp.route("/review/<uuid:case_id>/media/<name>")
def review_media(case_id: UUID, name: str) -> Any:
    return _stream_object(review_service.evidence_object(ctx(), _actor(), case_id, name))


def _stream_object(key: str) -> Response:
    store = runtime().object_store
    info = store.stat(key)
    if info is None:
        abort(404)

    def chunks() -> Iterator[bytes]:
        with store.open(key) as body:
            while block := body.read(256 * 1024):
                yield block

    response = Response(chunks(), mimetype=info.content_type or "application/octet-stream")
    response.headers["Content-Length"] = str(info.size)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- verification tasks ------------------------------------------------------------------


@bp.route("/tasks")
def tasks() -> Any:
    overdue = request.args.get("overdue") == "1"
    status = request.args.get("status", "open") or None
    page = verification_service.list_tasks(
        ctx(), _actor(), status=status, overdue=overdue, page=_page_request()
    )
    return _list_page(
        "console/tasks.html", page, today=ctx().clock.today(), overdue=overdue, status=status
    )


@bp.route("/tasks/ledger.<fmt>")
def tasks_ledger(fmt: str) -> Any:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    rows = verification_service.ledger_rows(ctx(), _actor(), since=None, until=None)
    return ledger_response(rows, fmt)


@bp.route("/tasks/<uuid:task_id>")
def task(task_id: UUID) -> Any:
    view = verification_service.get_task(ctx(), _actor(), task_id)
    prefix = f"{verification_service.EVIDENCE_PREFIX}{task_id}/"
    uploaded = sorted(runtime().object_store.list_keys(prefix))
    return render_template(
        "console/task.html",
        v=view,
        uploaded=uploaded,
        results=list(VerificationResult),
        channels=list(VerificationChannel),
        visit_reasons=list(HomeVisitReason),
    )


@bp.route("/tasks/<uuid:task_id>/evidence", methods=["POST"])
def task_evidence_upload(task_id: UUID) -> Any:
    file = request.files.get("file")
    if file is None or not file.filename:
        raise ValidationFailed("Choose a photo or video to upload.", field="file")
    stream = file.stream
    kind = sniff(stream.read(16))
    if kind is None:
        raise ValidationFailed(
            "The file is not a photo or video this service keeps (JPEG, PNG, HEIC, MP4, MOV or "
            "WebM); its content was checked, not its name.",
            field="file",
        )
    stream.seek(0, 2)
    length = stream.tell()
    stream.seek(0)
    verification_service.store_evidence(
        ctx(),
        _actor(),
        runtime().object_store,
        task_id,
        stream=stream,
        length=length,
        content_type=kind[0],
        extension=kind[1],
    )
    return _done("已上传佐证资料 / Evidence uploaded.", "console.task", task_id=task_id)


@bp.route("/tasks/<uuid:task_id>/evidence/<path:key>")
def task_evidence(task_id: UUID, key: str) -> Any:
    verification_service.get_task(ctx(), _actor(), task_id)
    if not key.startswith(f"{verification_service.EVIDENCE_PREFIX}{task_id}/"):
        abort(404)
    return _stream_object(key)


@bp.route("/tasks/<uuid:task_id>/result", methods=["POST"])
def task_result(task_id: UUID) -> Any:
    form = request.form
    try:
        result = VerificationResult(form.get("result", ""))
    except ValueError:
        raise ValidationFailed("Choose the result.", field="result") from None
    try:
        channel = VerificationChannel(form.get("channel", ""))
    except ValueError:
        raise ValidationFailed("Choose how the person was verified.", field="channel") from None
    statement = None
    if result is VerificationResult.LOST:
        since = form.get("statement_since") or None
        statement = Statement(
            reason=form.get("statement_reason", ""),
            since=date.fromisoformat(since) if since and _is_date(since) else None,
            signer_name=form.get("signer_name") or None,
            signer_relationship=form.get("signer_relationship") or None,
            signature_key=form.get("signature_key") or None,
            refused_to_sign=form.get("refused_to_sign") == "1",
            told_on_spot=form.get("told_on_spot") == "1",
        )
    verification_service.record_result(
        ctx(),
        _actor(),
        runtime().object_store,
        task_id,
        result=result,
        channel=channel,
        evidence=form.getlist("evidence"),
        statement=statement,
        note=form.get("note") or None,
        expected_version=_version(),
    )
    return _done("已记录核实结果 / Result recorded.", "console.task", task_id=task_id)


def _is_date(text: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))


@bp.route("/tasks/<uuid:task_id>/home-visit", methods=["POST"])
def task_home_visit(task_id: UUID) -> Any:
    view = verification_service.get_task(ctx(), _actor(), task_id)
    try:
        reason = HomeVisitReason(request.form.get("reason", ""))
    except ValueError:
        raise ValidationFailed("Choose why a home visit is needed.", field="reason") from None
    preferred = request.form.get("preferred_on", "")
    verification_service.request_home_visit(
        ctx(),
        _actor(),
        view.person.id,
        reason=reason,
        contact_phone=request.form.get("contact_phone") or None,
        address_note=request.form.get("address_note") or None,
        preferred_on=date.fromisoformat(preferred) if _is_date(preferred) else None,
    )
    return _done("已登记上门服务申请 / Home visit requested.", "console.task", task_id=task_id)


@bp.route("/visits")
def visits() -> Any:
    status = request.args.get("status") or None
    page = verification_service.list_home_visits(
        ctx(), _actor(), status=status, page=_page_request()
    )
    closing = [s for s in HomeVisitStatus if s.value in ("done", "cancelled")]
    return _list_page("console/visits.html", page, status=status, closing=closing)


@bp.route("/visits/<uuid:request_id>", methods=["POST"])
def visit_update(request_id: UUID) -> Any:
    form, version = request.form, _version()
    if form.get("action") == "schedule":
        on = form.get("scheduled_on", "")
        if not _is_date(on):
            raise ValidationFailed("Choose the day of the visit.", field="scheduled_on")
        verification_service.schedule_home_visit(
            ctx(), _actor(), request_id, on=date.fromisoformat(on), expected_version=version
        )
    else:
        try:
            status = HomeVisitStatus(form.get("status", ""))
        except ValueError:
            raise ValidationFailed("Choose how the visit ended.", field="status") from None
        verification_service.close_home_visit(
            ctx(),
            _actor(),
            request_id,
            status=status,
            outcome=form.get("outcome", ""),
            expected_version=version,
        )
    return _done("已保存 / Saved.", "console.visits")


# --- comparison runs and proposals ------------------------------------------------------


@bp.route("/runs", methods=["GET", "POST"])
def runs() -> Any:
    actor = _actor()
    if request.method == "POST":
        start = request.form.get("window_start", "")
        end = request.form.get("window_end", "")
        run = comparison_service.start_run(
            ctx(),
            actor,
            runtime().task_queue,
            window_start=date.fromisoformat(start) if _is_date(start) else None,
            window_end=date.fromisoformat(end) if _is_date(end) else None,
        )
        return _done("比对已开始 / Run started.", "console.run", run_id=run.id)
    page = comparison_service.list_runs(ctx(), actor, _page_request())
    can_start = actor.kind == AccountKind.OPERATOR.value
    return _list_page("console/runs.html", page, people=False, can_start=can_start)


def _run_json(run: Any) -> dict[str, Any]:
    return {
        "status": run.status,
        "progress": run.progress,
        "percent": comparison_service.progress_percent(run),
        "counts": run.counts,
        "error": run.error,
    }


@bp.route("/runs/<uuid:run_id>")
def run(run_id: UUID) -> Any:
    found = comparison_service.get_run(ctx(), _actor(), run_id)
    list_name = request.args.get("list") or None
    entries = (
        comparison_service.run_entries(
            ctx(), _actor(), run_id, list_name=list_name, after=None, limit=PAGE
        )
        if found.is_applied
        else []
    )
    people = {e["person_id"]: load_person(ctx(), e["person_id"]) for e in entries}
    return render_template(
        "console/run.html",
        run=found,
        people=people,
        percent=comparison_service.progress_percent(found),
        entries=entries,
        list_name=list_name,
    )


@bp.route("/runs/<uuid:run_id>/progress.json")
def run_progress(run_id: UUID) -> Any:
    return jsonify(_run_json(comparison_service.get_run(ctx(), _actor(), run_id)))


@bp.route("/proposals")
def proposals() -> Any:
    status = request.args.get("status", "proposed") or None
    kind = request.args.get("kind") or None
    page = comparison_service.list_proposals(
        ctx(), _actor(), status=status, kind=kind, page=_page_request()
    )
    expected = {p.id: comparison_service.expected_arrears(ctx(), p) for p in page.items}
    return _list_page("console/proposals.html", page, status=status, kind=kind, expected=expected)


@bp.route("/proposals/<uuid:proposal_id>", methods=["POST"])
def proposal_decide(proposal_id: UUID) -> Any:
    decision = request.form.get("decision")
    if decision not in ("confirm", "dismiss"):
        raise ValidationFailed("Confirm or dismiss the proposal.", field="decision")
    comparison_service.decide_proposal(
        ctx(),
        _actor(),
        proposal_id,
        confirm=decision == "confirm",
        note=request.form.get("note") or None,
        expected_version=_version(),
    )
    return _done("已处理 / Decided.", "console.proposals")


# --- audit -------------------------------------------------------------------------------


@bp.route("/audit")
def audit() -> Any:
    args = request.args
    page = audit_service.list_audit(
        ctx(),
        _actor(),
        entity_type="person" if args.get("person") else (args.get("entity_type") or None),
        entity_id=args.get("person") or args.get("entity_id") or None,
        actor_id=args.get("actor") or None,
        action=args.get("action") or None,
        page=_page_request(),
    )
    return _list_page("console/audit.html", page, people=False)


@bp.route("/audit/verify", methods=["POST"])
def audit_verify() -> Any:
    report = audit_service.verify_audit_chain(ctx(), _actor())
    return render_template("console/audit_verify.html", report=report)


# --- tip-offs (investigation) ------------------------------------------------------------


def _scale() -> RewardScale:
    return runtime().settings.reward_scale()


@bp.route("/tipoffs")
def tipoffs() -> Any:
    status = request.args.get("status") or None
    page = supervision_service.list_tip_offs(ctx(), _actor(), status=status, page=_page_request())
    return _list_page(
        "console/tipoffs.html", page, people=False, status=status, labels=CATEGORY_LABELS
    )


@bp.route("/tipoffs/<uuid:tip_id>")
def tipoff(tip_id: UUID) -> Any:
    tip, reporter = supervision_service.get(ctx(), _actor(), tip_id)
    assignee = ctx().uow.accounts.get(tip.assigned_to) if tip.assigned_to else None
    scale = _scale()
    return render_template(
        "console/tipoff.html",
        tip=tip,
        reporter=reporter,
        assignee=assignee,
        labels=CATEGORY_LABELS,
        mine=tip.assigned_to == _actor().account_id,
        scale=scale.table(),
        scale_min=scale.minimum_fen,
        scale_max=scale.maximum_fen,
    )


def _yuan_to_fen(text: str, field: str) -> int | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    if not re.fullmatch(r"\d{1,12}(\.\d{1,2})?", text):
        raise ValidationFailed("Write the amount in yuan, like 12345.60.", field=field)
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


@bp.route("/tipoffs/<uuid:tip_id>/<action>", methods=["POST"])
def tipoff_action(tip_id: UUID, action: str) -> Any:
    actor, form, version = _actor(), request.form, _version()
    if action == "assign":
        supervision_service.assign(ctx(), actor, tip_id, expected_version=version)
    elif action == "findings":
        supervision_service.record_findings(
            ctx(), actor, tip_id, findings=form.get("findings", ""), expected_version=version
        )
    elif action == "close":
        verdict = form.get("substantiated")
        if verdict not in ("yes", "no"):
            raise ValidationFailed("Say whether the report was substantiated.")
        supervision_service.close(
            ctx(),
            actor,
            _scale(),
            tip_id,
            substantiated=verdict == "yes",
            recovered_fen=_yuan_to_fen(form.get("recovered", ""), "recovered"),
            expected_version=version,
        )
    elif action == "pay":
        supervision_service.pay_reward(
            ctx(), actor, tip_id, payment_ref=form.get("payment_ref", ""), expected_version=version
        )
    else:
        abort(404)
    return _done("已保存 / Saved.", "console.tipoff", tip_id=tip_id)


@bp.app_template_filter("yuan")
def yuan(fen: int | None) -> str:
    if fen is None:
        return "—"
    return f"¥{fen // 100:,}.{fen % 100:02d}"


@bp.app_template_filter("pct")
def pct(share: float) -> str:
    return f"{share * 100:.1f}%"
