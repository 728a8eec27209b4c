"""Signing in and out, the second factor, the language."""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from api.context import ctx, runtime
from certification.errors import (
    AuthenticationFailed,
    DomainError,
    TooManyRequests,
    ValidationFailed,
)
from certification.services import accounts as account_service
from certification.vocabulary import AccountKind
from console.security import (
    hold_for_second_factor,
    pending_account,
    sign_in,
    sign_out,
    staff_actor,
)
from console.staff import _done, _query, _status_for, bp


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
