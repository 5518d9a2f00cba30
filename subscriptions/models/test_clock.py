from django.db import models
from django.utils.translation import gettext_lazy as _


class TestClockStatus(models.TextChoices):
    __test__ = False  # not a pytest test class

    READY = "ready", _("Ready")
    ADVANCING = "advancing", _("Advancing")


class TestClock(models.Model):
    """A simulated "now" for a set of test customers: advancing it runs what would have happened."""

    __test__ = False  # not a pytest test class

    name = models.CharField(_("name"), max_length=200, help_text=_("e.g. “Upgrade mid-month scenario”."))
    frozen_time = models.DateTimeField(_("frozen time"), help_text=_("The time its customers live in."))
    status = models.CharField(
        _("status"), max_length=12, choices=TestClockStatus.choices, default=TestClockStatus.READY
    )
    created_at = models.DateTimeField(_("created"), editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("test clock")
        verbose_name_plural = _("test clocks")

    def __str__(self) -> str:
        return f"{self.name} ({self.frozen_time:%Y-%m-%d %H:%M} UTC)"
