from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from subscriptions.models.customer import Customer
from subscriptions.models.subscription import Subscription


class UsageEvent(models.Model):
    """One measured thing (an API call, 3.2 GB stored). Stored once per (customer, idempotency key).

    Written in bulk by the ingestion service (not through the ORM per row); the metric is kept by
    code so events for a metric created later are not lost. The foreign keys have no database
    constraint: the service checks the customer and subscription in the batch's transaction, and a
    deferred constraint check of every row at commit cost a tenth of the ingestion throughput
    (docs/adr/0009). Deleting a customer still deletes its events (Django cascades).
    """

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="usage_events", db_index=False, db_constraint=False
    )
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="usage_events",
        db_index=False, db_constraint=False,
    )  # fmt: skip
    metric_code = models.CharField(_("metric"), max_length=100)
    value = models.DecimalField(_("value"), max_digits=24, decimal_places=6, default=Decimal(1))
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    timestamp = models.DateTimeField(_("when it happened"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    received_at = models.DateTimeField(_("received"))
    late = models.BooleanField(
        _("late"), default=False, help_text=_("Arrived after its period was invoiced: billed on the next invoice.")
    )

    class Meta:
        verbose_name = _("usage event")
        verbose_name_plural = _("usage events")
        constraints = [
            models.UniqueConstraint(fields=["customer", "idempotency_key"], name="subscriptions_usage_event_once"),
        ]
        indexes = [
            models.Index(fields=["customer", "metric_code", "timestamp"], name="usage_customer_metric_time"),
            # Late usage is rare: a partial index finds what the next invoice must bill without scanning.
            models.Index(fields=["subscription", "received_at"], condition=Q(late=True), name="usage_late_events"),
        ]

    def __str__(self) -> str:
        return f"{self.metric_code} {self.value} at {self.timestamp:%Y-%m-%d %H:%M}"


class UsageHourlyRollup(models.Model):
    """Sum, count and maximum of ``UsageEvent.value`` per customer, subscription, metric and UTC hour.

    Maintained by the ingestion service in the same transaction as the events it counts (accepted
    events only), so a period's usage reads a few hundred rows instead of millions of events. Whole
    hours only: the partial hours at a period's edges are read from the events themselves.
    ``subscription_key`` is the event's subscription id, or 0 for none: a plain number so that the
    uniqueness (and ``ON CONFLICT``) also holds for usage outside any subscription, on every database.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    subscription_key = models.BigIntegerField(_("subscription id (0: none)"), default=0)
    metric_code = models.CharField(_("metric"), max_length=100)
    hour = models.DateTimeField(_("hour (UTC)"))
    value_sum = models.DecimalField(_("sum of values"), max_digits=32, decimal_places=6, default=Decimal(0))
    event_count = models.BigIntegerField(_("events"), default=0)
    value_max = models.DecimalField(_("highest value"), max_digits=24, decimal_places=6, default=Decimal(0))

    class Meta:
        verbose_name = _("hourly usage rollup")
        verbose_name_plural = _("hourly usage rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "metric_code", "hour", "subscription_key"], name="subscriptions_usage_rollup_once"
            ),
        ]
        # Which metrics a customer used in a period, without walking every metric's hours.
        indexes = [models.Index(fields=["customer", "hour"], name="usage_rollup_customer_hour")]

    def __str__(self) -> str:
        return f"{self.metric_code} {self.hour:%Y-%m-%d %H:00}: {self.event_count} events"


class UsageAlert(models.Model):
    """Tell someone when usage in a period crosses a threshold (quantity or amount)."""

    class Kind(models.TextChoices):
        QUANTITY = "quantity", _("Quantity")
        AMOUNT = "amount", _("Amount")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="usage_alerts")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.CASCADE, related_name="usage_alerts",
        help_text=_("Optional: only this subscription's usage."),
    )  # fmt: skip
    metric_code = models.CharField(_("metric"), max_length=100)
    kind = models.CharField(_("threshold on"), max_length=10, choices=Kind.choices, default=Kind.QUANTITY)
    threshold = models.DecimalField(_("threshold"), max_digits=24, decimal_places=6)
    notify_email = models.EmailField(_("notify"), blank=True, help_text=_("Defaults to the customer's e-mail."))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), editable=False)

    class Meta:
        ordering = ["customer_id", "metric_code", "threshold"]
        verbose_name = _("usage alert")
        verbose_name_plural = _("usage alerts")
        constraints = [
            models.CheckConstraint(
                condition=Q(threshold__gt=0),
                name="subscriptions_usage_alert_positive_threshold",
                violation_error_message=_("A threshold must be above zero."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric_code} ≥ {self.threshold} ({self.get_kind_display().lower()})"


class UsageAlertCrossing(models.Model):
    """An alert fired, once per alert and period."""

    alert = models.ForeignKey(UsageAlert, on_delete=models.CASCADE, related_name="crossings")
    period_start = models.DateTimeField(_("period start"))
    period_end = models.DateTimeField(_("period end"), null=True, blank=True)
    value = models.DecimalField(_("value when crossed"), max_digits=24, decimal_places=6)
    crossed_at = models.DateTimeField(_("crossed"))
    notified_at = models.DateTimeField(
        _("e-mail sent"),
        null=True,
        blank=True,
        help_text=_("Empty until the notification went out; retried until then."),
    )

    class Meta:
        ordering = ["-crossed_at", "-id"]
        verbose_name = _("usage alert crossing")
        verbose_name_plural = _("usage alert crossings")
        constraints = [
            models.UniqueConstraint(fields=["alert", "period_start"], name="subscriptions_alert_once_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.alert} crossed at {self.crossed_at:%Y-%m-%d %H:%M}"
