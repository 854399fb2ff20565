"""Domain errors. Raised by queries and actions; mapped to HTTP once, in the entry points."""

from __future__ import annotations


class KaifangError(Exception):
    """Base class; ``message`` is already in the user's language."""

    status_code = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class NotFound(KaifangError):
    """Missing, or not visible to this actor: outsiders cannot tell the two apart."""

    status_code = 404


class Forbidden(KaifangError):
    status_code = 403


class NotAuthenticated(KaifangError):
    status_code = 401


class Conflict(KaifangError):
    status_code = 409


class InvalidTransition(Conflict):
    """A workflow step that the current state or the actor's role does not allow."""


class InvalidParameter(KaifangError):
    """A query parameter the API cannot use: ``fields`` maps the parameter to what is wrong (400)."""

    status_code = 400

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.fields = {parameter: [message]}


class RateLimited(KaifangError):
    """Too many requests or the day's quota used up (429); ``retry_after`` in seconds."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class Gone(KaifangError):
    """What the request refers to existed but is no longer served (a withdrawn version)."""

    status_code = 410


class ValidationFailed(KaifangError):
    """One or more fields are wrong; ``fields`` maps each field name to its messages."""

    status_code = 422

    def __init__(self, fields: dict[str, list[str]]) -> None:
        summary = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
        super().__init__(summary)
        self.fields = fields

    @classmethod
    def single(cls, field: str, message: str) -> ValidationFailed:
        return cls({field: [message]})


class FieldErrors:
    """Collects field messages while validating a form, then raises them all at once."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationFailed(self.fields)
