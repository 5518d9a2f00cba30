"""Customers: created and changed here only, whichever door (admin, API, portal, import) a change comes through.

Values are normalised before they are compared or stored (``" nl "`` → ``"NL"``, a VAT number
without its prefix gets one), so that an update that only re-sends the same data changes nothing
and writes no audit event.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

from babel import Locale
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.money import validate_currency
from billing_site.services.records import record_create, record_update
from billing_site.services.validation import full_clean_or_raise
from subscriptions.domain.vat import normalize_vat_id
from subscriptions.models import Customer, TaxExemption, TestClock, TestClockStatus
from subscriptions.models.customer import LANGUAGES

__all__ = [
    "CUSTOMER_FIELDS",
    "MAX_INVOICE_EMAILS",
    "country_name",
    "country_codes",
    "customer_create",
    "customer_update",
]

CUSTOMER_FIELDS = {
    "name",
    "email",
    "invoice_emails",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "region",
    "country",
    "vat_id",
    "currency",
    "language",
    "tax_exemption",
    "external_id",
    "stripe_id",
    "metadata",
    "test_clock",
}
_TEXT_FIELDS = {
    "name",
    "email",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "region",
    "external_id",
    "stripe_id",
}
MAX_INVOICE_EMAILS = 10
# Stripe's limits, so that metadata synced to or from Stripe always fits.
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500

# Babel also knows regions that are no country one can bill (the EU, "Unknown Region", pseudo-locales)
# and a few codes ISO reserves for islands that use their state's code (Canary Islands → ES).
_NOT_COUNTRIES = frozenset({"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"})
_COUNTRY_SHAPE = re.compile(r"[A-Z]{2}")


@functools.cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 two-letter codes of the countries we bill in (with Kosovo's XK, as Stripe has it)."""
    territories = Locale("en").territories
    return frozenset(
        code
        for code in territories
        if isinstance(code, str) and _COUNTRY_SHAPE.fullmatch(code) and code not in _NOT_COUNTRIES
    )


def country_name(code: str, language: str = "en") -> str:
    """ "NL" → "Netherlands" (en), "Nederland" (nl); the code itself when unknown."""
    try:
        return Locale.parse(language.replace("-", "_")).territories.get(code, code)
    except (ValueError, TypeError):
        return code


def _fail(code: str, field: str, message: str, field_message: str | None = None) -> DomainError:
    return DomainError(code, message, fields={field: field_message or message})


def _normalise_country(value: Any) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if not code:
        raise _fail("country_required", "country", "Choose the customer's country, e.g. NL, SE or DE.", "Required.")
    if code not in country_codes():
        raise _fail(
            "invalid_country",
            "country",
            f"“{value.strip()}” is not a country code we know. Use the two-letter ISO code, e.g. NL, SE or DE.",
        )
    return code


def _normalise_language(value: Any) -> str:
    code = value.strip().lower() if isinstance(value, str) else ""
    known = dict(LANGUAGES)
    if code not in known:
        choices = ", ".join(f"{key} ({label})" for key, label in LANGUAGES)
        raise _fail(
            "invalid_language",
            "language",
            f"Invoices and e-mails can be in {choices}; “{value}” is not one of them.",
        )
    return code


