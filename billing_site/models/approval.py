from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ApprovalRequest(models.Model):
    """Maker-checker: something one person asks for and another (an Approver) decides.

    Generic on purpose: credit notes above the entity's limit use it now; catalog change requests
    use the same request, the same rules (never one's own) and the same admin screens later. What
    happens on a decision is the handler registered for ``kind`` (billing_site.services.approvals).
    """

    kind = models.CharField(_("what"), max_length=40)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    summary = models.CharField(_("summary"), max_length=300)
    details = models.JSONField(_("details"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING, editable=False
    )
    requested_by = models.ForeignKey(
        "auth.User", null=True, on_delete=models.PROTECT, related_name="approval_requests", editable=False
    )
    requested_by_label = models.CharField(_("requested by"), max_length=200, editable=False)
    requested_at = models.DateTimeField(_("requested"), editable=False)
    decided_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="approval_decisions", editable=False
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True, editable=False)
    comment = models.TextField(_("comment"), blank=True, editable=False)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_type", "object_id"],
                condition=Q(status="pending"),
                name="billing_site_one_pending_approval",
            ),
        ]
        permissions = [("decide_approvalrequest", "Can approve or reject requests of others")]

    def __str__(self) -> str:
        return f"{self.summary} ({self.get_status_display()})"
