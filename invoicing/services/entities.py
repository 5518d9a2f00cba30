"""Legal entities: the sellers on invoices, and which one bills a customer."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import available_timezones

from django.db import transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record
from billing_site.services.records import record_create, record_update
from billing_site.services.validation import full_clean_or_raise
from invoicing.models import BillingEntity, CustomerEntity
from subscriptions.models import Customer
from subscriptions.services.customers import country_codes

ENTITY_FIELDS = {
    "name", "address_line1", "address_line2", "postal_code", "city", "region", "country", "vat_id",
    "registration_id", "email", "iban", "bic", "logo", "brand_color", "invoice_footer", "payment_terms_days",
    "time_zone", "invoice_prefix", "credit_note_prefix", "number_reset", "credit_note_approval_above",
    "is_default", "active",
}  # fmt: skip
#: Numbering cannot change once numbers were given: it would break the series' continuity.
FROZEN_AFTER_NUMBERING = {"invoice_prefix", "credit_note_prefix", "number_reset"}


def _error(code: str, field: str, message: str) -> DomainError:
    return DomainError(code, message, fields={field: message})


def _iban_ok(iban: str) -> bool:
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        return False
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def billing_entity_validate(entity: BillingEntity) -> None:
    entity.country = (entity.country or "").strip().upper()
    if entity.country not in country_codes():
        raise _error("invalid_country", "country", f"“{entity.country}” is not a country code such as NL, SE or DE.")
    entity.iban = re.sub(r"\s+", "", entity.iban or "").upper()
    if entity.iban and not _iban_ok(entity.iban):
        raise _error("invalid_iban", "iban", f"“{entity.iban}” is not a valid IBAN (check digits do not match).")
    entity.bic = (entity.bic or "").strip().upper()
    if entity.bic and not re.fullmatch(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?", entity.bic):
        raise _error("invalid_bic", "bic", "A BIC has 8 or 11 letters and digits, e.g. ABNANL2A.")
    entity.vat_id = re.sub(r"[\s.\-]", "", entity.vat_id or "").upper()
    if entity.time_zone not in available_timezones():
        raise _error(
            "invalid_time_zone", "time_zone", f"“{entity.time_zone}” is not a time zone such as Europe/Amsterdam."
        )
    if entity.credit_note_approval_above is not None and entity.credit_note_approval_above < 0:
        raise _error("invalid_amount", "credit_note_approval_above", "The approval limit cannot be negative.")
    if entity.logo and not str(entity.logo.name).lower().endswith((".png", ".jpg", ".jpeg")):
        raise _error("invalid_logo", "logo", "Upload the logo as a PNG or JPEG file.")
    if entity.is_default:
        other = BillingEntity.objects.filter(is_default=True).exclude(pk=entity.pk).first()
        if other is not None:
            raise _error(
                "default_entity_exists",
                "is_default",
                f"“{other.name}” is the default entity. Untick it there first: only one entity can be the default.",
            )
        if not entity.active:
            raise _error("default_entity_inactive", "active", "The default entity must be active.")
    full_clean_or_raise(entity)


@transaction.atomic
def billing_entity_create(*, actor: Actor, now: dt.datetime, **fields: Any) -> BillingEntity:
    return record_create(
        BillingEntity(created_at=now, updated_at=now),
        fields=fields,
        allowed=ENTITY_FIELDS,
        actor=actor,
        now=now,
        action="billing_entity.created",
        validate=billing_entity_validate,
    )


@transaction.atomic
def billing_entity_update(*, entity: BillingEntity, actor: Actor, now: dt.datetime, **changes: Any) -> BillingEntity:
    entity = BillingEntity.objects.select_for_update().get(pk=entity.pk)
    if entity.is_default and changes.get("is_default", True) is False:
        raise _error(
            "default_entity_required",
            "is_default",
            f"“{entity.name}” bills every customer without an entity of their own: make another entity the "
            "default instead of unticking this one.",
        )
    numbered = entity.number_series.filter(last_number__gt=0).exists()
    frozen = sorted(name for name in FROZEN_AFTER_NUMBERING & set(changes) if changes[name] != getattr(entity, name))
    if numbered and frozen:
        raise _error(
            "numbering_in_use",
            frozen[0],
            "This entity has issued numbers: its prefixes and numbering stay as they are, so the series has no gaps.",
        )
    return record_update(
        entity,
        changes=changes,
        allowed=ENTITY_FIELDS,
        actor=actor,
        now=now,
        action="billing_entity.updated",
        validate=billing_entity_validate,
    )


@transaction.atomic
def customer_entity_set(*, customer: Customer, entity: BillingEntity | None, actor: Actor, now: dt.datetime) -> None:
    """Bill ``customer`` from ``entity`` (None: the default entity). Existing invoices keep their seller."""
    if entity is not None and not entity.active:
        raise _error("entity_inactive", "entity", f"“{entity.name}” is inactive: choose an active legal entity.")
    customer = Customer.objects.select_for_update().get(pk=customer.pk)  # the house order: customer first
    link = CustomerEntity.objects.select_for_update().filter(customer=customer).first()
    before = link.entity_id if link else None
    if before == (entity.pk if entity else None):
        return
    if entity is None:
        if link:
            link.delete()
    elif link:
        link.entity = entity
        link.save(update_fields=["entity"])
    else:
        CustomerEntity.objects.create(customer=customer, entity=entity)
    audit_record(
        actor=actor,
        action="customer.billing_entity_set",
        obj=customer,
        now=now,
        before={"billing_entity": before},
        after={"billing_entity": entity.pk if entity else None},
    )


@transaction.atomic
def billing_entity_make_default(*, entity: BillingEntity, actor: Actor, now: dt.datetime) -> BillingEntity:
    """Make ``entity`` the default in one step: the previous default stops being it at the same moment."""
    entity = BillingEntity.objects.select_for_update().get(pk=entity.pk)
    if not entity.active:
        raise _error("default_entity_inactive", "active", "The default entity must be active: activate it first.")
    for previous in BillingEntity.objects.select_for_update().filter(is_default=True).exclude(pk=entity.pk):
        previous.is_default = False
        previous.updated_at = now
        previous.save(update_fields=["is_default", "updated_at"])
        audit_record(
            actor=actor,
            action="billing_entity.updated",
            obj=previous,
            now=now,
            before={"is_default": True},
            after={"is_default": False},
            reason=f"“{entity.name}” became the default entity.",
        )
    if entity.is_default:
        return entity
    return record_update(
        entity,
        changes={"is_default": True},
        allowed=ENTITY_FIELDS,
        actor=actor,
        now=now,
        action="billing_entity.updated",
        validate=billing_entity_validate,
    )
