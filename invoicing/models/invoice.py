from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from catalog.models import Price, TaxRate
from invoicing.models.entity import BillingEntity
from subscriptions.models import Customer, Subscription


def zero() -> Decimal:
    """The default of an amount: a plain number, so that it never sets the document's currency.

    django-money turns a non-callable default into ``Money(0, DEFAULT_CURRENCY)``, and assigning that
    to a field that shares the ``currency`` column would overwrite the document's currency (a SEK
    invoice would be stored in EUR). A callable default is kept as it is: a number without a currency.
    """
    return Decimal(0)


def amount_field(verbose_name: Any, **kwargs: Any) -> MoneyField:
    """An amount in the document's currency (every amount of a document shares its ``currency`` column)."""
    return MoneyField(
        verbose_name,
        max_digits=18,
        decimal_places=4,
        currency_field_name="currency",
        default=zero,
        editable=False,
        **kwargs,
    )


def document_path(instance: models.Model, filename: str) -> str:
    """``invoices/<entity id>/INV-2026-00001.pdf``: one folder per seller, named by the document's number."""
    folder = "credit-notes" if instance._meta.model_name == "creditnote" else "invoices"
    return f"{folder}/{instance.entity_id}/{filename}"  # type: ignore[attr-defined]


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open (awaiting payment)")
    PAID = "paid", _("Paid")
    VOID = "void", _("Void")
    UNCOLLECTIBLE = "uncollectible", _("Uncollectible")


class InvoiceKind(models.TextChoices):
    SUBSCRIPTION_CREATE = "subscription_create", _("First invoice of a subscription")
    SUBSCRIPTION_CYCLE = "subscription_cycle", _("Renewal")
    SUBSCRIPTION_UPDATE = "subscription_update", _("Subscription change")
    SUBSCRIPTION_FINAL = "subscription_final", _("Final invoice")
    MANUAL = "manual", _("One-off invoice")


#: Kinds that exist once per (subscription, period): the billing run's idempotency.
PERIOD_KINDS = (InvoiceKind.SUBSCRIPTION_CREATE, InvoiceKind.SUBSCRIPTION_CYCLE, InvoiceKind.SUBSCRIPTION_FINAL)


