"""The procedure's exception family.

Each error carries a machine-readable ``code`` and a message a person can act
on. The API translates the classes to HTTP status codes in one place
(api/errors.py); nothing here knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    code = "domain_error"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = dict(details or {})


class ValidationFailed(DomainError):
    """Input that breaks a rule of form (a bad ID number, an impossible date)."""

    code = "invalid"


class InvalidCitizenId(ValidationFailed):
    code = "invalid_citizen_id"

    def __init__(self, message: str, *, field: str | None = "citizen_id") -> None:
        super().__init__(message, field=field)


class UnknownRegion(ValidationFailed):
    code = "unknown_region"


class NotFound(DomainError):
    code = "not_found"


class AlreadyExists(DomainError):
    code = "already_exists"


class RuleViolation(DomainError):
    """The request is well formed but the procedure does not allow it now."""

    code = "rule_violation"


class UnsupportedMedia(DomainError):
    """A file whose content is not of a kind the service takes (checked by its bytes)."""

    code = "unsupported_media"


class StaleVersion(DomainError):
    """Someone else changed the record since it was read."""

    code = "stale_version"


class AuthenticationFailed(DomainError):
    code = "authentication_failed"


class AccessDenied(DomainError):
    code = "access_denied"


class TooManyRequests(DomainError):
    """Too many tries in a short time: wait ``retry_after`` seconds (never a lock a stranger
    can put on someone else's account)."""

    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field, details={"retry_after": retry_after})
        self.retry_after = max(1, int(retry_after))


class ServiceUnavailable(DomainError):
    """A service the request needs (the text-message provider) is down: nothing was done."""

    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after: int = 60) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after
