"""API: collection — payment methods, payments, payment attempts and dunning, for CRM systems.

Thin views over ``invoicing.services.payment_methods`` and ``invoicing.services.collection`` with the
API key as actor and the customer's time as ``now``; every rule lives in the services, so the API refuses
exactly what the admin refuses, with the same error codes.

Card data never reaches this API: a body with a key such as ``number``, ``card_number``, ``cvc`` or
``cvv`` (at any depth), or a token that looks like a card number, is refused with
``card_data_refused`` before anything reads it further; the values are neither echoed nor logged. Cards
are entered on the provider's page (``payment-method-setup``) and come back as a token.

Views that can reach the payment provider (adding a method, making one the default, the setup page,
``pay``) run outside the request's transaction: each service commits its own steps, so no row stays
locked while the provider is on the line and a charge the provider made is never rolled back here
(ADR 0013).
"""

from __future__ import annotations

import re
from typing import Any

import django_filters as filters
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from billing_site import clock
from billing_site.api.filters import IdFilter
from billing_site.api.views import ApiView, responses
from billing_site.errors import DomainError
from billing_site.money import minor_units, parse_amount
from invoicing.api.filters import AwareDateTimeFilter
from invoicing.api.payment_serializers import (
    DunningCaseOutput,
    InvoicePayOutput,
    PaymentAttemptOutput,
    PaymentMethodAddInput,
    PaymentMethodOutput,
    PaymentMethodSetupInput,
    PaymentOutput,
    PaymentRecordInput,
    SetupSessionOutput,
)
from invoicing.models import (
    AttemptTrigger,
    DunningCase,
    Invoice,
    Payment,
    PaymentAttempt,
    PaymentKind,
    PaymentMethod,
    PaymentMethodStatus,
    PaymentStatus,
    Provider,
)
from invoicing.services.collection import invoice_collect, payment_record
from invoicing.services.payment_methods import (
    payment_method_add,
    payment_method_detach,
    payment_method_set_default,
    payment_method_setup_session,
)
from subscriptions.models import Customer

PAYMENT_METHOD_TAGS = ["Payment methods"]
PAYMENT_TAGS = ["Payments"]
COLLECTION_TAGS = ["Invoices"]

CARD_DATA_MESSAGE = "Card details are entered on the payment provider's page, never sent to this API."
#: Keys that carry card data, compared without case and separators ("cardNumber", "card-number", "card[number]").
CARD_DATA_KEYS = frozenset({"number", "cardnumber", "cvc", "cvv", "cvc2", "cvv2", "securitycode"})
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
#: 12 or more digits in a row, maybe grouped by single spaces or dashes ("4242 4242 4242 4242").
_CARD_NUMBER = re.compile(r"[0-9](?:[ \-]?[0-9]){11,}")


def has_card_data(data: object) -> bool:
    """Whether a parsed JSON body holds a card-data key anywhere (iteratively: any depth, no recursion limit)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, sub in value.items():
                if _NOT_ALNUM.sub("", str(key).lower()) in CARD_DATA_KEYS:
                    return True
                stack.append(sub)
        elif isinstance(value, list):
            stack.extend(value)
    return False


def looks_like_card_number(text: str) -> bool:
    """A card number pasted where a token belongs (alone or with an expiry and CVC): never sent on, never echoed.

    Test tokens hold no digits in a row, and a random provider id (``pm_1MqLiJLkdIwHu7ix…``) practically never
    twelve.
    """
    return bool(_CARD_NUMBER.search(text))


def card_data_refused() -> DomainError:
    return DomainError("card_data_refused", CARD_DATA_MESSAGE)


class CollectionApi(ApiView):
    """Shared plumbing: card data refused before any input is read."""

    def initial(self, request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication and scopes first
        if request.method not in permissions.SAFE_METHODS and has_card_data(request.data):
            raise card_data_refused()


class ProviderCallApi(CollectionApi):
    """A view that may reach the payment provider: no request transaction (see the module's docstring)."""

    @classmethod
    def as_view(cls, **initkwargs: Any):
        return transaction.non_atomic_requests(super().as_view(**initkwargs))

    def handle_exception(self, exc: Exception) -> Response:
        # The error handler marks "the request's transaction" for rollback; with none of our own, that would
        # be a caller's (a test's) transaction, whose work the services have already rolled back themselves.
        outer = transaction.get_connection().in_atomic_block
        before = transaction.get_rollback() if outer else False
        response = super().handle_exception(exc)
        if outer:
            transaction.set_rollback(before)
        return response


# --- querysets -----------------------------------------------------------------------------------


def _payment_methods() -> QuerySet[PaymentMethod]:
    return PaymentMethod.objects.all()


def _payments() -> QuerySet[Payment]:
    return Payment.objects.select_related("invoice")


def _attempts() -> QuerySet[PaymentAttempt]:
    return PaymentAttempt.objects.select_related("invoice")


# --- filters -------------------------------------------------------------------------------------


class PaymentMethodFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=PaymentMethodStatus.choices, help_text="`active` or `detached`.")

    class Meta:
        model = PaymentMethod
        fields = ["status"]


