"""Sessions, CSRF, the content security policy, rate limits and the human check of the pages.

- Staff sign in with a password and, where required, an authenticator code. The session is
  kept on the server (``console_sessions``: a hash of a random id, the account, the expiry);
  the signed cookie (HTTP-only, SameSite=Lax, Secure unless configured otherwise) carries
  only the id. Signing out deletes the record and disabling the account deletes all of its
  records, so either ends the session at once; every request reloads the account, so a
  changed scope takes effect at once.
- Every form and every script request that changes something carries the session's CSRF
  token (a hidden field or the ``X-CSRF-Token`` header), made and checked by Flask-WTF's
  ``CSRFProtect`` (decision 0021): a token signed with the app's key over a random value
  kept in the session, so a new session (sign-in, sign-out) has a new token.
- The public tip-off form has no login: a per-address and a global rate limit (shared
  through Redis when the service has a Redis broker), a honeypot
  field, a minimum filling time and a signed, single-use arithmetic question stand in for
  a captcha (no third-party service can be reached from the agency's network).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from flask import Flask, abort, g, request, session
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf  # type: ignore[import-untyped]

from api.context import ctx, runtime
from certification.access import Actor
from certification.errors import AuthenticationFailed
from certification.model import Account
from certification.services import accounts as account_service
from certification.vocabulary import AccountKind

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
STAFF_KINDS = frozenset({AccountKind.STAFF, AccountKind.OPERATOR})


def content_security_policy(extra_connect: str = "") -> str:
    """No inline script or style anywhere; media from this origin or the recorder's blobs."""
    connect = " ".join(filter(None, ["'self'", extra_connect]))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data: blob:; media-src 'self' blob:; "
        f"connect-src {connect}; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


csrf = CSRFProtect()


def install_csrf(app: Flask) -> None:
    """CSRFProtect on the pages only: the API is called with bearer tokens, which a foreign
    page cannot make a browser send, so the console's and the public pages' guards call
    ``check_csrf`` and nothing is checked by default."""
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_FIELD_NAME=CSRF_FIELD,
        WTF_CSRF_HEADERS=[CSRF_HEADER],
        # the token lives as long as the session (whose end the server decides)
        WTF_CSRF_TIME_LIMIT=None,
        # the pages send no Referer (Referrer-Policy: no-referrer), which the strict HTTPS
        # check needs; the SameSite=Lax cookie and the token carry the protection
        WTF_CSRF_SSL_STRICT=False,
    )
    csrf.init_app(app)


def csrf_token() -> str:
    return str(generate_csrf())


def check_csrf() -> None:
    """Refuse a state-changing request without this session's token (403)."""
    try:
        csrf.protect()
    except CSRFError:
        abort(403, description="csrf")


SESSION_KEY = "console_sid"
PENDING_KEY = "pending_staff"  # password accepted, the second factor not yet
PENDING_MINUTES = 5


def _fresh_session() -> None:
    """A new cookie session (new CSRF token) keeping only the language: no fixation."""
    lang = session.get("lang")
    session.clear()
    g.pop(CSRF_FIELD, None)  # the token made for the old session this request
    if lang:
        session["lang"] = lang


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def sign_in(account: Account) -> None:
    """A server-side session for the account, named by a random id in the cookie."""
    _fresh_session()
    session_id = secrets.token_urlsafe(32)
    hours = runtime().settings.console_session_hours
    account_service.open_console_session(ctx(), account, _hash(session_id), timedelta(hours=hours))
    session[SESSION_KEY] = session_id
    session.permanent = True
    csrf_token()


def hold_for_second_factor(account: Account, stage: str) -> None:
    """The password was right; the second factor (``code``) or its set-up (``enrol``) is
    next, within a few minutes, from this browser."""
    _fresh_session()
    session[PENDING_KEY] = {
        "id": str(account.id),
        "stage": stage,
        "at": datetime.now(UTC).isoformat(),
    }
    csrf_token()


def pending_account() -> tuple[Account, str] | None:
    """The account waiting for its second factor in this browser, and the stage."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    try:
        at = datetime.fromisoformat(str(pending.get("at", "")))
        account_id = uuid.UUID(str(pending.get("id", "")))
    except ValueError:
        return None
    if datetime.now(UTC) - at > timedelta(minutes=PENDING_MINUTES):
        session.pop(PENDING_KEY, None)
        return None
    try:
        account = account_service.load_active_account(ctx(), account_id)
    except AuthenticationFailed:
        return None
    return account, str(pending.get("stage"))


def sign_out() -> None:
    """End this browser's session on the server, then forget the cookie."""
    session_id = session.get(SESSION_KEY)
    actor = staff_actor() if session_id else None
    if session_id and actor is not None:
        account_service.end_console_session(ctx(), actor, _hash(str(session_id)))
    _fresh_session()


def staff_actor() -> Actor | None:
    """The signed-in staff member or operator, or None (ended, expired, disabled, not signed
    in)."""
    if "_staff_actor" in g:
        cached: Actor | None = g._staff_actor
        return cached
    actor = None
    session_id = session.get(SESSION_KEY)
    if session_id:
        account = account_service.console_session_account(ctx(), _hash(str(session_id)))
        if account is not None and account.kind in STAFF_KINDS:
            actor = account_service.actor_for(account, request.remote_addr)
        else:
            _fresh_session()
    g._staff_actor = actor
    return actor
