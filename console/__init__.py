"""The staff console, the public tip-off page and the capture page, served by the service.

Server-rendered pages (Jinja, escaped output) with a little JavaScript from static files:
no inline script or style, so the content security policy can forbid both. Chinese by
default, English on request: the templates are written in English and Flask-Babel takes
the Chinese from the catalogue ``console/translations`` (decision 0021).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request, session
from flask_babel import Babel  # type: ignore[import-untyped]

from console.security import content_security_policy, csrf_token, install_csrf
from infra.settings import Settings

PAGE_PREFIXES = ("/console", "/tipoff", "/capture")


def s3_origin(settings: Settings) -> str:
    """Where the capture page posts the video directly (the presigned POST's host)."""
    if settings.object_store != "s3":
        return ""
    endpoint = settings.s3_public_endpoint or settings.s3_endpoint or ""
    secure = settings.s3_public_secure
    if secure is None:
        secure = settings.s3_secure
    return f"{'https' if secure else 'http'}://{endpoint}" if endpoint else ""


TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = ("zh", "en")


def page_language() -> str:
    lang = session.get("lang", "zh") if has_request_context() else "zh"
    return lang if lang in LANGUAGES else "zh"


def register(app: Flask, settings: Settings) -> None:
    from console import public, staff

    app.config.update(
        SESSION_COOKIE_NAME="lifecert_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.console_session_hours),
    )
    install_csrf(app)
    # the console's texts: English in the templates, Chinese from the catalogue a translator
    # edits (console/translations/zh/LC_MESSAGES/messages.po); Chinese unless the person
    # chose English
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    app.config["BABEL_DEFAULT_LOCALE"] = "zh"
    Babel(app, locale_selector=page_language)
    app.register_blueprint(staff.bp)
    app.register_blueprint(public.bp)
    policy = content_security_policy(s3_origin(settings))

    @app.context_processor
    def _page_helpers() -> dict[str, Any]:
        return {"lang": page_language(), "csrf_token": csrf_token}

    @app.after_request
    def _page_headers(response: Any) -> Any:
        if request.path.startswith(PAGE_PREFIXES):
            response.headers["Content-Security-Policy"] = policy
            response.headers.setdefault("X-Frame-Options", "DENY")
            # a refused form goes back to its page; nothing leaves this origin
            response.headers["Referrer-Policy"] = "same-origin"
            response.headers.setdefault("Cache-Control", "no-store")
            if request.path.startswith("/capture"):
                response.headers["Permissions-Policy"] = "camera=(self), microphone=()"
        return response