def _normalise_email(value: Any, *, field: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise _fail("email_required", field, "Give the customer's e-mail address.", "Required.")
    try:
        validate_email(text)
    except ValidationError:
        raise _fail(
            "invalid_email", field, f"“{text}” is not an e-mail address. Write it like billing@example.com."
        ) from None
    return text


def _normalise_invoice_emails(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _fail(
            "invalid_email",
            "invoice_emails",
            'Invoice e-mail addresses must be a list of addresses, e.g. ["ap@example.com"].',
        )
    emails: list[str] = []
    for raw in value:
        text = raw.strip()
        if not text:
            continue
        try:
            validate_email(text)
        except ValidationError:
            raise _fail(
                "invalid_email",
                "invoice_emails",
                f"“{text}” is not an e-mail address. Write each address like ap@example.com.",
            ) from None
        if text.lower() not in {e.lower() for e in emails}:
            emails.append(text)
    if len(emails) > MAX_INVOICE_EMAILS:
        raise _fail(
            "too_many_invoice_emails",
            "invoice_emails",
            f"Invoices can go to at most {MAX_INVOICE_EMAILS} extra addresses; {len(emails)} were given.",
        )
    return emails


def _normalise_metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    example = 'e.g. {"crm_account": "A-1042", "segment": "enterprise"}'
    if not isinstance(value, dict):
        raise _fail("invalid_metadata", "metadata", f"Metadata must be keys with text values, {example}.")
    if len(value) > MAX_METADATA_KEYS:
        raise _fail("invalid_metadata", "metadata", f"Metadata can have at most {MAX_METADATA_KEYS} keys.")
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_METADATA_KEY_LENGTH:
            raise _fail(
                "invalid_metadata",
                "metadata",
                f"Metadata keys must be text of 1 to {MAX_METADATA_KEY_LENGTH} characters; “{key}” is not.",
            )
        if not isinstance(item, str) or len(item) > MAX_METADATA_VALUE_LENGTH:
            raise _fail(
                "invalid_metadata",
                "metadata",
                f"The metadata value of “{key}” must be text of at most {MAX_METADATA_VALUE_LENGTH} characters "
                f'(send numbers as text, e.g. "42"), {example}.',
            )
    return dict(value)


def _normalised(values: dict[str, Any], *, country: str) -> dict[str, Any]:
    """The values as they will be stored; ``country`` is the customer's country after the change."""
    out = dict(values)
    for name in _TEXT_FIELDS & set(out):
        if isinstance(out[name], str):
            out[name] = out[name].strip()
        elif out[name] is None and name not in {"name", "email"}:
            out[name] = ""
    if "email" in out:
        out["email"] = _normalise_email(out["email"], field="email")
    if "invoice_emails" in out:
        out["invoice_emails"] = _normalise_invoice_emails(out["invoice_emails"])
    if "country" in out:
        out["country"] = _normalise_country(out["country"])
    if "currency" in out:
        out["currency"] = validate_currency(out["currency"])
    if "language" in out:
        out["language"] = _normalise_language(out["language"])
    if "metadata" in out:
        out["metadata"] = _normalise_metadata(out["metadata"])
    if "vat_id" in out:
        vat_id = out["vat_id"] or ""
        out["vat_id"] = normalize_vat_id(vat_id, country) if vat_id.strip() else ""
    return out


def _validate(customer: Customer) -> None:
    """Rules about the whole customer, after the values are normalised."""
    if not customer.name:
        raise _fail(
            "name_required", "name", "Give the customer's legal name, as it must appear on invoices.", "Required."
        )
    if customer.vat_id:
        # Also when only the country changed: the VAT number must still belong to the country.
        customer.vat_id = normalize_vat_id(customer.vat_id, customer.country)
    if customer.tax_exemption == TaxExemption.REVERSE and not customer.vat_id:
        raise _fail(
            "reverse_charge_needs_vat_id",
            "vat_id",
            "Reverse charge needs the customer's VAT number: it must be printed on every invoice. "
            "Enter it, or choose another tax exemption.",
            "Required for reverse charge.",
        )
    if customer.external_id:
        taken = Customer.objects.filter(external_id=customer.external_id).exclude(pk=customer.pk).first()
        if taken is not None:
            raise _external_id_taken(customer.external_id, taken)
    test_clock = customer.test_clock
    if test_clock is not None and test_clock.status != TestClockStatus.READY:
        raise _fail(
            "test_clock_advancing",
            "test_clock",
            f"The test clock “{test_clock.name}” is advancing; try again when it is ready.",
        )
    full_clean_or_raise(customer)


def _external_id_taken(external_id: str, other: Customer | None) -> DomainError:
    who = f"“{other.name}” (#{other.pk})" if other is not None else "Another customer"
    return _fail(
        "external_id_taken",
        "external_id",
        f"{who} already has the CRM id “{external_id}”. Each customer needs its own CRM id: "
        "look that customer up instead of creating a second one.",
        f"Already used by {who}.",
    )


def _check_change(customer: Customer, changed: list[str]) -> None:
    """What history forbids: a customer with subscriptions keeps its currency and its test clock."""
    locked = [name for name in ("currency", "test_clock") if name in changed]
    if not locked or not customer.subscriptions.exists():
        return
    if "test_clock" in locked:
        raise _fail(
            "test_clock_locked",
            "test_clock",
            f"“{customer.name}” already has subscriptions, so its test clock cannot change: moving a customer "
            "to another time would rewrite what already happened. Create a new test customer on that clock instead.",
            "Cannot change: the customer has subscriptions.",
        )
    old = Customer.objects.values_list("currency", flat=True).get(pk=customer.pk)
    raise _fail(
        "currency_locked",
        "currency",
        f"“{customer.name}” already has subscriptions billed in {old}, so the currency cannot change to "
        f"{customer.currency}. To bill in {customer.currency}, create a new customer.",
        "Cannot change: the customer has subscriptions.",
    )


def _saving_external_id(call, external_id: str):
    """Two requests creating the same CRM id at once: the database refuses the second; say why."""
    try:
        with transaction.atomic():
            return call()
    except IntegrityError:
        if external_id and Customer.objects.filter(external_id=external_id).exists():
            raise _external_id_taken(external_id, Customer.objects.filter(external_id=external_id).first()) from None
        raise


_REQUIRED = [
    ("name", "name_required", "Give the customer's legal name, as it must appear on invoices."),
    ("email", "email_required", "Give the customer's e-mail address."),
    ("country", "country_required", "Choose the customer's country, e.g. NL, SE or DE."),
    ("currency", "currency_required", "Choose the currency the customer is billed in, e.g. EUR."),
]


#: Called with a customer's id after a change to their details committed (invoicing keeps the
#: payment provider's copy of the customer in step).
CUSTOMER_UPDATED_HOOKS: list = []


def register_customer_updated_hook(hook) -> None:
    if hook not in CUSTOMER_UPDATED_HOOKS:
        CUSTOMER_UPDATED_HOOKS.append(hook)


@transaction.atomic
def customer_create(*, actor: Actor, now: dt.datetime, **fields: Any) -> Customer:
    """A new customer. For a test customer pass ``test_clock`` and, as ``now``, the clock's time."""
    for name, code, message in _REQUIRED:
        value = fields.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise _fail(code, name, message, "Required.")
    clock = fields.get("test_clock")
    if clock is not None and not isinstance(clock, TestClock):
        raise _fail("invalid_test_clock", "test_clock", "Choose an existing test clock.")
    values = _normalised(fields, country=_normalise_country(fields["country"]))
    return _saving_external_id(
        lambda: record_create(
            Customer(created_at=now, updated_at=now),
            fields=values,
            allowed=CUSTOMER_FIELDS,
            actor=actor,
            now=now,
            action="customer.created",
            validate=_validate,
        ),
        values.get("external_id", ""),
    )


@transaction.atomic
def customer_update(*, customer: Customer, actor: Actor, now: dt.datetime, **changes: Any) -> Customer:
    """Change billing details. Currency and test clock are fixed once the customer has subscriptions."""
    locked = Customer.objects.select_for_update(of=("self",)).select_related("test_clock").get(pk=customer.pk)
    refused = sorted(set(changes) - CUSTOMER_FIELDS)
    if refused:
        raise DomainError(
            "field_not_editable",
            f"These fields cannot be changed: {', '.join(refused)}.",
            fields={name: "This field cannot be changed." for name in refused},
        )
    country = _normalise_country(changes["country"]) if "country" in changes else locked.country
    values = _normalised(changes, country=country)
    pk = locked.pk
    transaction.on_commit(lambda: [hook(pk) for hook in CUSTOMER_UPDATED_HOOKS])
    return _saving_external_id(
        lambda: record_update(
            locked,
            changes=values,
            allowed=CUSTOMER_FIELDS,
            actor=actor,
            now=now,
            action="customer.updated",
            validate=_validate,
            check=_check_change,
        ),
        values.get("external_id", ""),
    )
