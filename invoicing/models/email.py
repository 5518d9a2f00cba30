from django.db import models
from django.utils.translation import gettext_lazy as _

from subscriptions.models import Customer


class EmailKind(models.TextChoices):
    INVOICE_ISSUED = "invoice_issued", _("Invoice issued")
    CREDIT_NOTE_ISSUED = "credit_note_issued", _("Credit note issued")
    PAYMENT_RECEIPT = "payment_receipt", _("Payment receipt")
    UPCOMING_RENEWAL = "upcoming_renewal", _("Upcoming renewal")
    TRIAL_ENDING = "trial_ending", _("Trial ending")
    PAYMENT_FAILED = "payment_failed", _("Payment failed")
    PAYMENT_ACTION_REQUIRED = "payment_action_required", _("Payment needs authentication")
    PAYMENT_METHOD_REQUIRED = "payment_method_required", _("New payment method needed")
    INVOICE_OVERDUE = "invoice_overdue", _("Invoice overdue")
    CARD_EXPIRING = "card_expiring", _("Card expiring")
    DUNNING_FINAL = "dunning_final", _("Subscription stopped for non-payment")


class EmailStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class EmailLog(models.Model):
    """Every e-mail sent to a customer, as sent: visible on the customer's page."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(_("kind"), max_length=24, choices=EmailKind.choices)
    to = models.JSONField(_("to"), default=list)
    subject = models.CharField(_("subject"), max_length=300)
    language = models.CharField(_("language"), max_length=5)
    body_text = models.TextField(_("text"))
    attachments = models.JSONField(_("attachments"), default=list)
    status = models.CharField(_("status"), max_length=8, choices=EmailStatus.choices)
    error = models.TextField(_("error"), blank=True)
    invoice = models.ForeignKey(
        "invoicing.Invoice", null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    credit_note = models.ForeignKey(
        "invoicing.CreditNote", null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    subscription = models.ForeignKey(
        "subscriptions.Subscription", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dedupe_key = models.CharField(max_length=120, blank=True, help_text=_("Sent once per key (reminders)."))
    sent_at = models.DateTimeField(_("sent"))

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails sent")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "dedupe_key"], condition=~models.Q(dedupe_key=""), name="invoicing_email_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)}"
