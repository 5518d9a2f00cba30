from django.db import models
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from subscriptions.models import Customer


class BalanceKind(models.TextChoices):
    CREDIT_NOTE = "credit_note", _("Credit note kept as credit")
    APPLIED = "applied_to_invoice", _("Used to pay an invoice")
    NEGATIVE_INVOICE = "negative_invoice", _("Invoice in the customer's favour")
    VOIDED = "invoice_voided", _("Credit given back by a voided invoice")
    ADJUSTMENT = "adjustment", _("Adjustment by finance")
    OVERPAYMENT = "overpayment", _("Paid more than was due")


class BalanceTransaction(models.Model):
    """One movement of a customer's credit balance. Append-only: the balance is the sum of the rows.

    ``amount`` > 0 gives the customer credit; < 0 uses it up.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="balance_transactions")
    kind = models.CharField(_("kind"), max_length=20, choices=BalanceKind.choices)
    currency = models.CharField(max_length=3, editable=False)
    amount = MoneyField(_("amount"), max_digits=18, decimal_places=4, currency_field_name="currency")
    invoice = models.ForeignKey("invoicing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    credit_note = models.ForeignKey(
        "invoicing.CreditNote", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(_("description"), max_length=300)
    created_at = models.DateTimeField(_("when"), editable=False)

    class Meta:
        ordering = ["customer_id", "created_at", "id"]
        verbose_name = _("balance movement")
        verbose_name_plural = _("customer balance")
        indexes = [models.Index(fields=["customer", "currency"], name="balance_customer")]

    def __str__(self) -> str:
        return f"{self.customer}: {self.amount} ({self.get_kind_display()})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Balance movements are append-only: record a new movement instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Balance movements are append-only and cannot be deleted.")
