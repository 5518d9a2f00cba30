"""Importing a bank statement in the admin: upload the CSV, check what each line would do, record the ticked lines.

A skin over ``invoicing.services.bank_import``. Between the steps the file travels in the page itself: its
text in a hidden field, signed with ``django.core.signing`` (with the preview's matches and the user), so
it cannot be altered between the preview and the recording and no server-side state is kept. The service
matches every line again when recording, so a preview that went stale records nothing it should not.

Finance only: every step needs ``invoicing.add_payment``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.apps import apps
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from billing_site import clock
from billing_site.actors import Actor
from billing_site.errors import DomainError
from invoicing.admin.common import link, money
from invoicing.models import BillingEntity, Invoice, InvoiceStatus
from invoicing.services.bank_import import (
    ImportResult,
    LineStatus,
    PreviewRow,
    StatementPreview,
    bank_statement_apply,
    bank_statement_preview,
)

PERMISSION = "invoicing.add_payment"
MAX_BYTES = 2 * 1024 * 1024
#: A page posts one field per ticked line; Django refuses more than 1000 fields in one request.
MAX_TICKED = 900
SALT = "invoicing.admin.bank_import"
#: How long a preview can be used to record its lines.
MAX_AGE_HOURS = 6

#: Badge colours per status (background, text), readable in the light and the dark theme.
STATUS_COLOURS = {
    LineStatus.MATCHED_FULL: ("#e3f2e4", "#1b5e20"),
    LineStatus.MATCHED_PARTIAL: ("#dbeafe", "#1e3a8a"),
    LineStatus.OVERPAID: ("#fff1d6", "#7a4a00"),
    LineStatus.AMBIGUOUS: ("#fff1d6", "#7a4a00"),
    LineStatus.CURRENCY_MISMATCH: ("#fff1d6", "#7a4a00"),
    LineStatus.NO_MATCH: ("#ececec", "#444"),
    LineStatus.ALREADY_RECORDED: ("#ececec", "#444"),
    LineStatus.NOT_INCOMING: ("#ececec", "#444"),
    LineStatus.INVALID: ("#fde2e1", "#9b1c1c"),
}


class StatementUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Bank statement (CSV)"),
        help_text=_(
            "Exported from the bank as CSV in UTF-8, at most 2 MB. The first line names the columns: a date, an "
            "amount and a reference or description (in any order; “Booking date”, “Value date”, “Remittance "
            "information” … are understood), separated by semicolons or commas."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )
    entity = forms.ModelChoiceField(
        label=_("Bank account of"),
        queryset=BillingEntity.objects.none(),
        required=False,
        empty_label=_("Any of our legal entities"),
        help_text=_("Only invoices of this legal entity are matched (for entities whose invoice numbers overlap)."),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        entities = BillingEntity.objects.filter(active=True).order_by("name")
        if entities.count() > 1:
            self.fields["entity"].queryset = entities
            self.fields["entity"].label_from_instance = lambda entity: (
                f"{entity.name} ({entity.iban})" if entity.iban else entity.name
            )
        else:
            del self.fields["entity"]

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s MB; at most 2 MB can be imported at once. Export a shorter period.")
                % {"size": f"{upload.size / 1024 / 1024:.1f}"}
            )
        content = upload.read()
        if b"\x00" in content[:4096]:
            raise forms.ValidationError(
                _("This is not a CSV text file (is it an Excel or PDF file?). Export the statement as CSV.")
            )
        try:
            return content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                _(
                    "The file is not UTF-8 text. Export the statement as CSV in UTF-8 (in Excel: “CSV UTF-8”), "
                    "then upload it again."
                )
            ) from None


# --- the view --------------------------------------------------------------------------------------------


def bank_import_view(site):
    """The page at admin/invoicing/bank-import/, wrapped as every admin page (staff login, CSRF, no cache)."""

    def view(request):
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("step") == "apply":
            return _apply(site, request)
        form = StatementUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            text = form.cleaned_data["file"]
            entity = form.cleaned_data.get("entity")
            preview = bank_statement_preview(text=text, now=clock.now(), entity=entity)
            if preview.error:
                form.add_error("file", preview.error)
            else:
                name = request.FILES["file"].name
                payload = {"text": text, "entity": entity.pk if entity else None, "name": name}
                return _preview_page(site, request, preview, payload)
        return _render(site, request, "admin/invoicing/bank_import.html", _("Import a bank statement"), {"form": form})

    return site.admin_view(view)


def _render(site, request, template: str, title: Any, context: dict[str, Any]) -> TemplateResponse:
    config = apps.get_app_config("invoicing")
    return TemplateResponse(
        request,
        template,
        {
            **site.each_context(request),
            "title": title,
            "app_label": config.label,
            "app_verbose_name": config.verbose_name,
            "upload_url": request.path,
            **context,
        },
    )


def _sign(request, payload: dict[str, Any], preview: StatementPreview) -> str:
    return signing.dumps({**payload, "user": request.user.pk, "expected": preview.expected}, salt=SALT, compress=True)


def _unsign(request, value: str) -> dict[str, Any]:
    try:
        payload = signing.loads(value, salt=SALT, max_age=MAX_AGE_HOURS * 3600)
    except signing.SignatureExpired:
        raise DomainError(
            "preview_expired",
            f"This preview is more than {MAX_AGE_HOURS} hours old: upload the statement again to check it.",
        ) from None
    except signing.BadSignature:
        raise DomainError(
            "preview_altered", "This preview cannot be used (the page was changed): upload the statement again."
        ) from None
    if payload.get("user") != request.user.pk:
        raise DomainError("preview_altered", "This preview was made by someone else: upload the statement again.")
    return payload


def _entity(payload: dict[str, Any]) -> BillingEntity | None:
    return BillingEntity.objects.filter(pk=payload["entity"]).first() if payload.get("entity") else None


def _preview_page(
    site,
    request,
    preview: StatementPreview,
    payload: dict[str, Any],
    *,
    error: str = "",
    ticked: set[str] | None = None,
) -> TemplateResponse:
    rows = [_row(site, request, row, ticked) for row in preview.rows]
    applicable = preview.applicable
    too_many = len(applicable) > MAX_TICKED
    entity = _entity(payload)
    context = {
        "rows": rows,
        "totals": [
            {
                "status": total.status,
                "label": total.label,
                "badge": _badge(total.status),
                "count": total.count,
                "amount": _amounts(total.amounts),
            }
            for total in preview.totals()
        ],
        "to_record": len(applicable),
        "to_record_amount": _amounts(_sum(applicable)),
        "line_count": len(rows),
        "file_name": payload.get("name") or "",
        "entity": entity,
        "signed": _sign(request, payload, preview),
        "error": error
        or (
            _(
                "This statement has %(count)s lines to record; one page can record at most %(max)s. Split the file "
                "into shorter periods and import each."
            )
            % {"count": len(applicable), "max": MAX_TICKED}
            if too_many
            else ""
        ),
        "can_record": bool(applicable) and not too_many,
    }
    return _render(site, request, "admin/invoicing/bank_import_preview.html", _("Check the bank statement"), context)


def _apply(site, request) -> TemplateResponse:
    try:
        payload = _unsign(request, request.POST.get("statement", ""))
    except DomainError as error:
        form = StatementUploadForm()
        return _render(
            site,
            request,
            "admin/invoicing/bank_import.html",
            _("Import a bank statement"),
            {"form": form, "error": error.message},
        )
    entity = _entity(payload)
    keys = [key for key in request.POST.getlist("line") if key]
    if not keys:
        preview = bank_statement_preview(text=payload["text"], now=clock.now(), entity=entity)
        return _preview_page(
            site, request, preview, payload, error=str(_("Tick at least one line to record.")), ticked=set()
        )
    try:
        result = bank_statement_apply(
            text=payload["text"],
            line_keys=keys,
            actor=Actor.staff(request.user),
            now=clock.now(),
            entity=entity,
            expected={key: int(pk) for key, pk in (payload.get("expected") or {}).items()},
        )
    except DomainError as error:
        form = StatementUploadForm()
        return _render(
            site,
            request,
            "admin/invoicing/bank_import.html",
            _("Import a bank statement"),
            {"form": form, "error": error.message},
        )
    return _result_page(site, request, result, payload)


def _result_page(site, request, result: ImportResult, payload: dict[str, Any]) -> TemplateResponse:
    applied = []
    for done in result.applied:
        invoice = Invoice.objects.get(pk=done.payment.invoice_id)
        applied.append(
            {
                "line_number": done.row.line.line_number,
                "date": f"{done.row.line.date:%Y-%m-%d}" if done.row.line.date else "—",
                "amount": money(done.payment.amount, done.payment.currency),
                "reference": done.row.line.reference,
                "counterparty": done.row.line.counterparty,
                "invoice": link(invoice, request=request, site=site),
                "customer": invoice.customer.name,
                "now": _("paid")
                if invoice.status == InvoiceStatus.PAID
                else _("%(due)s still due") % {"due": money(invoice.amount_due, invoice.currency)},
                "paid": invoice.status == InvoiceStatus.PAID,
            }
        )
    skipped = [
        {
            "line_number": item.line.line_number if item.line else "—",
            "date": f"{item.line.date:%Y-%m-%d}" if item.line and item.line.date else "—",
            "amount": _amount(item.line.amount, item.line.currency or (item.invoice.currency if item.invoice else ""))
            if item.line
            else "—",
            "reference": item.line.reference if item.line else "",
            "invoice": link(item.invoice, request=request, site=site) if item.invoice else "",
            "reason": item.reason,
        }
        for item in result.skipped
    ]
    total: dict[str, Decimal] = {}
    for done in result.applied:
        total[done.payment.currency] = total.get(done.payment.currency, Decimal(0)) + done.payment.amount.amount
    title = ngettext("%(count)s payment recorded", "%(count)s payments recorded", len(applied)) % {
        "count": len(applied)
    }
    context = {
        "applied": applied,
        "skipped": skipped,
        "applied_amount": _amounts(total),
        "not_chosen": result.not_chosen,
        "file_name": payload.get("name") or "",
    }
    return _render(site, request, "admin/invoicing/bank_import_result.html", title, context)


# --- presenting rows -------------------------------------------------------------------------------------


def _badge(status: LineStatus) -> dict[str, str]:
    background, colour = STATUS_COLOURS[status]
    return {"label": str(status.label), "style": f"background:{background};color:{colour}"}


def _amount(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "—"
    if currency:
        return money(amount, currency)
    return f"{amount:,}"


def _amounts(per_currency: dict[str, Decimal]) -> str:
    if not per_currency:
        return "—"
    return " + ".join(_amount(amount, currency) for currency, amount in sorted(per_currency.items()))


def _sum(rows: list[PreviewRow]) -> dict[str, Decimal]:
    total: dict[str, Decimal] = {}
    for row in rows:
        if row.line.amount is not None:
            total[row.currency] = total.get(row.currency, Decimal(0)) + row.line.amount
    return total


def _row(site, request, row: PreviewRow, ticked: set[str] | None) -> dict[str, Any]:
    line = row.line
    invoice = row.invoice
    due = ""
    if row.due_before is not None and row.applicable:
        due = f"{money(row.due_before, row.currency)} → {money(row.due_after, row.currency)}"
    elif row.due_before is not None:
        due = money(row.due_before, row.currency)
    return {
        "key": row.key,
        "line_number": line.line_number,
        "date": f"{line.date:%Y-%m-%d}" if line.date else "—",
        "amount": _amount(line.amount, row.currency),
        "negative": line.amount is not None and line.amount < 0,
        "reference": line.reference,
        "counterparty": line.counterparty,
        "invoice": link(invoice, request=request, site=site) if invoice is not None else "",
        "customer": invoice.customer.name if invoice is not None else "",
        "due": due,
        "status": row.status,
        "badge": _badge(row.status),
        "explanation": row.explanation,
        "applicable": row.applicable,
        "checked": row.applicable and (ticked is None or row.key in ticked),
    }
