"""Query-string filters of the invoice and credit-note lists; a bad value is a 400, never ignored."""

from __future__ import annotations

import re

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

from billing_site.api.filters import IdFilter
from invoicing.models import CreditNote, CreditNoteStatus, Invoice, InvoiceStatus

# "…T09:30:00+01:00" typed into a URL without encoding the "+" arrives as "…T09:30:00 01:00".
_UNENCODED_PLUS = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


class AwareDateTimeField(forms.Field):
    """An ISO 8601 date and time that says its zone: a naive time would be read in some server's zone."""

    widget = forms.TextInput

    def to_python(self, value):
        text = "" if value is None else str(value).strip()
        if not text:
            return None
        text = _UNENCODED_PLUS.sub(r"\1+\2", text)
        try:
            moment = parse_datetime(text)
        except ValueError:
            moment = None
        if moment is None:
            raise ValidationError("Give a date and time in ISO 8601, e.g. 2026-01-15T09:30:00Z.", code="invalid")
        if moment.tzinfo is None:
            raise ValidationError(  # django-filter formats the message with %: hence %%
                "Give the time zone too, e.g. 2026-01-15T09:30:00Z or 2026-01-15T10:30:00+01:00 (encode “+” as %%2B).",
                code="invalid",
            )
        return moment


class AwareDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = AwareDateTimeField


class InvoiceFilter(filters.FilterSet):
    customer = IdFilter(field_name="customer_id", help_text="Customer id.")
    subscription = IdFilter(field_name="subscription_id", help_text="Subscription id.")
    status = filters.ChoiceFilter(choices=InvoiceStatus.choices)
    entity = IdFilter(field_name="entity_id", help_text="Legal entity id.")
    updated_since = AwareDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Only invoices changed at or after this time (ISO 8601 with a zone, e.g. 2026-01-15T09:30:00Z): "
        "for syncing.",
    )
    number = filters.CharFilter(help_text="Exact invoice number, e.g. INV-2026-00042.")

    class Meta:
        model = Invoice
        fields = ["customer", "subscription", "status", "entity", "updated_since", "number"]


class CreditNoteFilter(filters.FilterSet):
    invoice = IdFilter(field_name="invoice_id", help_text="Invoice id.")
    customer = IdFilter(field_name="customer_id", help_text="Customer id.")
    status = filters.ChoiceFilter(choices=CreditNoteStatus.choices)

    class Meta:
        model = CreditNote
        fields = ["invoice", "customer", "status"]
