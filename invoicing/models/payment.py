"""Collection: payment methods (references only), charge attempts, payments received and refunds.

Card data never reaches us: a payment method is the provider's id plus what a person needs to
recognise it (brand, last four digits, expiry). Every try to collect money is a ``PaymentAttempt``
(with its outcome and the provider's decline code); money that arrived is a ``Payment``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from invoicing.models.invoice import amount_field
from subscriptions.models import Customer


class Provider(models.TextChoices):
    SIMULATED = "simulated", _("Simulated (test cards)")
    MANUAL = "manual", _("Bank transfer / recorded by finance")
    STRIPE = "stripe", _("Stripe")


class PaymentMethodKind(models.TextChoices):
    CARD = "card", _("Card")
    SEPA_DEBIT = "sepa_debit", _("SEPA direct debit")
    OTHER = "other", _("Other")


class PaymentMethodStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    DETACHED = "detached", _("Removed")


class PaymentMethod(models.Model):
    """A customer's card or account at a provider: its id there and what identifies it to a person."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payment_methods")
    provider = models.CharField(_("provider"), max_length=12, choices=Provider.choices)
    provider_id = models.CharField(_("provider's id"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=PaymentMethodKind.choices, default="card")
    brand = models.CharField(_("brand"), max_length=30, blank=True)
    last4 = models.CharField(_("last four digits"), max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(_("expiry month"), null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(_("expiry year"), null=True, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=PaymentMethodStatus.choices, default="active")
    provider_updated = models.BigIntegerField(
        default=0, editable=False, help_text=_("Time of the newest provider event applied (older ones are ignored).")
    )
    created_at = models.DateTimeField(_("added"), editable=False)
    detached_at = models.DateTimeField(_("removed"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["customer_id", "-is_default", "-created_at", "-id"]
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_id"], name="invoicing_payment_method_once"),
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_default=True, status="active"),
                name="invoicing_one_default_payment_method",
            ),
            models.CheckConstraint(
                condition=Q(last4="") | Q(last4__regex=r"^[0-9]{4}$"),
                name="invoicing_payment_method_last4_only",
                violation_error_message=_("Only the last four digits of a card or account are kept."),
            ),
        ]

    def __str__(self) -> str:
        label = self.brand.title() if self.brand else self.get_kind_display()
        expiry = f" ({self.exp_month:02d}/{self.exp_year})" if self.exp_month and self.exp_year else ""
        return f"{label} •••• {self.last4}{expiry}" if self.last4 else f"{label}{expiry}"


class AttemptStatus(models.TextChoices):
    PENDING = "pending", _("In progress")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    REQUIRES_ACTION = "requires_action", _("Waiting for the customer to authenticate")
    CANCELED = "canceled", _("Canceled")


class DeclineType(models.TextChoices):
    SOFT = "soft", _("Soft decline: retried")
    HARD = "hard", _("Hard decline: needs a new payment method")
    NONE = "", _("—")


class AttemptTrigger(models.TextChoices):
    FINALIZED = "finalized", _("Invoice finalized")
    RETRY = "retry", _("Dunning retry")
    PAYMENT_METHOD_UPDATED = "payment_method_updated", _("New payment method")
    STAFF = "staff", _("Finance retried")
    CUSTOMER = "customer", _("Customer paid")
    SWEEP = "sweep", _("Collection run")


class PaymentAttempt(models.Model):
    """One try to charge an invoice. ``idempotency_key`` is sent to the provider: a repeated request is safe."""

    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.PROTECT, related_name="payment_attempts")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payment_attempts")
    payment_method = models.ForeignKey(
        PaymentMethod, null=True, blank=True, on_delete=models.PROTECT, related_name="attempts"
    )
    provider = models.CharField(_("provider"), max_length=12, choices=Provider.choices)
    number = models.PositiveIntegerField(_("attempt"), help_text=_("1 for the first try on this invoice, then 2, 3 …"))
    currency = models.CharField(max_length=3, editable=False)
    amount = amount_field(_("amount"))
    status = models.CharField(_("outcome"), max_length=16, choices=AttemptStatus.choices, default="pending")
    trigger = models.CharField(_("why"), max_length=24, choices=AttemptTrigger.choices)
    idempotency_key = models.CharField(max_length=100, unique=True, editable=False)
    provider_payment_id = models.CharField(_("provider payment id"), max_length=100, blank=True, db_index=True)
    provider_charge_id = models.CharField(_("provider charge id"), max_length=100, blank=True)
    failure_code = models.CharField(_("failure"), max_length=40, blank=True)
    decline_code = models.CharField(_("decline code"), max_length=40, blank=True)
    decline_type = models.CharField(_("decline type"), max_length=4, choices=DeclineType.choices, blank=True)
    failure_message = models.CharField(_("message"), max_length=300, blank=True)
    action_url = models.URLField(_("authentication link"), max_length=500, blank=True)
    provider_updated = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("started"), editable=False)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payment attempt")
        verbose_name_plural = _("payment attempts")
        constraints = [
            models.UniqueConstraint(fields=["invoice", "number"], name="invoicing_attempt_number_once"),
            # At most one attempt in flight per invoice: the database's answer to "never charge twice".
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status__in=["pending", "requires_action"]),
                name="invoicing_one_attempt_in_flight",
            ),
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} on invoice #{self.invoice_id}: {self.get_status_display()}"


