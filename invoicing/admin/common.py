"""Small pieces every invoicing admin page shares: amounts, badges, errors on forms, dry runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing_site.errors import DomainError
from catalog.admin.formatting import money_text
from invoicing.models import CreditNoteStatus, InvoiceStatus

#: Colours of the status badges (background, text); readable in the light and the dark theme.
_BADGE_COLOURS = {
    InvoiceStatus.DRAFT: ("#ececec", "#444"),
    InvoiceStatus.OPEN: ("#dbeafe", "#1e3a8a"),
    InvoiceStatus.PAID: ("#e3f2e4", "#1b5e20"),
    InvoiceStatus.VOID: ("#e5e5e5", "#555"),
    InvoiceStatus.UNCOLLECTIBLE: ("#fde2e1", "#9b1c1c"),
    CreditNoteStatus.PENDING_APPROVAL: ("#fff1d6", "#7a4a00"),
    CreditNoteStatus.ISSUED: ("#e3f2e4", "#1b5e20"),
    CreditNoteStatus.REJECTED: ("#fde2e1", "#9b1c1c"),
}
_SHORT = {InvoiceStatus.OPEN: _("Open")}
#: The pill's shape, inline: badges also appear on pages without the invoicing styles (the customer page).
_PILL = "display:inline-block;padding:1px 8px;border-radius:10px;font-size:0.75rem;font-weight:600;white-space:nowrap;"


def status_badge(status: str, label: str, *, extra: str = ""):
    """A coloured pill with the status, e.g. "Open" on blue; ``extra`` adds a second small pill."""
    background, colour = _BADGE_COLOURS.get(status, ("#ececec", "#444"))
    badge = format_html(
        '<span class="inv-badge" style="{}background:{};color:{}" title="{}">{}</span>',
        _PILL,
        background,
        colour,
        label,
        _SHORT.get(status, label),
    )
    if extra:
        return format_html(
            '{} <span class="inv-badge" style="{}background:#fde2e1;color:#9b1c1c">{}</span>', badge, _PILL, extra
        )
    return badge


def moment(value: dt.datetime | None) -> str:
    """A moment in UTC to the minute, "—" when there is none (the lists' time columns)."""
    return f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M}" if value else "—"


def money(amount: Any, currency: str) -> str:
    """An amount as people read it ("€96.20"); ``amount`` may be a Money or a Decimal."""
    value = getattr(amount, "amount", amount)
    if value is None:
        return "—"
    return money_text(Decimal(value), currency)


def admin_url(obj: Any, site: admin.AdminSite | None = None) -> str | None:
    """The admin page of ``obj``, when its model is on the site."""
    site = site or admin.site
    if obj is None or type(obj) not in site._registry:
        return None
    try:
        return reverse(f"{site.name}:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return None


def link(obj: Any, text: Any = None, *, request=None, site: admin.AdminSite | None = None):
    """``text`` linked to the admin page of ``obj`` when the user may open it; plain text otherwise."""
    text = str(obj) if text is None else text
    url = admin_url(obj, site)
    if url is None:
        return text
    if request is not None:
        model_admin = (site or admin.site)._registry[type(obj)]
        if not model_admin.has_view_or_change_permission(request, obj):
            return text
    return format_html('<a href="{}">{}</a>', url, text)


# --- errors on forms ------------------------------------------------------------------------------


def show_error(form: forms.BaseForm, error: DomainError, *, prefix: str = "") -> None:
    """Put a service's error on the field it names ("line.quantity" → the form's "quantity"), else on top."""
    placed = []
    for name, texts in error.fields.items():
        field = name[len(prefix) :] if prefix and name.startswith(prefix) else name.rsplit(".", 1)[-1]
        field = FIELD_ALIASES.get(field, field)
        if field in form.fields:
            form.add_error(field, texts)
            placed += texts
    if error.message not in placed:
        form.add_error(None, error.message)


#: Service argument names that the admin forms call differently.
FIELD_ALIASES = {"unit_amount": "unit_price"}


# --- dry runs -------------------------------------------------------------------------------------


class _Rollback(Exception):
    def __init__(self, result: Any):
        self.result = result


def dry_run(call: Callable[[], Any], read: Callable[[Any], Any] = lambda result: result) -> Any:
    """What ``call`` would do, undone: ``read(result)`` is taken inside the transaction that is rolled back.

    A ``DomainError`` propagates (the service refuses); nothing ``call`` wrote stays.
    """
    try:
        with transaction.atomic():
            result = read(call())
            raise _Rollback(result)
    except _Rollback as done:
        return done.result


# --- lists on another model's page ----------------------------------------------------------------


class DisplayOnlyFormSet(BaseInlineFormSet):
    """Rows shown on a page and never submitted: saving the page ignores them (posted or not)."""

    def __init__(self, data=None, files=None, *args, **kwargs):
        super().__init__(None, None, *args, **kwargs)

    def is_valid(self) -> bool:
        return True

    def has_changed(self) -> bool:
        return False

    def save(self, commit=True):
        return []
