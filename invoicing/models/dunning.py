"""Dunning: how finance chases an unpaid invoice (a policy), and the chase of one invoice (a case)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Plan
from invoicing.models.invoice import amount_field
from subscriptions.models import Customer


class FinalAction(models.TextChoices):
    CANCEL = "cancel", _("Cancel the subscription")
    MARK_UNPAID = "mark_unpaid", _("Mark the subscription unpaid")
    LEAVE_PAST_DUE = "leave_past_due", _("Leave it past due")


class DunningPolicy(models.Model):
    """Retry days, reminders and what happens when retries run out; per plan, per customer, or the default."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(
        _("default policy"), default=False, help_text=_("Used for every invoice whose plan and customer have none.")
    )
    retry_days = models.JSONField(
        _("retry schedule (days after the first failure)"),
        default=list,
        help_text=_("For example 1, 3, 5, 7: a retry 1, 3, 5 and 7 days after the first failed payment."),
    )
    max_attempts = models.PositiveSmallIntegerField(
        _("maximum attempts"), default=5, help_text=_("Charge attempts in all, the first one included.")
    )
    send_reminders = models.BooleanField(
        _("e-mail the customer at each step"), default=True,
        help_text=_("A reminder after every failed attempt (or, for invoices paid by transfer, on each day of the schedule)."),
    )  # fmt: skip
    final_action = models.CharField(
        _("when retries run out"), max_length=16, choices=FinalAction.choices, default=FinalAction.MARK_UNPAID
    )
    suspend_after_days = models.PositiveSmallIntegerField(
        _("suspend access after (days)"), null=True, blank=True,
        help_text=_("Days after the first failure when the customer loses access to the service. Empty: never; 0: at once."),
    )  # fmt: skip
    created_at = models.DateTimeField(_("created"), editable=False)
    updated_at = models.DateTimeField(_("updated"), editable=False)

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("dunning policy")
        verbose_name_plural = _("dunning policies")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="invoicing_one_default_dunning"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PlanDunningPolicy(models.Model):
    plan = models.OneToOneField(Plan, on_delete=models.CASCADE, related_name="dunning_policy_link")
    policy = models.ForeignKey(DunningPolicy, on_delete=models.PROTECT, related_name="plan_links")

    class Meta:
        verbose_name = _("plan using this policy")
        verbose_name_plural = _("plans using this policy")

    def __str__(self) -> str:
        return f"{self.plan} → {self.policy}"


class CustomerDunningPolicy(models.Model):
    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="dunning_policy_link")
    policy = models.ForeignKey(DunningPolicy, on_delete=models.PROTECT, related_name="customer_links")

    class Meta:
        verbose_name = _("customer using this policy")
        verbose_name_plural = _("customers using this policy")

    def __str__(self) -> str:
        return f"{self.customer} → {self.policy}"


class DunningStatus(models.TextChoices):
    ACTIVE = "active", _("In dunning")
    RECOVERED = "recovered", _("Recovered (paid)")
    EXHAUSTED = "exhausted", _("Retries ran out")
    CLOSED = "closed", _("Closed (voided, written off or credited)")


class DunningCase(models.Model):
    """The chase of one unpaid invoice, from the first failure (or the due date) until paid or given up."""

    invoice = models.OneToOneField("invoicing.Invoice", on_delete=models.PROTECT, related_name="dunning")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="dunning_cases")
    subscription = models.ForeignKey(
        "subscriptions.Subscription", null=True, blank=True, on_delete=models.SET_NULL, related_name="dunning_cases"
    )
    policy = models.ForeignKey(DunningPolicy, on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(_("status"), max_length=10, choices=DunningStatus.choices, default="active")
    started_at = models.DateTimeField(_("started"))
    step = models.PositiveSmallIntegerField(
        _("step"), default=0, help_text=_("How many days of the schedule have passed (0: only the first failure).")
    )
    next_step_at = models.DateTimeField(_("next step"), null=True, blank=True, db_index=True)
    needs_payment_method = models.BooleanField(
        _("waiting for a new payment method"), default=False, help_text=_("A hard decline: no retries until the customer adds one.")
    )  # fmt: skip
    last_decline_code = models.CharField(_("last decline"), max_length=40, blank=True)
    currency = models.CharField(max_length=3, editable=False)
    amount_at_risk = amount_field(_("amount at risk"), help_text=_("What was due when dunning started."))
    amount_recovered = amount_field(_("amount recovered"))
    suspend_at = models.DateTimeField(_("access suspended from"), null=True, blank=True, editable=False)
    access_suspended_at = models.DateTimeField(_("access suspended"), null=True, blank=True)
    final_action_taken = models.CharField(_("final action"), max_length=16, choices=FinalAction.choices, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("dunning case")
        verbose_name_plural = _("dunning")
        indexes = [models.Index(fields=["status", "next_step_at"], name="dunning_due")]

    def __str__(self) -> str:
        return f"Dunning of invoice #{self.invoice_id} ({self.get_status_display()})"
