"""Domain errors: a stable machine code plus a message a non-programmer understands.

Pure Python on purpose: domain code raises these without importing Django.
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """A rule of the business was broken.

    ``code`` is stable (API clients switch on it); ``message`` is shown to people as is;
    ``fields`` maps input field names to messages when the error is about specific input.
    """

    def __init__(self, code: str, message: str, *, fields: Mapping[str, str | list[str]] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields: dict[str, list[str]] = {
            name: [value] if isinstance(value, str) else list(value) for name, value in (fields or {}).items()
        }

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r})"
