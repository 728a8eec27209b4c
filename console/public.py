"""Pages without a staff login: the public tip-off form (Art. 22), the receipt check and the
capture page.

The tip-off form survives floods (a per-address and a global rate limit: 429 with a
Retry-After) and scripts (a honeypot, a minimum filling time, a signed single-use
question); everything it shows is escaped and the content security policy forbids inline
script. The capture page is the mini-program's stand-in: it uses only the public mobile
API, so it documents that API by example.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_limiter import RateLimitExceeded

from api.abuse import channels, human_check
from api.context import ctx, runtime
from api.limits import retry_after
from certification.access import Actor
from certification.regions import CITY_CODE, RegionLevel
from certification.services import supervision as supervision_service
from certification.supervision import CATEGORY_LABELS, TipOffCategory
from console.security import check_csrf

bp = Blueprint("public", __name__, template_folder="templates")


def districts() -> list[tuple[str, str]]:
    regions = ctx().uow.regions.children(CITY_CODE)
    return [(r.code, r.name) for r in regions if r.level is RegionLevel.DISTRICT]


def report_from(form: Any, channel: str = "web") -> supervision_service.Report:
    """A tip-off from a form: the public page's, or staff entering a phoned-in report."""
    return supervision_service.Report(
        category=form.get("category", ""),
        description=form.get("description", ""),
        subject_name=form.get("subject_name", ""),
        district_code=form.get("district_code", ""),
        subject_citizen_id=form.get("subject_citizen_id") or None,
        reporter_name=form.get("reporter_name") or None,
        reporter_phone=form.get("reporter_phone") or None,
        wants_reward=form.get("wants_reward") in ("1", "true", "on", True),
        channel=channel,
    )


def _form(status: int = 200, errors: dict[str, str] | None = None, values: Any = None) -> Any:
    question, token = human_check().new()
    return (
        render_template(
            "public/tipoff.html",
            channels=channels(),
            districts=districts(),
            categories=[(c.value, CATEGORY_LABELS[c]) for c in TipOffCategory],
            errors=errors or {},
            values=values or {},
            question=question,
            check_token=token,
        ),
        status,
    )


@bp.errorhandler(RateLimitExceeded)
def _busy(err: RateLimitExceeded) -> Any:
    """Over a limit of api/limits.py: the page says where else to report (phone, post)."""
    seconds = retry_after(current_app)
    page = render_template("public/busy.html", channels=channels())
    return page, 429, {"Retry-After": str(seconds)}


@bp.route("/tipoff", methods=["GET", "POST"])
def tipoff() -> Any:
    if request.method == "GET":
        return _form()
    check_csrf()
    form = request.form
    errors: dict[str, str] = {}
    if form.get("website"):  # the honeypot: hidden from people, filled by scripts
        errors["check_answer"] = "请重新作答 / Please answer the question again."
    elif not human_check().passes(form.get("check_token", ""), form.get("check_answer", "")):
        errors["check_answer"] = (
            "验证问题回答不正确或已过期，请重新作答 / The answer was wrong or the question "
            "expired; please answer the new question."
        )
    if errors:
        return _form(422, errors, form)
    try:
        tip = supervision_service.submit(
            ctx(), Actor.system("public-tipoff", origin=request.remote_addr), report_from(form)
        )
    except supervision_service.ReportProblems as err:
        return _form(422, {f: m for f, m in err.problems}, form)
    return render_template("public/tipoff_done.html", reference=tip.reference, channels=channels())


@bp.route("/capture")
def capture() -> Any:
    settings = runtime().settings
    return render_template("public/capture.html", demo=settings.demo, api_base="/api")


@bp.route("/verify", methods=["GET"])
@bp.route("/verify/<string:code>", methods=["GET"])
def verify(code: str | None = None) -> Any:
    """The public receipt check: type (or scan) a code, read valid with the dates and the
    masked name, or not valid."""
    from certification.services.receipts import check_receipt

    code = code or request.args.get("code") or None
    if code is None:
        return render_template("public/verify.html", code=None, check=None)
    if len(code) > 40:
        return render_template("public/verify.html", code=None, check=None), 422
    check = check_receipt(ctx(), code)
    return render_template("public/verify.html", code=code, check=check)
