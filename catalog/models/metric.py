from django.db import models
from django.utils.translation import gettext_lazy as _


class Aggregation(models.TextChoices):
    SUM = "sum", _("Sum of values")
    COUNT = "count", _("Count of events")
    MAX = "max", _("Highest value")
    UNIQUE_COUNT = "unique_count", _("Count of distinct values")
    LAST_IN_PERIOD = "last_in_period", _("Last value in the period")
    LAST_EVER = "last_ever", _("Last value ever (carried over)")


AGGREGATIONS_WITHOUT_PROPERTY = {Aggregation.COUNT}
# Fields that decide what a metric counts; frozen while published prices use the metric.
AGGREGATION_FIELDS = {"code", "aggregation", "property", "filters"}


class BillableMetric(models.Model):
    """A usage meter: which events count, and how they add up over a billing period."""

    code = models.SlugField(
        _("code"),
        max_length=100,
        unique=True,
        help_text=_("The name systems use when they send usage, e.g. “api_calls”. Letters, digits, - and _ only."),
    )
    name = models.CharField(_("name"), max_length=200, help_text=_("As shown on invoices, e.g. “API calls”."))
    description = models.TextField(_("description"), blank=True)
    aggregation = models.CharField(
        _("aggregation"),
        max_length=20,
        choices=Aggregation.choices,
        default=Aggregation.SUM,
        help_text=_("How the events of a period add up to the billed quantity."),
    )
    property = models.CharField(
        _("value property"),
        max_length=100,
        blank=True,
        help_text=_(
            "The event property that carries the value, e.g. “gb” or “minutes”. Leave empty to use the event's "
            "value; not used for “Count of events”. For “Count of distinct values”, the property whose distinct "
            "values are counted, e.g. “user_id”."
        ),
    )
    filters = models.JSONField(
        _("property filters"),
        default=dict,
        blank=True,
        help_text=_(
            'Only count events whose properties match, e.g. {"region": ["eu-west", "eu-north"]}. '
            "Each property lists the values that count. Leave empty to count all events."
        ),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), editable=False)
    updated_at = models.DateTimeField(_("updated"), editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("usage metric")
        verbose_name_plural = _("usage metrics")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
