from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models.product import TaxCategory


class TaxRateCategory(models.TextChoices):
    """EN 16931 VAT category codes: S, Z, E, AE."""

    STANDARD = "standard", _("Standard (S)")
    ZERO = "zero", _("Zero rated (Z)")
    EXEMPT = "exempt", _("Exempt (E)")
    REVERSE_CHARGE = "reverse_charge", _("Reverse charge (AE)")


NEEDS_EXEMPTION_REASON = {TaxRateCategory.EXEMPT, TaxRateCategory.REVERSE_CHARGE}


class TaxRate(models.Model):
    """A VAT or sales-tax rate for a jurisdiction."""

    name = models.CharField(_("name"), max_length=100, help_text=_("As shown on invoices, e.g. “VAT 21%”."))
    country = models.CharField(_("country"), max_length=2, help_text=_("Two-letter ISO code, e.g. NL, SE, DE."))
    region = models.CharField(
        _("region"), max_length=50, blank=True, help_text=_("Optional state or region code, e.g. “CA” or “ES-CN”.")
    )
    percentage = models.DecimalField(
        _("rate (%)"),
        max_digits=7,
        decimal_places=4,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        help_text=_("e.g. 21 for 21%."),
    )
    inclusive = models.BooleanField(
        _("included in prices"),
        default=False,
        help_text=_("Tick when prices already include this tax (common for B2C)."),
    )
    category = models.CharField(
        _("tax category"), max_length=20, choices=TaxRateCategory.choices, default=TaxRateCategory.STANDARD
    )
    product_tax_category = models.CharField(
        _("applies to products taxed at"),
        max_length=20,
        choices=TaxCategory.choices,
        default=TaxCategory.STANDARD,
        help_text=_("Products whose tax category matches use this rate."),
    )
    exemption_reason = models.CharField(
        _("exemption reason"),
        max_length=300,
        blank=True,
        help_text=_("Required for exempt and reverse-charge rates; printed on the invoice, e.g. “Reverse charge”."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), editable=False)
    updated_at = models.DateTimeField(_("updated"), editable=False)

    class Meta:
        ordering = ["country", "region", "name"]
        verbose_name = _("tax rate")
        verbose_name_plural = _("tax rates")
        constraints = [
            models.CheckConstraint(
                condition=Q(percentage__gte=0) & Q(percentage__lte=100),
                name="catalog_taxrate_percentage_range",
                violation_error_message=_("A tax rate is between 0%% and 100%%."),
            ),
            models.CheckConstraint(
                condition=~Q(category__in=["zero", "exempt", "reverse_charge"]) | Q(percentage=0),
                name="catalog_taxrate_non_standard_is_zero_percent",
                violation_error_message=_("Zero-rated, exempt and reverse-charge rates are 0%%."),
            ),
        ]

    def __str__(self) -> str:
        where = f"{self.country}-{self.region}" if self.region else self.country
        return f"{self.name} ({where})"