class PaymentFilter(filters.FilterSet):
    customer = IdFilter(field_name="customer_id", help_text="Customer id.")
    invoice = IdFilter(field_name="invoice_id", help_text="Invoice id.")
    kind = filters.ChoiceFilter(choices=PaymentKind.choices)
    status = filters.ChoiceFilter(choices=PaymentStatus.choices)
    received_since = AwareDateTimeFilter(
        field_name="received_at",
        lookup_expr="gte",
        help_text="Only payments received at or after this time (ISO 8601 with a zone, e.g. 2026-01-15T09:30:00Z).",
    )

    class Meta:
        model = Payment
        fields = ["customer", "invoice", "kind", "status", "received_since"]


# --- payment methods -----------------------------------------------------------------------------


class CustomerPaymentMethodListApi(ProviderCallApi):
    """The payment methods of one customer; POST attaches a new one from a provider token."""

    queryset = Customer.objects.all()
    output_serializer = PaymentMethodOutput

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset  # the filters apply to the customer's payment methods, below

    @extend_schema(
        tags=PAYMENT_METHOD_TAGS,
        summary="List a customer's payment methods",
        description="Removed ones too (`status` `detached`); filter with `status=active`. Only what identifies a "
        "card to a person is kept: brand, last four digits, expiry.",
        parameters=[
            OpenApiParameter("status", str, enum=PaymentMethodStatus.values, description="`active` or `detached`.")
        ],
        responses=responses(200, PaymentMethodOutput(many=True), 400, 404),
    )
    def get(self, request, pk: int):
        customer = self.get_object()
        methods = PaymentMethodFilter(request.query_params, queryset=_payment_methods().filter(customer=customer))
        if not methods.is_valid():
            raise ValidationError(methods.errors)
        return self.list_page(methods.qs)

    @extend_schema(
        tags=PAYMENT_METHOD_TAGS,
        summary="Add a payment method",
        description="Attaches the card or account behind `token` (what the provider's page gave back, e.g. "
        "Stripe's `pm_…`; with the simulated provider a test card such as `tok_visa`). As the default, it is "
        "charged at once for invoices waiting for a payment. An unknown token is refused (`unknown_test_card`, "
        "`provider_invalid_request`); card numbers are refused (`card_data_refused`).",
        request=PaymentMethodAddInput,
        responses=responses(201, PaymentMethodOutput, 400, 404),
    )
    def post(self, request, pk: int):
        customer = self.get_object()
        data = self.validated(PaymentMethodAddInput)
        if looks_like_card_number(data["token"]):
            raise card_data_refused()
        method = payment_method_add(
            customer=customer,
            token=data["token"],
            make_default=data["make_default"],
            actor=self.actor(),
            now=clock.now(customer),
        )
        return self.output(method, status_code=status.HTTP_201_CREATED)


