"""The staff console: review queue, verification tasks, comparison runs, proposals,
dashboards, audit and tip-off investigation. Every page calls the same use cases as the
API with the signed-in staff member as the actor, so the same region scopes apply."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import IO, Any, TypeVar
from uuid import UUID

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException

from api.context import ctx, runtime
from api.errors import STATUS_BY_ERROR, STORAGE_ERRORS, record_denial, storage_answer
from api.resources.family_review import MAX_ENROLMENT_PHOTO_BYTES
from api.resources.verification import MAX_EVIDENCE_BYTES
from api.sniff import sniff
from certification.errors import (
    AccessDenied,
    DomainError,
    ValidationFailed,
)
from certification.ports import PageRequest
from certification.services import contacts as contacts_service
from certification.services.persons import load_people
from certification.vocabulary import ContactChannel, ContactOutcome, StaffRole
from console.security import (
    check_csrf,
    staff_actor,
)

bp = Blueprint(
    "console",
    __name__,
    root_path=str(Path(__file__).resolve().parent.parent),  # console/: its templates, static
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# the forms that carry a file, and the largest body each may send
UPLOAD_LIMITS = {
    "console.task_evidence_upload": MAX_EVIDENCE_BYTES,
    "console.person_enrolment": MAX_ENROLMENT_PHOTO_BYTES,
}
PAGE = 50


E = TypeVar("E", bound=StrEnum)


def _query() -> dict[str, Any]:
    """The request's query string (first value of each), carried through a redirect."""
    return dict(request.args.to_dict())


def _status_for(err: DomainError) -> int:
    return next((s for cls, s in STATUS_BY_ERROR if isinstance(err, cls)), 400)


@bp.before_request
def _guard() -> Any:
    if request.endpoint in UPLOAD_LIMITS:
        request.max_content_length = UPLOAD_LIMITS[request.endpoint]  # before the form is read
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
    found = load_people(ctx(), (i.person_id for i in page.items)) if people else {}
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


def _chosen(kind: type[E], field: str, message: str) -> E:
    """The form's choice of ``field`` as a member of ``kind``, or a 422 saying what to do."""
    try:
        return kind(request.form.get(field, ""))
    except ValueError:
        raise ValidationFailed(message, field=field) from None


def _uploaded(field: str, missing: str, unknown: str) -> tuple[IO[bytes], int, str, str]:
    """The form's file as (stream, length, content type, extension), its kind read from its
    first bytes, never its name; a 422 with ``missing`` or ``unknown`` otherwise."""
    file = request.files.get(field)
    if file is None or not file.filename:
        raise ValidationFailed(missing, field=field)
    stream = file.stream
    kind = sniff(stream.read(16))
    if kind is None:
        raise ValidationFailed(unknown, field=field)
    stream.seek(0, 2)
    length = stream.tell()
    stream.seek(0)
    return stream, length, kind[0], kind[1]


def _record_contact(person_id: UUID) -> None:
    """A contact attempt from a console form (``channel``, ``outcome``, ``note``): by phone,
    text, WeChat or a visit, reached or not (Art. 9)."""
    contacts_service.record_contact_attempt(
        ctx(),
        _actor(),
        person_id,
        channel=_chosen(ContactChannel, "channel", "Choose how the person was contacted."),
        outcome=_chosen(ContactOutcome, "outcome", "Say whether the person was reached."),
        attempted_at=None,
        note=(request.form.get("note") or "").strip()[:500] or None,
    )


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def _is_date(text: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))


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


@bp.app_template_filter("yuan")
def yuan(fen: int | None) -> str:
    if fen is None:
        return "—"
    return f"¥{fen // 100:,}.{fen % 100:02d}"


@bp.app_template_filter("local_date")
def local_date(moment: Any) -> str:
    """A stored instant as the agency's calendar day (the deadlines are counted in it)."""
    return ctx().clock.local_date(moment).isoformat() if moment else "—"


@bp.app_template_filter("pct")
def pct(share: float) -> str:
    return f"{share * 100:.1f}%"


# the pages register themselves on the blueprint
from console.staff import (  # noqa: E402, F401
    appeals,
    audit,
    dashboard,
    outbox,
    persons,
    review,
    runs,
    signin,
    tasks,
    tipoffs,
)