class PaymentKind(models.TextChoices):
    CARD = "card", _("Card / automatic")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    MANUAL = "manual", _("Recorded by finance")


class PaymentStatus(models.TextChoices):
    SUCCEEDED = "succeeded", _("Received")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partly refunded")
    REFUNDED = "refunded", _("Refunded")
    DISPUTED = "disputed", _("Disputed")


class Payment(models.Model):
    """Money received for an invoice: a successful charge, a matched bank transfer, or a payment finance recorded."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments")
    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.PROTECT, related_name="payments")
    attempt = models.OneToOneField(
        PaymentAttempt, null=True, blank=True, on_delete=models.PROTECT, related_name="payment"
    )
    provider = models.CharField(_("provider"), max_length=12, choices=Provider.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=PaymentKind.choices)
    status = models.CharField(_("status"), max_length=20, choices=PaymentStatus.choices, default="succeeded")
    currency = models.CharField(max_length=3, editable=False)
    amount = amount_field(_("amount"))
    amount_refunded = amount_field(_("refunded"))
    reference = models.CharField(
        _("reference"), max_length=140, blank=True, help_text=_("Bank reference or the provider's charge id.")
    )
    provider_charge_id = models.CharField(max_length=100, blank=True, db_index=True)
    bank_line_key = models.CharField(
        max_length=64, blank=True, editable=False, help_text=_("A bank statement line is used once.")
    )
    recorded_by = models.CharField(_("recorded by"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    received_at = models.DateTimeField(_("received"))
    created_at = models.DateTimeField(_("recorded"), editable=False)
    disputed_at = models.DateTimeField(_("disputed"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(
                fields=["bank_line_key"], condition=~Q(bank_line_key=""), name="invoicing_bank_line_once"
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_charge_id"],
                condition=~Q(provider_charge_id=""),
                name="invoicing_charge_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} for invoice #{self.invoice_id} ({self.get_kind_display()})"


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Sent to the provider")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Failed")
    MANUAL = "manual", _("To be paid back by bank transfer")


class Refund(models.Model):
    """Money going back for a credit note, through the provider that took it (or by hand for transfers)."""

    credit_note = models.ForeignKey("invoicing.CreditNote", on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    provider = models.CharField(_("provider"), max_length=12, choices=Provider.choices)
    currency = models.CharField(max_length=3, editable=False)
    amount = amount_field(_("amount"))
    status = models.CharField(_("status"), max_length=10, choices=RefundStatus.choices, default="pending")
    idempotency_key = models.CharField(max_length=100, unique=True, editable=False)
    provider_refund_id = models.CharField(max_length=100, blank=True, db_index=True)
    failure_message = models.CharField(_("message"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("requested"), editable=False)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")

    def __str__(self) -> str:
        return f"Refund of {self.amount} ({self.get_status_display()})"