class PaymentMethodDetailApi(CollectionApi):
    output_serializer = PaymentMethodOutput

    def get_queryset(self) -> QuerySet[PaymentMethod]:
        return _payment_methods().select_related("customer")

    @extend_schema(
        tags=PAYMENT_METHOD_TAGS, summary="Get a payment method", responses=responses(200, PaymentMethodOutput, 404)
    )
    def get(self, request, pk: int):
        return self.output(self.get_object())

    @extend_schema(
        tags=PAYMENT_METHOD_TAGS,
        summary="Remove a payment method",
        description="Detaches it here and at the provider; it is kept, with `status` `detached`, for the history of "
        "the payments made with it. Removing the default leaves the customer without one until another is made "
        "the default. Removing a removed method changes nothing.",
        request=None,
        responses=responses(200, PaymentMethodOutput, 400, 404),
    )
    def delete(self, request, pk: int):
        method = self.get_object()
        method = payment_method_detach(method=method, actor=self.actor(), now=clock.now(method.customer))
        return self.output(method)


class PaymentMethodDefaultApi(ProviderCallApi):
    output_serializer = PaymentMethodOutput

    def get_queryset(self) -> QuerySet[PaymentMethod]:
        return _payment_methods().select_related("customer")

    @extend_schema(
        tags=PAYMENT_METHOD_TAGS,
        summary="Make a payment method the default",
        description="It is charged from now on, starting at once with invoices waiting for a payment. A removed "
        "method cannot be the default (`payment_method_removed`).",
        request=None,
        responses=responses(200, PaymentMethodOutput, 400, 404),
    )
    def post(self, request, pk: int):
        method = self.get_object()
        method = payment_method_set_default(method=method, actor=self.actor(), now=clock.now(method.customer))
        return self.output(method)


class CustomerPaymentMethodSetupApi(ProviderCallApi):
    queryset = Customer.objects.all()
    output_serializer = SetupSessionOutput

    @extend_schema(
        tags=PAYMENT_METHOD_TAGS,
        summary="Start the provider's card page",
        description="A page of the payment provider's (Stripe Checkout in setup mode) where the customer enters a "
        "new card; send them to `url`. The card is added when they finish. The simulated provider has no such page "
        "(`setup_not_available`), nor do bank transfers (`payment_methods_unavailable`).",
        request=PaymentMethodSetupInput,
        responses=responses(200, SetupSessionOutput, 400, 404),
    )
    def post(self, request, pk: int):
        customer = self.get_object()
        data = self.validated(PaymentMethodSetupInput)
        session = payment_method_setup_session(
            customer=customer,
            actor=self.actor(),
            now=clock.now(customer),
            success_url=data["success_url"],
            cancel_url=data["cancel_url"],
        )
        body = {"id": session.provider_id, "url": session.url, "expires_at": session.expires_at}
        return Response(SetupSessionOutput(body).data)


# --- payments ------------------------------------------------------------------------------------


class PaymentListApi(CollectionApi):
    filterset_class = PaymentFilter
    output_serializer = PaymentOutput

    def get_queryset(self) -> QuerySet[Payment]:
        return _payments()

    @extend_schema(
        tags=PAYMENT_TAGS,
        summary="List payments",
        description="Money received: card charges, bank transfers and payments recorded by finance. Oldest first, "
        "paged with a cursor; filter by `customer`, `invoice`, `kind`, `status` and `received_since`.",
        responses=responses(200, PaymentOutput(many=True), 400),
    )
    def get(self, request):
        return self.list_page()

    @extend_schema(
        tags=PAYMENT_TAGS,
        summary="Record a payment received",
        description="A bank transfer (or cash) for an open or uncollectible invoice, in full or in part; the invoice "
        "is paid when nothing is left to pay, which ends its dunning. More than is due is refused (`overpayment`), "
        "as is an invoice that takes no payment (`invoice_not_collectable`). Send `amount` as text (“79.50”).",
        request=PaymentRecordInput,
        responses=responses(201, PaymentOutput, 400),
    )
    def post(self, request):
        data = self.validated(PaymentRecordInput)
        invoice: Invoice = data["invoice"]
        amount = parse_amount(data["amount"], field="amount", max_decimal_places=minor_units(invoice.currency))
        payment = payment_record(
            invoice=invoice,
            amount=amount,
            actor=self.actor(),
            now=clock.now(invoice.customer),
            kind=data["kind"],
            provider=Provider.MANUAL,
            received_at=data.get("received_at"),
            reference=data.get("reference", ""),
            note=data.get("note", ""),
        )
        return self.output(_payments().get(pk=payment.pk), status_code=status.HTTP_201_CREATED)


