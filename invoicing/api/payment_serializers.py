"""Shapes of the collection API: payment methods, payments, payment attempts and dunning cases.

A payment method is a reference to a card or account held by the payment provider (brand, last four
digits, expiry): no card number, CVC or provider secret ever goes in or out. Output serializers describe
the JSON for the documentation; the values come from the ``*_data`` functions below, which read the
stored rows. Money is ``{"amount": "79.50", "currency": "EUR"}``.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import URLValidator
from rest_framework import serializers

from billing_site.api.fields import DecimalStringField
from billing_site.api.serializers import IdField, StrictInput, money_dict
from invoicing.api.serializers import MoneyOutputField
from invoicing.models import (
    AttemptStatus,
    AttemptTrigger,
    DunningCase,
    DunningStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentAttempt,
    PaymentKind,
    PaymentMethod,
    PaymentMethodKind,
    PaymentMethodStatus,
    PaymentStatus,
    Provider,
)

#: What finance records through the API: money that reached the bank account, or cash and the like.
RECORDED_KINDS = [
    (PaymentKind.BANK_TRANSFER.value, PaymentKind.BANK_TRANSFER.label),
    (PaymentKind.MANUAL.value, PaymentKind.MANUAL.label),
]


# --- input -------------------------------------------------------------------------------------


class PaymentMethodAddInput(StrictInput):
    token = serializers.CharField(
        max_length=255,
        help_text="What the payment provider's page gave back: a Stripe payment method id (`pm_…`), or with the "
        "simulated provider a test card such as `tok_visa`, `tok_insufficient_funds`. Never a card number.",
    )
    make_default = serializers.BooleanField(
        required=False,
        default=True,
        help_text="Charge this method from now on (default true). Invoices waiting for a payment are retried with "
        "it at once.",
    )


class PaymentMethodSetupInput(StrictInput):
    success_url = serializers.CharField(
        max_length=2000,
        validators=[URLValidator(schemes=["https", "http"], message="Enter a full web address, such as https://…")],
        help_text="Where the provider sends the customer back after entering a card (https://…).",
    )
    cancel_url = serializers.CharField(
        max_length=2000,
        validators=[URLValidator(schemes=["https", "http"], message="Enter a full web address, such as https://…")],
        help_text="Where the provider sends the customer back if they give up.",
    )


class PaymentRecordInput(StrictInput):
    invoice = IdField(
        queryset=Invoice.objects.all(), help_text="The open (or uncollectible) invoice the money was paid for."
    )
    amount = DecimalStringField(
        help_text="What was received, as text with a dot, e.g. “79.50”: at most the amount still due and no more "
        "decimals than the invoice's currency has."
    )
    kind = serializers.ChoiceField(
        choices=RECORDED_KINDS, required=False, default=PaymentKind.BANK_TRANSFER, help_text="Default bank_transfer."
    )
    received_at = serializers.DateTimeField(
        required=False, help_text="When the money arrived (ISO 8601 with a zone). Default: now."
    )
    reference = serializers.CharField(
        required=False, allow_blank=True, max_length=140, help_text="The bank's reference of the transfer."
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, help_text="For finance.")


# --- output ------------------------------------------------------------------------------------


class InvoiceRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(allow_null=True, help_text="null for a draft.")


class PaymentMethodOutput(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField()
    provider = serializers.ChoiceField(choices=Provider.choices, help_text="Who holds the card or account.")
    kind = serializers.ChoiceField(choices=PaymentMethodKind.choices)
    brand = serializers.CharField(help_text="e.g. “visa”; empty when the provider gives none.")
    last4 = serializers.CharField(help_text="The last four digits only; empty when unknown.")
    exp_month = serializers.IntegerField(allow_null=True)
    exp_year = serializers.IntegerField(allow_null=True)
    is_default = serializers.BooleanField(help_text="The method charged automatically.")
    status = serializers.ChoiceField(choices=PaymentMethodStatus.choices, help_text="`detached`: removed.")
    created_at = serializers.DateTimeField()
    detached_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: PaymentMethod) -> dict[str, Any]:
        return super().to_representation(payment_method_data(instance))


class SetupSessionOutput(serializers.Serializer):
    id = serializers.CharField(help_text="The provider's id of the session.")
    url = serializers.CharField(help_text="Send the customer here to enter a card on the provider's page.")
    expires_at = serializers.DateTimeField(allow_null=True)


class PaymentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField()
    invoice = InvoiceRefOutput()
    amount = MoneyOutputField()
    amount_refunded = MoneyOutputField()
    kind = serializers.ChoiceField(choices=PaymentKind.choices)
    provider = serializers.ChoiceField(choices=Provider.choices)
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    reference = serializers.CharField(help_text="The bank's reference, or the provider's charge id.")
    note = serializers.CharField()
    received_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField(help_text="When it was recorded here.")

    def to_representation(self, instance: Payment) -> dict[str, Any]:
        return super().to_representation(payment_data(instance))


class PaymentAttemptOutput(serializers.Serializer):
    id = serializers.IntegerField()
    invoice = InvoiceRefOutput()
    number = serializers.IntegerField(help_text="1 for the first try on this invoice, then 2, 3 …")
    status = serializers.ChoiceField(
        choices=AttemptStatus.choices, help_text="`requires_action`: the customer must confirm at `action_url`."
    )
    amount = MoneyOutputField()
    payment_method = serializers.IntegerField(allow_null=True)
    provider = serializers.ChoiceField(choices=Provider.choices)
    trigger = serializers.ChoiceField(choices=AttemptTrigger.choices, help_text="Why the charge was made.")
    failure_code = serializers.CharField(help_text="Ours, e.g. card_declined; empty unless it failed.")
    decline_code = serializers.CharField(help_text="The card issuer's reason, e.g. insufficient_funds; or empty.")
    decline_type = serializers.CharField(
        help_text="`soft` (retried on the dunning schedule), `hard` (needs a new payment method), or empty."
    )
    failure_message = serializers.CharField()
    provider_payment_id = serializers.CharField(help_text="The provider's id of the charge, e.g. pi_…")
    action_url = serializers.CharField(help_text="Where the customer confirms the payment; empty when not needed.")
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: PaymentAttempt) -> dict[str, Any]:
        return super().to_representation(attempt_data(instance))


class InvoiceStateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=InvoiceStatus.choices)
    amount_due = MoneyOutputField()
    amount_paid = MoneyOutputField()


class InvoicePayOutput(serializers.Serializer):
    attempt = PaymentAttemptOutput(
        allow_null=True,
        help_text="The charge and its outcome; null when the customer's account credit paid the whole invoice.",
    )
    invoice = InvoiceStateOutput(help_text="The invoice after the charge.")

    def to_representation(self, instance: tuple[PaymentAttempt | None, Invoice]) -> dict[str, Any]:
        attempt, invoice = instance
        return {
            "attempt": None if attempt is None else PaymentAttemptOutput(attempt).data,
            "invoice": invoice_state_data(invoice),
        }


class DunningPolicyRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DunningCaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    invoice = InvoiceRefOutput()
    customer = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DunningStatus.choices)
    policy = DunningPolicyRefOutput()
    started_at = serializers.DateTimeField(help_text="The first failed payment (or the due date of a transfer).")
    step = serializers.IntegerField(help_text="How many days of the policy's schedule have passed.")
    next_step_at = serializers.DateTimeField(allow_null=True, help_text="The next retry or reminder; null: none.")
    needs_payment_method = serializers.BooleanField(
        help_text="A hard decline or no payment method: nothing is retried until the customer adds one."
    )
    last_decline_code = serializers.CharField()
    amount_at_risk = MoneyOutputField(help_text="What was due when dunning started.")
    amount_recovered = MoneyOutputField()
    suspend_at = serializers.DateTimeField(allow_null=True, help_text="When access is to be suspended, if ever.")
    access_suspended_at = serializers.DateTimeField(allow_null=True)
    final_action_taken = serializers.CharField(
        help_text="cancel, mark_unpaid or leave_past_due once the schedule ran out; empty before."
    )
    ended_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: DunningCase) -> dict[str, Any]:
        return super().to_representation(dunning_case_data(instance))


# --- data --------------------------------------------------------------------------------------


def invoice_ref(invoice: Invoice) -> dict[str, Any]:
    return {"id": invoice.pk, "number": invoice.number or None}


def invoice_state_data(invoice: Invoice) -> dict[str, Any]:
    return {
        **invoice_ref(invoice),
        "status": invoice.status,
        "amount_due": money_dict(invoice.amount_due.amount, invoice.currency),
        "amount_paid": money_dict(invoice.amount_paid.amount, invoice.currency),
    }


def payment_method_data(method: PaymentMethod) -> dict[str, Any]:
    return {
        "id": method.pk,
        "customer": method.customer_id,
        "provider": method.provider,
        "kind": method.kind,
        "brand": method.brand,
        "last4": method.last4,
        "exp_month": method.exp_month,
        "exp_year": method.exp_year,
        "is_default": method.is_default,
        "status": method.status,
        "created_at": method.created_at,
        "detached_at": method.detached_at,
    }


def payment_data(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.pk,
        "customer": payment.customer_id,
        "invoice": invoice_ref(payment.invoice),
        "amount": money_dict(payment.amount.amount, payment.currency),
        "amount_refunded": money_dict(payment.amount_refunded.amount, payment.currency),
        "kind": payment.kind,
        "provider": payment.provider,
        "status": payment.status,
        "reference": payment.reference,
        "note": payment.note,
        "received_at": payment.received_at,
        "created_at": payment.created_at,
    }


def attempt_data(attempt: PaymentAttempt) -> dict[str, Any]:
    return {
        "id": attempt.pk,
        "invoice": invoice_ref(attempt.invoice),
        "number": attempt.number,
        "status": attempt.status,
        "amount": money_dict(attempt.amount.amount, attempt.currency),
        "payment_method": attempt.payment_method_id,
        "provider": attempt.provider,
        "trigger": attempt.trigger,
        "failure_code": attempt.failure_code,
        "decline_code": attempt.decline_code,
        "decline_type": attempt.decline_type,
        "failure_message": attempt.failure_message,
        "provider_payment_id": attempt.provider_payment_id,
        "action_url": attempt.action_url,
        "created_at": attempt.created_at,
        "completed_at": attempt.completed_at,
    }


def dunning_case_data(case: DunningCase) -> dict[str, Any]:
    return {
        "id": case.pk,
        "invoice": invoice_ref(case.invoice),
        "customer": case.customer_id,
        "status": case.status,
        "policy": {"id": case.policy_id, "name": case.policy.name},
        "started_at": case.started_at,
        "step": case.step,
        "next_step_at": case.next_step_at,
        "needs_payment_method": case.needs_payment_method,
        "last_decline_code": case.last_decline_code,
        "amount_at_risk": money_dict(case.amount_at_risk.amount, case.currency),
        "amount_recovered": money_dict(case.amount_recovered.amount, case.currency),
        "suspend_at": case.suspend_at,
        "access_suspended_at": case.access_suspended_at,
        "final_action_taken": case.final_action_taken,
        "ended_at": case.ended_at,
    }
