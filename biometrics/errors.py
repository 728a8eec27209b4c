"""The biometrics exception family."""

from __future__ import annotations

from biometrics.reasons import Reason, reason


class BiometricsError(Exception):
    pass


class InputRejected(BiometricsError):
    """The upload (video or photo) is unusable; carries a reason code for the person."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.reason: Reason = reason(code)
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)

    def __reduce__(self) -> tuple[type[InputRejected], tuple[str, str]]:
        # rebuilt from the code and the detail, not the message (pickling, worker results)
        return (InputRejected, (self.reason.code, self.detail))


class TemplateMismatch(BiometricsError):
    """An enrolled template was made with another recognition model."""
