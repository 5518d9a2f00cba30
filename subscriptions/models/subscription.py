from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from catalog.models import Coupon, PlanVersion, Price, PromotionCode
from subscriptions.models.customer import Customer


class SubscriptionStatus(models.TextChoices):
    INCOMPLETE = "incomplete", _("Incomplete (first payment pending)")
    INCOMPLETE_EXPIRED = "incomplete_expired", _("Incomplete, expired")
    TRIALING = "trialing", _("In trial")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due (payment failed)")
    PAUSED = "paused", _("Paused")
    UNPAID = "unpaid", _("Unpaid")
    CANCELED = "canceled", _("Canceled")


class CollectionMethod(models.TextChoices):
    CHARGE_AUTOMATICALLY = "charge_automatically", _("Charge the payment method automatically")
    SEND_INVOICE = "send_invoice", _("E-mail the invoice; the customer pays within the terms")


class PauseBehavior(models.TextChoices):
    KEEP_AS_DRAFT = "keep_as_draft", _("Keep invoices as drafts")
    MARK_UNCOLLECTIBLE = "mark_uncollectible", _("Mark invoices uncollectible")
    VOID = "void", _("Void invoices")


class CancellationReason(models.TextChoices):
    TOO_EXPENSIVE = "too_expensive", _("Too expensive")
    MISSING_FEATURES = "missing_features", _("Missing features")
    SWITCHED_SERVICE = "switched_service", _("Switched to another service")
    UNUSED = "unused", _("Not used enough")
    CUSTOMER_SERVICE = "customer_service", _("Unhappy with customer service")
    TOO_COMPLEX = "too_complex", _("Too complex")
    LOW_QUALITY = "low_quality", _("Quality was less than expected")
    PAYMENT_FAILED = "payment_failed", _("Payment failed")
    OTHER = "other", _("Other")


class Subscription(models.Model):
    """A customer's agreement to pay for prices over recurring periods ``[current_period_start, current_period_end)``."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    plan_version = models.ForeignKey(
        PlanVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="subscriptions",
        help_text=_("The plan version whose prices the customer agreed to (empty for price-only subscriptions)."),
    )  # fmt: skip
    status = models.CharField(_("status"), max_length=20, choices=SubscriptionStatus.choices, editable=False)
    currency = models.CharField(_("currency"), max_length=3, editable=False)
    interval = models.CharField(_("billing interval"), max_length=10, editable=False)
    interval_count = models.PositiveSmallIntegerField(_("every"), default=1, editable=False)
    billing_cycle_anchor = models.DateTimeField(
        _("billing cycle anchor"), help_text=_("Periods start on this day and time: Jan 31 → Feb 28 → Mar 31.")
    )
    current_period_start = models.DateTimeField(_("current period start"))
    current_period_end = models.DateTimeField(_("current period end"))
    trial_start = models.DateTimeField(_("trial start"), null=True, blank=True)
    trial_end = models.DateTimeField(_("trial end"), null=True, blank=True)
    collection_method = models.CharField(
        _("collection method"), max_length=24, choices=CollectionMethod.choices,
        default=CollectionMethod.CHARGE_AUTOMATICALLY,
    )  # fmt: skip
    days_until_due = models.PositiveSmallIntegerField(
        _("days to pay"), null=True, blank=True, help_text=_("Send-invoice subscriptions: payment terms in days.")
    )
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="subscriptions")
    promotion_code = models.ForeignKey(
        PromotionCode, null=True, blank=True, on_delete=models.PROTECT, related_name="subscriptions"
    )
    coupon_periods_left = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    cancel_at_period_end = models.BooleanField(_("cancels at period end"), default=False)
    canceled_at = models.DateTimeField(_("cancellation requested"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    cancellation_reason = models.CharField(
        _("cancellation reason"), max_length=20, choices=CancellationReason.choices, blank=True
    )
    cancellation_comment = models.TextField(_("cancellation comment"), blank=True)
    pause_behavior = models.CharField(
        _("collection pause"), max_length=20, choices=PauseBehavior.choices, blank=True,
        help_text=_("While collection is paused: what happens to new invoices."),
    )  # fmt: skip
    pause_resumes_at = models.DateTimeField(_("collection resumes"), null=True, blank=True)
    service_paused_at = models.DateTimeField(
        _("service paused since"), null=True, blank=True, editable=False,
        help_text=_("When the service pause began: on resume the billing period moves on by the time paused."),
    )  # fmt: skip
    service_paused_until = models.DateTimeField(
        _("service paused until"), null=True, blank=True,
        help_text=_("While the service is paused no charges accrue; it resumes at this time."),
    )  # fmt: skip
    status_before_pause = models.CharField(max_length=20, blank=True, editable=False)
    access_suspended_at = models.DateTimeField(
        _("access suspended since"), null=True, blank=True, editable=False,
        help_text=_("Set by dunning: the customer has no access to the service until the invoice is paid."),
    )  # fmt: skip
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), editable=False)
    updated_at = models.DateTimeField(_("updated"), editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [
            models.Index(fields=["status", "current_period_end"]),
            models.Index(fields=["customer", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(current_period_end__gt=models.F("current_period_start")),
                name="subscriptions_subscription_period_not_empty",
                violation_error_message=_("A billing period must end after it starts."),
            ),
        ]

    def __str__(self) -> str:
        plan = self.plan_version.plan.name if self.plan_version is not None else _("Custom prices")
        return f"{self.customer} · {plan} (#{self.pk})"


class SubscriptionItem(models.Model):
    """A price × quantity on a subscription. Metered items bill their usage; the quantity is 1."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="items")
    price = models.ForeignKey(Price, on_delete=models.PROTECT, related_name="subscription_items")
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    is_addon = models.BooleanField(_("add-on"), default=False)
    created_at = models.DateTimeField(_("added"), editable=False)

    class Meta:
        ordering = ["subscription_id", "id"]
        verbose_name = _("subscription item")
        verbose_name_plural = _("subscription items")
        constraints = [
            models.UniqueConstraint(fields=["subscription", "price"], name="subscriptions_item_unique_price"),
        ]

    def __str__(self) -> str:
        return f"{self.price} × {self.quantity}"


class ScheduledChangeStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPLIED = "applied", _("Applied")
    CANCELED = "canceled", _("Canceled")


class ScheduledChange(models.Model):
    """A change that waits for its date (a downgrade at renewal): visible and cancellable until then."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="scheduled_changes")
    effective_at = models.DateTimeField(_("takes effect"))
    description = models.CharField(_("what changes"), max_length=300)
    change = models.JSONField(_("change"), help_text=_("The change as the change service takes it."))
    status = models.CharField(
        _("status"), max_length=10, choices=ScheduledChangeStatus.choices, default=ScheduledChangeStatus.PENDING
    )
    created_at = models.DateTimeField(_("created"), editable=False)
    resolved_at = models.DateTimeField(_("applied or canceled"), null=True, blank=True)

    class Meta:
        ordering = ["effective_at", "id"]
        verbose_name = _("scheduled change")
        verbose_name_plural = _("scheduled changes")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription"], condition=Q(status="pending"), name="subscriptions_one_pending_change"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description} on {self.effective_at:%Y-%m-%d}"


class PendingLine(models.Model):
    """A charge or credit waiting for the next invoice (prorations, late usage). Rounded when created."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="pending_lines")
    price = models.ForeignKey(Price, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=24, decimal_places=6, default=Decimal(1))
    unit_amount = models.DecimalField(_("unit amount"), max_digits=28, decimal_places=12)
    amount = MoneyField(
        _("amount"), max_digits=18, decimal_places=4, currency_field_name="currency",
        help_text=_("Rounded to the currency's minor unit; negative for a credit."),
    )  # fmt: skip
    period_start = models.DateTimeField(_("service from"))
    period_end = models.DateTimeField(_("service until"))
    proration = models.BooleanField(_("proration"), default=False)
    kind = models.CharField(_("kind"), max_length=20, default="proration")
    created_at = models.DateTimeField(_("created"), editable=False)
    invoiced_at = models.DateTimeField(_("invoiced"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["subscription_id", "created_at", "id"]
        verbose_name = _("pending invoice line")
        verbose_name_plural = _("pending invoice lines")

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"  # a Money: amount and currency
