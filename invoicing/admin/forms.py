"""The small forms behind the invoice and credit-note buttons. They collect input; the services judge it.

Amounts and quantities are taken as text and handed to the service as typed, so that "12,50" or
"abc" is refused with the service's own explanation, on the field it concerns.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils.translation import gettext_lazy as _

from invoicing.models import CreditNoteReason, Invoice
from subscriptions.models import Customer

TAX_CATEGORY_CHOICES = [
    ("standard", _("Standard rate")),
    ("reduced", _("Reduced rate")),
    ("zero", _("Zero rate")),
    ("exempt", _("Exempt")),
]


def _amount_input(placeholder: str = "") -> forms.TextInput:
    return forms.TextInput(
        attrs={
            "inputmode": "decimal",
            "autocomplete": "off",
            "size": 12,
            "placeholder": placeholder,
            "class": "inv-num-input",
        }
    )


class EmptyForm(forms.Form):
    """Actions that need nothing but a confirmation."""


class HoldForm(forms.Form):
    reason = forms.CharField(
        label=_("Why hold it"),
        max_length=300,
        help_text=_("Shown on the invoice for whoever releases it, e.g. “Waiting for the customer's PO number”."),
        widget=forms.TextInput(attrs={"size": 60}),
    )


class LineForm(forms.Form):
    description = forms.CharField(label=_("Description"), max_length=300, widget=forms.TextInput(attrs={"size": 40}))
    quantity = forms.CharField(label=_("Quantity"), initial="1", widget=_amount_input())
    unit_price = forms.CharField(
        label=_("Unit price"),
        widget=_amount_input("0.00"),
        help_text=_("In the customer's currency, as priced (excluding tax unless your tax rate includes it)."),
    )
    tax_category = forms.ChoiceField(label=_("Tax"), choices=TAX_CATEGORY_CHOICES, initial="standard")

    def line(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "description": data["description"],
            "quantity": data["quantity"],
            "unit_amount": data["unit_price"],
            "tax_category": data["tax_category"],
        }


class ManualLineForm(LineForm):
    """A row of the one-off invoice: a row left empty is ignored."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
            field.help_text = ""

    def clean(self):
        data = super().clean()
        if self.is_blank():
            return data
        for name in ("description", "unit_price"):
            if not data.get(name):
                self.add_error(name, _("Required for a line."))
        return data

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not (data.get("description") or data.get("unit_price"))

    def line(self) -> dict[str, Any]:
        line = super().line()
        line["quantity"] = line["quantity"] or "1"
        line["tax_category"] = line["tax_category"] or "standard"
        return line


ManualLineFormSet = forms.formset_factory(ManualLineForm, extra=4, max_num=50, absolute_max=50)


class DraftEditForm(forms.Form):
    memo = forms.CharField(
        label=_("Note to the customer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Printed on the invoice."),
    )
    purchase_order = forms.CharField(label=_("Purchase order"), max_length=100, required=False)
    days_until_due = forms.IntegerField(
        label=_("Days to pay"), min_value=0, max_value=365, help_text=_("Counted from the day it is finalized.")
    )

    @classmethod
    def for_invoice(cls, invoice: Invoice, data=None) -> DraftEditForm:
        return cls(
            data,
            initial={
                "memo": invoice.memo,
                "purchase_order": invoice.purchase_order,
                "days_until_due": invoice.days_until_due,
            },
        )

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.changed_data}


class MarkPaidForm(forms.Form):
    amount = forms.CharField(
        label=_("Amount received"),
        required=False,
        widget=_amount_input(),
        help_text=_("Leave empty when the whole amount due was paid."),
    )
    reason = forms.CharField(
        label=_("Bank reference or note"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text=_("e.g. “Bank transfer 2026-02-03, ref. 4711”. Kept in the invoice's history."),
    )


class VoidForm(forms.Form):
    reason = forms.CharField(
        label=_("Why void it"),
        max_length=300,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text=_("Kept in the invoice's history, e.g. “Sent to the wrong customer”."),
    )


class UncollectibleForm(forms.Form):
    reason = forms.CharField(
        label=_("Why"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text=_("Optional, e.g. “Customer went bankrupt”."),
    )


# --- one-off invoice ---------------------------------------------------------------------------------


class ManualInvoiceForm(forms.Form):
    customer = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=Customer.objects.all(),
        help_text=_("Type part of the name or e-mail to find the customer."),
    )
    memo = forms.CharField(
        label=_("Note to the customer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Printed on the invoice."),
    )
    purchase_order = forms.CharField(label=_("Purchase order"), max_length=100, required=False)
    days_until_due = forms.IntegerField(
        label=_("Days to pay"),
        required=False,
        min_value=0,
        max_value=365,
        help_text=_("Leave empty for the legal entity's payment terms."),
    )

    def __init__(self, *args, site: admin.AdminSite, **kwargs):
        super().__init__(*args, **kwargs)
        customer = self.fields["customer"]
        customer.widget = AutocompleteSelect(Invoice._meta.get_field("customer"), site)
        customer.widget.choices = customer.choices


# --- credit notes ------------------------------------------------------------------------------------

PAID_MONEY_CHOICES = [
    ("refund", _("Refund it to the customer")),
    ("credit", _("Keep it as credit on the customer's balance (used on their next invoices)")),
    ("outside", _("It was settled outside this system")),
    ("split", _("Split it myself (amounts below)")),
]


class CreditLineForm(forms.Form):
    invoice_line = forms.IntegerField(widget=forms.HiddenInput)
    amount = forms.CharField(label=_("Amount to credit"), required=False, widget=_amount_input())


CreditLineFormSet = forms.formset_factory(CreditLineForm, extra=0)


class CreditNoteForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "---------"), *CreditNoteReason.choices])
    memo = forms.CharField(
        label=_("Explanation"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Printed on the credit note."),
    )
    paid_money = forms.ChoiceField(
        label=_("Money already paid"),
        choices=PAID_MONEY_CHOICES,
        initial="refund",
        widget=forms.RadioSelect,
        required=False,
        help_text=_("Only matters when the credit note is more than what is still due on the invoice."),
    )
    refund_amount = forms.CharField(label=_("Refund"), required=False, widget=_amount_input("0.00"))
    credit_amount = forms.CharField(label=_("Balance credit"), required=False, widget=_amount_input("0.00"))
    out_of_band_amount = forms.CharField(label=_("Settled outside"), required=False, widget=_amount_input("0.00"))
