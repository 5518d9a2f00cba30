from django.db import models
from django.utils.translation import gettext_lazy as _


class TaxCategory(models.TextChoices):
    STANDARD = "standard", _("Standard rate")
    REDUCED = "reduced", _("Reduced rate")
    ZERO = "zero", _("Zero rate")
    EXEMPT = "exempt", _("Exempt from tax")


class Product(models.Model):
    """Something we sell. Prices say how much; the product says what."""

    name = models.CharField(
        _("name"), max_length=200, help_text=_("As customers see it on invoices, e.g. “Cloud storage”.")
    )
    description = models.TextField(_("description"), blank=True, help_text=_("Optional. Shown in the portal."))
    unit_label = models.CharField(
        _("unit label"),
        max_length=50,
        blank=True,
        help_text=_("What one unit is called, e.g. “seat”, “GB-month”, “API call”. Shown next to quantities."),
    )
    tax_category = models.CharField(
        _("tax category"),
        max_length=20,
        choices=TaxCategory.choices,
        default=TaxCategory.STANDARD,
        help_text=_("Which VAT rate applies to this product. Most software is standard rate."),
    )
    active = models.BooleanField(_("active"), default=True, help_text=_("Inactive products cannot get new prices."))
    created_at = models.DateTimeField(_("created"), editable=False)
    updated_at = models.DateTimeField(_("updated"), editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name
