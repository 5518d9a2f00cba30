from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from subscriptions.models import Customer


class NumberReset(models.TextChoices):
    YEARLY = "yearly", _("Start again at 1 every calendar year (INV-2026-00001)")
    CONTINUOUS = "continuous", _("One continuous series (INV-00001)")


class BillingEntity(models.Model):
    """The legal seller on an invoice: one company of the group, with its own number series and branding."""

    name = models.CharField(_("legal name"), max_length=200, help_text=_("As it must appear on invoices."))
    address_line1 = models.CharField(_("address"), max_length=200)
    address_line2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20)
    city = models.CharField(_("city"), max_length=100)
    region = models.CharField(_("region or state"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, help_text=_("Two-letter ISO code, e.g. NL."))
    vat_id = models.CharField(_("VAT id"), max_length=20, blank=True, help_text=_("e.g. NL123456789B01."))
    registration_id = models.CharField(
        _("company registration id"), max_length=50, blank=True, help_text=_("Chamber of commerce or org. number.")
    )
    email = models.EmailField(_("billing e-mail"), blank=True, help_text=_("Replies to invoice e-mails go here."))
    iban = models.CharField(_("IBAN"), max_length=34, blank=True, help_text=_("Bank account customers pay into."))
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    logo = models.FileField(
        _("logo"), upload_to="entity-logos/", blank=True, help_text=_("PNG or JPEG, printed top-left on invoices.")
    )
    brand_color = models.CharField(
        _("brand colour"),
        max_length=7,
        default="#1F4E79",
        validators=[RegexValidator(r"^#[0-9A-Fa-f]{6}$", _("Give a colour as #RRGGBB, e.g. #1F4E79."))],
    )
    invoice_footer = models.TextField(_("invoice footer"), blank=True, help_text=_("Printed small on every page."))
    payment_terms_days = models.PositiveSmallIntegerField(
        _("payment terms (days)"), default=14, help_text=_("Days customers have to pay an invoice.")
    )
    time_zone = models.CharField(
        _("time zone"), max_length=50, default="Europe/Amsterdam", help_text=_("Invoice dates are in this zone.")
    )
    invoice_prefix = models.CharField(_("invoice number prefix"), max_length=20, default="INV-")
    credit_note_prefix = models.CharField(_("credit note number prefix"), max_length=20, default="CN-")
    number_reset = models.CharField(
        _("numbering"), max_length=12, choices=NumberReset.choices, default=NumberReset.YEARLY
    )
    credit_note_approval_above = models.DecimalField(
        _("credit notes need approval above"),
        max_digits=18,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_(
            "A credit note whose total is above this amount (in its currency) waits for an Approver. "
            "Empty: no approval needed."
        ),
    )
    is_default = models.BooleanField(
        _("default entity"), default=False, help_text=_("Bills every customer not assigned to another entity.")
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), editable=False)
    updated_at = models.DateTimeField(_("updated"), editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("legal entity")
        verbose_name_plural = _("legal entities")
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="invoicing_one_default"),
        ]

    def __str__(self) -> str:
        return self.name


class CustomerEntity(models.Model):
    """Which legal entity bills a customer (the default entity when there is no row)."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="billing_entity_link")
    entity = models.ForeignKey(BillingEntity, on_delete=models.PROTECT, related_name="customer_links")

    class Meta:
        verbose_name = _("billing entity of a customer")
        verbose_name_plural = _("billing entities of customers")

    def __str__(self) -> str:
        return f"{self.customer} → {self.entity}"


class NumberSeries(models.Model):
    """The last number given in one series: locked while a number is taken, so numbers never skip."""

    entity = models.ForeignKey(BillingEntity, on_delete=models.PROTECT, related_name="number_series")
    document = models.CharField(max_length=12)  # "invoice" | "credit_note"
    year = models.PositiveSmallIntegerField(default=0, help_text=_("0 for a continuous series."))
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("number series")
        verbose_name_plural = _("number series")
        constraints = [
            models.UniqueConstraint(fields=["entity", "document", "year"], name="invoicing_series_once"),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.document} {self.year or ''}: {self.last_number}"