class PaymentDetailApi(CollectionApi):
    output_serializer = PaymentOutput

    def get_queryset(self) -> QuerySet[Payment]:
        return _payments()

    @extend_schema(tags=PAYMENT_TAGS, summary="Get a payment", responses=responses(200, PaymentOutput, 404))
    def get(self, request, pk: int):
        return self.output(self.get_object())


# --- an invoice's collection ---------------------------------------------------------------------


class InvoicePaymentAttemptListApi(CollectionApi):
    queryset = Invoice.objects.all()
    output_serializer = PaymentAttemptOutput

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset

    @extend_schema(
        tags=COLLECTION_TAGS,
        summary="List an invoice's payment attempts",
        description="Every try to charge the invoice, first one first, with its outcome and the card issuer's "
        "decline code.",
        responses=responses(200, PaymentAttemptOutput(many=True), 404),
    )
    def get(self, request, pk: int):
        return self.list_page(_attempts().filter(invoice=self.get_object()))


class InvoicePayApi(ProviderCallApi):
    queryset = Invoice.objects.all()
    output_serializer = InvoicePayOutput

    @extend_schema(
        tags=COLLECTION_TAGS,
        summary="Charge an invoice now",
        description="Charges what is due with the customer's default payment method (account credit is used "
        "first) and answers the attempt with its outcome: `succeeded` (the invoice is paid), `failed` (with "
        "`decline_code`; dunning takes over) or `requires_action` (the customer confirms at `action_url`). A "
        "declined card is a 200: the attempt was made; `pending` means the provider has not answered yet (the "
        "collection run asks again with the same idempotency key). `attempt` is null when account credit paid it "
        "all. Refused, with nothing charged: an invoice that is not open or uncollectible "
        "(`invoice_not_collectable`), nothing due (`nothing_due`), no payment method (`no_payment_method`), a "
        "payment already in progress (`payment_in_progress`).",
        request=None,
        responses=responses(200, InvoicePayOutput, 400, 404),
    )
    def post(self, request, pk: int):
        invoice = self.get_object()
        attempt = invoice_collect(
            invoice=invoice, actor=self.actor(), now=clock.now(invoice.customer), trigger=AttemptTrigger.STAFF
        )
        if attempt is not None:
            attempt = _attempts().get(pk=attempt.pk)
        return self.output((attempt, Invoice.objects.get(pk=invoice.pk)))


class InvoiceDunningApi(CollectionApi):
    queryset = Invoice.objects.all()
    output_serializer = DunningCaseOutput

    @extend_schema(
        tags=COLLECTION_TAGS,
        summary="Get an invoice's dunning",
        description="How the unpaid invoice is being chased: the policy, the step reached, the next retry or "
        "reminder, whether a new payment method is needed, and how it ended. 404 when the invoice was never in "
        "dunning.",
        responses=responses(200, DunningCaseOutput, 404),
    )
    def get(self, request, pk: int):
        invoice = self.get_object()
        case = DunningCase.objects.select_related("invoice", "policy").filter(invoice=invoice).first()
        if case is None:
            label = f"Invoice {invoice.number}" if invoice.number else f"Draft invoice {invoice.pk}"
            raise NotFound(f"{label} is not in dunning: no payment of it has failed and it is not overdue.")
        return self.output(case)
