"""Turn Django model validation into a DomainError, so every door (admin, API, commands) sees one error."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.db import models

from billing_site.errors import DomainError


def domain_error_from_validation(error: ValidationError, *, code: str = "invalid") -> DomainError:
    if hasattr(error, "error_dict"):
        fields = {name: [str(m) for m in messages] for name, messages in error.message_dict.items()}
    else:
        fields = {NON_FIELD_ERRORS: [str(m) for m in error.messages]}
    general = fields.pop(NON_FIELD_ERRORS, None)
    if general:
        message = " ".join(general)
    else:
        message = " ".join(f"{name.replace('_', ' ').capitalize()}: {' '.join(msgs)}" for name, msgs in fields.items())
    return DomainError(code, message, fields=fields)


def full_clean_or_raise(instance: models.Model, *, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as error:
        raise domain_error_from_validation(error) from error


def apply_changes(instance: models.Model, changes: dict[str, Any], *, allowed: set[str]) -> list[str]:
    """Set the given attributes, refusing unknown or read-only ones. Returns the names changed."""
    refused = sorted(set(changes) - allowed)
    if refused:
        raise DomainError(
            "field_not_editable",
            f"These fields cannot be changed: {', '.join(refused)}.",
            fields={name: "This field cannot be changed." for name in refused},
        )
    changed = []
    for name, value in changes.items():
        try:
            current = getattr(instance, name)
        except ObjectDoesNotExist:  # a foreign key not set yet
            current = None
        if current != value or current is None:
            setattr(instance, name, value)
            if current != value:
                changed.append(name)
    return changed
