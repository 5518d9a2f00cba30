from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class PlanVersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft (being edited)")
    PUBLISHED = "published", _("Published (immutable)")
    ARCHIVED = "archived", _("Archived (no new subscriptions)")


class Plan(models.Model):
    """A plan customers subscribe to, e.g. “Team”. Its prices live in versions."""

    code = models.SlugField(
        _("code"), max_length=100, unique=True, help_text=_("A stable short name for systems, e.g. “team”.")
    )
    name = models.CharField(_("name"), max_length=200, help_text=_("As customers see it, e.g. “Team”."))
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True, help_text=_("Inactive plans accept no new subscriptions."))
    created_at = models.DateTimeField(_("created"), editable=False)
    updated_at = models.DateTimeField(_("updated"), editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")

    def __str__(self) -> str:
        return self.name

    @property
    def current_version(self) -> "PlanVersion | None":
        return self.versions.filter(status=PlanVersionStatus.PUBLISHED).order_by("-number").first()


class PlanVersion(models.Model):
    """One set of prices of a plan. Immutable once published, so what a customer agreed to never changes."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="versions", verbose_name=_("plan"))
    number = models.PositiveIntegerField(_("version"), editable=False)
    status = models.CharField(
        _("status"), max_length=20, choices=PlanVersionStatus.choices, default=PlanVersionStatus.DRAFT, editable=False
    )
    notes = models.TextField(_("notes"), blank=True, help_text=_("What changed in this version, for colleagues."))
    created_at = models.DateTimeField(_("created"), editable=False)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, editable=False)
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["plan_id", "-number"]
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="catalog_planversion_unique_number"),
            models.UniqueConstraint(
                fields=["plan"], condition=Q(status="draft"), name="catalog_planversion_one_draft_per_plan"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.name} v{self.number}"

    @property
    def is_editable(self) -> bool:
        return self.status == PlanVersionStatus.DRAFT
