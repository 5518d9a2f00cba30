from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from invoicing.models.entity import BillingEntity
from invoicing.models.invoice import Invoice, InvoiceLine, amount_field, document_path
from subscriptions.models import Customer


class CreditNoteStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", _("Waiting for approval")
    ISSUED = "issued", _("Issued")
    REJECTED = "rejected", _("Rejected")


class CreditNoteReason(models.TextChoices):
    DUPLICATE = "duplicate", _("Duplicate charge")
    FRAUDULENT = "fraudulent", _("Fraudulent")
    ORDER_CHANGE = "order_change", _("Order changed")
    PRODUCT_UNSATISFACTORY = "product_unsatisfactory", _("Product or service unsatisfactory")
    BILLING_ERROR = "billing_error", _("Billing error")
    GOODWILL = "goodwill", _("Goodwill gesture")


class CreditNote(models.Model):
    """A correction of one finalized invoice. ``total`` = pre-payment + refund + balance credit + outside.

    ``pre_payment_amount`` lowers what is still due on the invoice; the other three parts deal with
    money already paid: refunded, kept as credit on the customer's balance, or settled outside.
    """

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    entity = models.ForeignKey(BillingEntity, on_delete=models.PROTECT, related_name="credit_notes")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(_("number"), max_length=40, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=20, choices=CreditNoteStatus.choices, editable=False)
    reason = models.CharField(_("reason"), max_length=30, choices=CreditNoteReason.choices)
    memo = models.TextField(_("explanation"), blank=True, help_text=_("Printed on the credit note."))
    currency = models.CharField(_("currency"), max_length=3, editable=False)
    subtotal = amount_field(_("subtotal"))
    tax = amount_field(_("tax"))
    total = amount_field(_("total"))
    pre_payment_amount = amount_field(_("lowers the amount due"))
    refund_amount = amount_field(_("refunded"))
    credit_amount = amount_field(_("kept as balance credit"))
    out_of_band_amount = amount_field(_("settled outside the system"))
    author = models.CharField(_("created by"), max_length=200, editable=False)
    author_user_id = models.IntegerField(null=True, blank=True, editable=False)
    tax_summary = models.JSONField(_("tax summary"), default=list, editable=False)
    seller = models.JSONField(default=dict, editable=False)
    buyer = models.JSONField(default=dict, editable=False)
    language = models.CharField(max_length=5, default="en", editable=False)
    pdf = models.FileField(_("PDF"), upload_to=document_path, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), editable=False)
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "number"], condition=~Q(number=""), name="invoicing_credit_note_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"Credit note #{self.pk} ({self.get_status_display()})"


class CreditNoteLine(models.Model):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey(InvoiceLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=24, decimal_places=6, default=Decimal(1))
    currency = models.CharField(max_length=3, editable=False)
    amount = MoneyField(
        _("amount"), max_digits=18, decimal_places=4, currency_field_name="currency",
        help_text=_("As the invoice priced it: excluding tax, or including it when the invoice's prices do."),
    )  # fmt: skip
    tax_name = models.CharField(max_length=100, blank=True)
    tax_category = models.CharField(max_length=20, blank=True)
    tax_percentage = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    tax_inclusive = models.BooleanField(default=False)
    exemption_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["credit_note_id", "id"]
        verbose_name = _("credit note line")
        verbose_name_plural = _("credit note lines")

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"
