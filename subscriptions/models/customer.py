from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from subscriptions.models.test_clock import TestClock


class TaxExemption(models.TextChoices):
    NONE = "none", _("Taxed normally")
    EXEMPT = "exempt", _("Exempt from tax")
    REVERSE = "reverse", _("Reverse charge (business customer abroad)")


LANGUAGES = [("en", _("English")), ("nl", _("Dutch")), ("sv", _("Swedish"))]


class Customer(models.Model):
    """Who we bill: a company or a person, with what an invoice needs to be legally sound."""

    name = models.CharField(_("legal name"), max_length=200, help_text=_("As it must appear on invoices."))
    email = models.EmailField(_("e-mail"), help_text=_("The main contact address."))
    invoice_emails = models.JSONField(
        _("invoice e-mail addresses"),
        default=list,
        blank=True,
        help_text=_("Extra addresses that receive invoices, e.g. the accounts payable team."),
    )
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.CharField(_("region or state"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, help_text=_("Two-letter ISO code, e.g. NL, SE, DE."))
    vat_id = models.CharField(
        _("VAT id"), max_length=20, blank=True, help_text=_("EU VAT number with country prefix, e.g. NL123456789B01.")
    )
    currency = models.CharField(_("currency"), max_length=3, help_text=_("The currency this customer is billed in."))
    language = models.CharField(
        _("language"), max_length=5, choices=LANGUAGES, default="en", help_text=_("Of invoices and e-mails.")
    )
    tax_exemption = models.CharField(
        _("tax exemption"), max_length=10, choices=TaxExemption.choices, default=TaxExemption.NONE
    )
    external_id = models.CharField(
        _("CRM id"), max_length=100, blank=True, help_text=_("The customer's id in your CRM, for syncing.")
    )
    stripe_id = models.CharField(_("Stripe id"), max_length=100, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True, help_text=_("Free key/value data."))
    test_clock = models.ForeignKey(
        TestClock,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="customers",
        verbose_name=_("test clock"),
        help_text=_("Test customers live in the time of their test clock."),
    )
    created_at = models.DateTimeField(_("created"), editable=False)
    updated_at = models.DateTimeField(_("updated"), editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="subscriptions_customer_unique_external_id"
            ),
        ]
        indexes = [models.Index(fields=["email"])]

    def __str__(self) -> str:
        return self.name