class Invoice(models.Model):
    """What a customer owes for a period or a one-off sale. Frozen once finalized; corrected by credit notes."""

    entity = models.ForeignKey(BillingEntity, on_delete=models.PROTECT, related_name="invoices")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=InvoiceKind.choices, editable=False)
    status = models.CharField(
        _("status"), max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT, editable=False
    )
    number = models.CharField(_("number"), max_length=40, blank=True, editable=False)
    currency = models.CharField(_("currency"), max_length=3, editable=False)
    period_start = models.DateTimeField(_("period start"), null=True, blank=True, editable=False)
    period_end = models.DateTimeField(_("period end"), null=True, blank=True, editable=False)
    subtotal = amount_field(_("subtotal"))
    discount = amount_field(_("discount"))
    tax = amount_field(_("tax"))
    total = amount_field(_("total"))
    credit_applied = amount_field(_("credit balance applied"))
    amount_credited = amount_field(_("credited by credit notes"))
    amount_paid = amount_field(_("amount paid"))
    amount_due = amount_field(_("amount due"))
    prices_include_tax = models.BooleanField(_("prices include tax"), default=False, editable=False)
    collection_method = models.CharField(_("collection method"), max_length=24, editable=False)
    days_until_due = models.PositiveSmallIntegerField(_("days to pay"), default=14)
    due_at = models.DateTimeField(_("due"), null=True, blank=True, editable=False)
    auto_finalize_at = models.DateTimeField(
        _("finalizes automatically at"), null=True, blank=True, editable=False,
        help_text=_("End of the review window: the draft is finalized then unless it is on hold."),
    )  # fmt: skip
    on_hold = models.BooleanField(_("on hold"), default=False, editable=False)
    hold_reason = models.CharField(_("why it is on hold"), max_length=300, blank=True, editable=False)
    tax_hold = models.BooleanField(
        default=False, editable=False, help_text=_("Held because its tax could not be computed: lifted when it can.")
    )
    memo = models.TextField(_("note to the customer"), blank=True, help_text=_("Printed on the invoice."))
    purchase_order = models.CharField(_("purchase order"), max_length=100, blank=True)
    seller = models.JSONField(_("seller (as invoiced)"), default=dict, editable=False)
    buyer = models.JSONField(_("buyer (as invoiced)"), default=dict, editable=False)
    language = models.CharField(_("language"), max_length=5, default="en", editable=False)
    notes = models.JSONField(_("legal mentions"), default=list, editable=False)
    payment_reference = models.CharField(_("payment reference"), max_length=40, blank=True, editable=False)
    coupon_ids = models.JSONField(default=list, editable=False)
    usage_through = models.DateTimeField(
        null=True, blank=True, editable=False, help_text=_("End of the usage period this invoice billed.")
    )
    late_usage_until = models.DateTimeField(
        null=True, blank=True, editable=False, help_text=_("Late usage received up to here is billed.")
    )
    pdf = models.FileField(_("PDF"), upload_to=document_path, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), editable=False)
    updated_at = models.DateTimeField(_("updated"), editable=False)
    finalized_at = models.DateTimeField(_("finalized"), null=True, blank=True, editable=False)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True, editable=False)
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True, editable=False)
    uncollectible_at = models.DateTimeField(_("marked uncollectible"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start", "kind"],
                condition=Q(kind__in=[k.value for k in PERIOD_KINDS]),
                name="invoicing_invoice_once_per_period",
            ),
            models.UniqueConstraint(
                fields=["entity", "number"], condition=~Q(number=""), name="invoicing_invoice_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | ~Q(number=""), name="invoicing_finalized_invoice_has_number"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "auto_finalize_at"], name="invoice_status_finalize"),
            models.Index(fields=["customer", "created_at"], name="invoice_customer_created"),
            models.Index(fields=["updated_at"], name="invoice_updated"),
            models.Index(fields=["status", "due_at"], name="invoice_status_due"),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft #{self.pk}"

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT


class LineKind(models.TextChoices):
    FEE = "fee", _("Recurring fee")
    USAGE = "usage", _("Usage")
    LATE_USAGE = "late_usage", _("Late usage")
    MINIMUM = "minimum", _("Minimum charge top-up")
    PRORATION = "proration", _("Proration")
    MANUAL = "manual", _("Manual line")


class InvoiceLine(models.Model):
    """One charge or credit of an invoice; ``amount`` is rounded, before discount, as priced (net or gross)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(_("kind"), max_length=12, choices=LineKind.choices, default=LineKind.MANUAL)
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=24, decimal_places=6, default=Decimal(1))
    unit_amount = models.DecimalField(_("unit amount"), max_digits=28, decimal_places=12, null=True, blank=True)
    currency = models.CharField(max_length=3, editable=False)
    amount = MoneyField(_("amount"), max_digits=18, decimal_places=4, currency_field_name="currency")
    discount = MoneyField(_("discount"), max_digits=18, decimal_places=4, currency_field_name="currency", default=zero)
    net_amount = MoneyField(
        _("net amount"), max_digits=18, decimal_places=4, currency_field_name="currency", default=zero,
        help_text=_("After discount, excluding tax."),
    )  # fmt: skip
    period_start = models.DateTimeField(_("service from"), null=True, blank=True)
    period_end = models.DateTimeField(_("service until"), null=True, blank=True)
    proration = models.BooleanField(_("proration"), default=False)
    price = models.ForeignKey(Price, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    product_id_snapshot = models.BigIntegerField(null=True, blank=True, editable=False)
    tax_rate = models.ForeignKey(TaxRate, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    tax_name = models.CharField(_("tax"), max_length=100, blank=True)
    tax_category = models.CharField(max_length=20, blank=True)
    tax_percentage = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    tax_inclusive = models.BooleanField(default=False)
    tiers = models.JSONField(_("pricing breakdown"), default=list, blank=True)
    source = models.JSONField(default=dict, blank=True, help_text=_("Where the line came from (pending lines …)."))

    class Meta:
        ordering = ["invoice_id", "position", "id"]
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class InvoiceTax(models.Model):
    """The tax summary of an invoice: one row per tax category and rate (EN 16931 BG-23)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="tax_rows")
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=20)
    percentage = models.DecimalField(max_digits=7, decimal_places=4)
    currency = models.CharField(max_length=3, editable=False)
    taxable_amount = MoneyField(max_digits=18, decimal_places=4, currency_field_name="currency")
    tax_amount = MoneyField(max_digits=18, decimal_places=4, currency_field_name="currency")
    exemption_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["invoice_id", "id"]
        verbose_name = _("tax summary row")
        verbose_name_plural = _("tax summary")

    def __str__(self) -> str:
        return f"{self.name}: {self.tax_amount}"
