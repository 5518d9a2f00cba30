from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be processed")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored (not needed, or older than what we know)")
    FAILED = "failed", _("Failed")


class WebhookEvent(models.Model):
    """A provider's event, stored once (unique event id) when it arrives and processed by a job."""

    provider = models.CharField(_("provider"), max_length=12, default="stripe")
    event_id = models.CharField(_("event id"), max_length=100)
    type = models.CharField(_("type"), max_length=100)
    created = models.BigIntegerField(
        _("created (provider time)"), help_text=_("Seconds since 1970, as the provider sent it.")
    )
    livemode = models.BooleanField(default=False)
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=10, choices=WebhookStatus.choices, default="pending")
    attempts = models.PositiveSmallIntegerField(_("processing attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    result = models.CharField(_("what it did"), max_length=300, blank=True)
    received_at = models.DateTimeField(_("received"))
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="invoicing_webhook_event_once")]
        indexes = [models.Index(fields=["status", "received_at"], name="webhook_status")]

    def __str__(self) -> str:
        return f"{self.type} ({self.event_id})"
