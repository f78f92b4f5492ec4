"""Domain errors. Only these reach users, each with a message in Russian and English."""

from __future__ import annotations


class OporaError(Exception):
    """Base of every error a user may see. ``code`` is stable and machine-readable."""

    code = "error"
    status = 500

    def __init__(self, en: str, ru: str | None = None) -> None:
        super().__init__(en)
        self.en = en
        self.ru = ru or en

    def message(self, lang: str = "en") -> str:
        return self.ru if lang == "ru" else self.en


class InvalidInput(OporaError):
    code = "invalid_input"
    status = 422


class NotFound(OporaError):
    code = "not_found"
    status = 404


class Unauthorized(OporaError):
    """No valid credentials (the HTTP layer adds ``WWW-Authenticate``)."""

    code = "unauthorized"
    status = 401


class Forbidden(OporaError):
    code = "forbidden"
    status = 403


class RateLimited(OporaError):
    code = "rate_limited"
    status = 429

    def __init__(self, en: str, ru: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(en, ru)
        self.retry_after = retry_after


class FeatureNotSupported(OporaError):
    """A capability the platform lacks (editing, reactions, ...): raised, never silently skipped."""

    code = "not_supported"
    status = 501


class NotReady(OporaError):
    code = "not_ready"
    status = 503
