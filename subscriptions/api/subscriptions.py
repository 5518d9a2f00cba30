"""API: subscriptions, ``/api/v1/subscriptions`` and their actions.

Thin views over ``subscriptions.services.subscriptions`` with the API key as actor and, as ``now``,
the time the customer lives in (a test clock's frozen time for test customers). Every rule lives in
the services, so the API refuses exactly what the admin refuses, with the same error codes; a
refused request changes nothing (the request's transaction is rolled back).

Money is ``{"amount": "79.50", "currency": "EUR"}``. ``preview-change`` is a POST that stores
nothing, so it needs only the ``read`` scope (like a price quote); every other action needs ``write``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import django_filters as filters
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from billing_site import clock
from billing_site.api.fields import MONEY_SCHEMA
from billing_site.api.filters import IdFilter
from billing_site.api.serializers import (
    INT_MAX,
    SMALL_INT_MAX,
    IdField,
    StrictInput,
    amount_text,
    money_dict,
    quantity_text,
    whole_number,
)
from billing_site.api.views import ApiView, ReadScope, responses, route
from catalog.models import Coupon, Plan, PlanVersion, Price, UsageType
from subscriptions.models import (
    CancellationReason,
    CollectionMethod,
    Customer,
    PauseBehavior,
    PendingLine,
    ScheduledChange,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
from subscriptions.selectors.subscriptions import (
    subscription_list,
    subscription_pending_lines,
    subscription_queryset,
    subscription_scheduled_change,
)
from subscriptions.services.lifecycle.items import item_description, period_amount
from subscriptions.services.subscriptions import (
    PRORATION_BEHAVIORS,
    WHEN,
    ChangePlan,
    subscription_cancel,
    subscription_cancel_scheduled_change,
    subscription_change,
    subscription_create,
    subscription_end_trial,
    subscription_pause,
    subscription_pause_collection,
    subscription_preview_change,
    subscription_reactivate,
    subscription_resume,
    subscription_resume_collection,
)

TAGS = ["Subscriptions"]


# --- input -----------------------------------------------------------------------------------------


class _RefField(serializers.RelatedField):
    """An object by id (42) or by its code ("team"): CRMs know the code, the admin shows the id."""

    label_name = "object"
    default_error_messages = {
        "does_not_exist": "There is no {label} with the id or code “{value}”.",
        "incorrect_type": "Give the {label}'s id or code, such as “team”.",
    }

    def to_internal_value(self, data):
        if isinstance(data, str) and data.strip():
            found = self.get_queryset().filter(code=data.strip()).first()
            if found is not None:
                return found
        pk = whole_number(data)
        if pk is None and not isinstance(data, str):
            self.fail("incorrect_type", label=self.label_name)
        found = self.get_queryset().filter(pk=pk).first() if pk is not None and 0 < pk < 2**63 else None
        if found is None:
            self.fail("does_not_exist", label=self.label_name, value=data)
        return found

    def to_representation(self, value):
        return value.pk


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "Plan id or code."})
class PlanRefField(_RefField):
    label_name = "plan"

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Plan.objects.all())
        super().__init__(**kwargs)


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "Coupon id or code."})
class CouponRefField(_RefField):
    label_name = "coupon"

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Coupon.objects.all())
        super().__init__(**kwargs)


def _prices():
    return Price.objects.select_related("product", "plan_version__plan")


class ItemInput(StrictInput):
    price = IdField(queryset=_prices(), help_text="Price id.")
    quantity = serializers.IntegerField(required=False, default=1, max_value=INT_MAX, help_text="Default 1.")


class PlanChoiceMixin(serializers.Serializer):
    plan = PlanRefField(required=False, allow_null=True, help_text="A plan (id or code): its current version.")
    plan_version = IdField(
        queryset=PlanVersion.objects.select_related("plan"),
        required=False,
        allow_null=True,
        help_text="A specific published plan version.",
    )

    def validate(self, attrs):
        if attrs.get("plan") is not None and attrs.get("plan_version") is not None:
            message = "Send either “plan” or “plan_version”, not both."
            raise serializers.ValidationError({"plan": [message]})
        return attrs


class SubscriptionCreateInput(PlanChoiceMixin, StrictInput):
    customer = IdField(queryset=Customer.objects.all(), help_text="Customer id.")
    quantity = serializers.IntegerField(required=False, max_value=INT_MAX, help_text="Seats of the plan. Default 1.")
    interval = serializers.ChoiceField(
        choices=["day", "week", "month", "year"],
        required=False,
        help_text="The billing cycle, when the plan is sold in several (e.g. monthly and yearly).",
    )
    items = ItemInput(many=True, required=False, help_text="Price items with their quantities.")
    addons = ItemInput(many=True, required=False, help_text="Add-ons: prices sold on their own.")
    trial_end = serializers.DateTimeField(required=False, allow_null=True, help_text="Explicit end of the trial.")
    trial_from_price = serializers.BooleanField(
        required=False, help_text="Give the longest trial of the prices (default true) when `trial_end` is not sent."
    )
    coupon = CouponRefField(required=False, allow_null=True)
    promotion_code = serializers.CharField(required=False, allow_blank=True, max_length=50, help_text="e.g. SPRING20.")
    billing_cycle_anchor = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Default: the start of billing (now, or the trial end)."
    )
    collection_method = serializers.ChoiceField(choices=CollectionMethod.choices, required=False)
    days_until_due = serializers.IntegerField(
        required=False, allow_null=True, max_value=SMALL_INT_MAX, help_text="Payment terms for `send_invoice`."
    )
    metadata = serializers.DictField(required=False)


class SubscriptionChangeInput(PlanChoiceMixin, StrictInput):
    quantity = serializers.IntegerField(required=False, allow_null=True, max_value=INT_MAX)
    items = ItemInput(
        many=True, required=False, allow_null=True, help_text="Replaces the price items that are not the plan's."
    )
    addons = ItemInput(many=True, required=False, allow_null=True, help_text="Replaces the add-ons ([] removes them).")
    proration = serializers.ChoiceField(choices=PRORATION_BEHAVIORS, required=False, default="create_prorations")
    when = serializers.ChoiceField(choices=WHEN, required=False, default="now")


class PauseInput(StrictInput):
    type = serializers.ChoiceField(
        choices=["collection", "service"],
        help_text="`collection`: stop collecting payment, the service goes on. `service`: pause the service itself.",
    )
    behavior = serializers.ChoiceField(
        choices=PauseBehavior.choices, required=False, help_text="Collection only: what happens to invoices."
    )
    resumes_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Collection only: auto-resume.")
    periods = serializers.IntegerField(required=False, allow_null=True, max_value=SMALL_INT_MAX)
    until = serializers.DateTimeField(required=False, allow_null=True, help_text="Service only: when it resumes.")

    def validate(self, attrs):
        kind = attrs["type"]
        wrong = ["periods", "until"] if kind == "collection" else ["behavior", "resumes_at"]
        errors = {name: [f"Only for a {'service' if kind == 'collection' else 'collection'} pause."] for name in wrong}
        errors = {name: messages for name, messages in errors.items() if attrs.get(name) is not None}
        if kind == "collection" and not attrs.get("behavior"):
            errors["behavior"] = ["Choose what happens to invoices while collection is paused."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ResumeInput(StrictInput):
    type = serializers.ChoiceField(
        choices=["collection", "service"],
        required=False,
        help_text="Default: the service when the subscription is paused, otherwise collection.",
    )
    at = serializers.DateTimeField(required=False, allow_null=True, help_text="Service only: resume on this date.")


class CancelInput(StrictInput):
    at_period_end = serializers.BooleanField(help_text="true: at the end of the period (reversible); false: now.")
    prorate_credit = serializers.BooleanField(
        required=False, default=False, help_text="Immediate only: credit the unused time of the period."
    )
    reason_code = serializers.ChoiceField(choices=CancellationReason.choices)
    reason_text = serializers.CharField(required=False, allow_blank=True, max_length=2000)


# --- output ----------------------------------------------------------------------------------------


@extend_schema_field(MONEY_SCHEMA)
class MoneyOutputField(serializers.DictField):
    pass


class PeriodOutput(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


def _period(start: datetime | None, end: datetime | None) -> dict[str, datetime | None]:
    return {"start": start, "end": end}


class PlanSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class ItemOutput(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    price = serializers.IntegerField()
    description = serializers.CharField(help_text="e.g. “5 × Seat”.")
    quantity = serializers.IntegerField()
    is_addon = serializers.BooleanField()
    usage_type = serializers.CharField()
    amount_per_period = MoneyOutputField(
        allow_null=True, help_text="What a whole period bills for this item (null: metered, billed by usage)."
    )


def item_data(*, price: Price, quantity: int, is_addon: bool, pk: int | None = None) -> dict[str, Any]:
    metered = price.usage_type == UsageType.METERED
    return {
        "id": pk,
        "price": price.pk,
        "description": item_description(price, quantity),
        "quantity": quantity,
        "is_addon": is_addon,
        "usage_type": price.usage_type,
        "amount_per_period": None if metered else money_dict(period_amount(price, quantity), price.currency),
    }


class ScheduledChangeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    effective_at = serializers.DateTimeField()
    description = serializers.CharField()
    change = serializers.DictField(help_text="The change as requested: plan_version, quantity, items, addons.")
    created_at = serializers.DateTimeField()


def scheduled_change_data(change: ScheduledChange | None) -> dict[str, Any] | None:
    if change is None:
        return None
    return {
        "id": change.pk,
        "effective_at": change.effective_at,
        "description": change.description,
        "change": change.change,
        "created_at": change.created_at,
    }


class PendingLineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    description = serializers.CharField()
    kind = serializers.CharField(help_text="`proration` (next invoice) or `invoice_now` (invoiced at once).")
    proration = serializers.BooleanField()
    price = serializers.IntegerField(allow_null=True)
    quantity = serializers.CharField()
    unit_amount = serializers.CharField()
    amount = MoneyOutputField(help_text="Negative for a credit.")
    period = PeriodOutput()
    created_at = serializers.DateTimeField()


def pending_line_data(line: PendingLine) -> dict[str, Any]:
    currency = str(line.amount.currency)
    return {
        "id": line.pk,
        "description": line.description,
        "kind": line.kind,
        "proration": line.proration,
        "price": line.price_id,
        "quantity": quantity_text(line.quantity),
        "unit_amount": amount_text(line.unit_amount, currency),
        "amount": money_dict(line.amount.amount, currency),
        "period": _period(line.period_start, line.period_end),
        "created_at": line.created_at,
    }


class PauseCollectionOutput(serializers.Serializer):
    behavior = serializers.CharField()
    resumes_at = serializers.DateTimeField(allow_null=True)


class ServicePauseOutput(serializers.Serializer):
    paused_at = serializers.DateTimeField(allow_null=True)
    resumes_at = serializers.DateTimeField(allow_null=True, help_text="null: until someone resumes it.")


class SubscriptionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField()
    plan = PlanSummaryOutput(allow_null=True)
    plan_version = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=SubscriptionStatus.choices)
    currency = serializers.CharField()
    interval = serializers.CharField()
    interval_count = serializers.IntegerField()
    billing_cycle_anchor = serializers.DateTimeField()
    current_period = PeriodOutput()
    trial_start = serializers.DateTimeField(allow_null=True)
    trial_end = serializers.DateTimeField(allow_null=True)
    collection_method = serializers.CharField()
    days_until_due = serializers.IntegerField(allow_null=True)
    coupon = serializers.IntegerField(allow_null=True)
    promotion_code = serializers.CharField(allow_null=True)
    coupon_periods_left = serializers.IntegerField(
        allow_null=True, help_text="Billing periods, the current one included, that still get the discount."
    )
    cancel_at_period_end = serializers.BooleanField()
    canceled_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    cancellation_reason = serializers.CharField()
    cancellation_comment = serializers.CharField()
    pause_collection = PauseCollectionOutput(allow_null=True)
    service_pause = ServicePauseOutput(allow_null=True)
    items = ItemOutput(many=True)
    scheduled_change = ScheduledChangeOutput(allow_null=True)
    pending_lines = PendingLineOutput(many=True, help_text="Charges and credits waiting for an invoice.")
    metadata = serializers.DictField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, instance: Subscription) -> dict[str, Any]:
        return super().to_representation(subscription_data(instance))


def subscription_data(subscription: Subscription) -> dict[str, Any]:
    version = subscription.plan_version
    items: list[SubscriptionItem] = list(subscription.items.all())
    return {
        "id": subscription.pk,
        "customer": subscription.customer_id,
        "plan": (
            None if version is None else {"id": version.plan.pk, "code": version.plan.code, "name": version.plan.name}
        ),
        "plan_version": subscription.plan_version_id,
        "status": subscription.status,
        "currency": subscription.currency,
        "interval": subscription.interval,
        "interval_count": subscription.interval_count,
        "billing_cycle_anchor": subscription.billing_cycle_anchor,
        "current_period": _period(subscription.current_period_start, subscription.current_period_end),
        "trial_start": subscription.trial_start,
        "trial_end": subscription.trial_end,
        "collection_method": subscription.collection_method,
        "days_until_due": subscription.days_until_due,
        "coupon": subscription.coupon_id,
        "promotion_code": subscription.promotion_code.code if subscription.promotion_code_id else None,
        "coupon_periods_left": subscription.coupon_periods_left,
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "canceled_at": subscription.canceled_at,
        "ended_at": subscription.ended_at,
        "cancellation_reason": subscription.cancellation_reason,
        "cancellation_comment": subscription.cancellation_comment,
        "pause_collection": (
            {"behavior": subscription.pause_behavior, "resumes_at": subscription.pause_resumes_at}
            if subscription.pause_behavior
            else None
        ),
        "service_pause": (
            {"paused_at": subscription.service_paused_at, "resumes_at": subscription.service_paused_until}
            if subscription.status == SubscriptionStatus.PAUSED
            else None
        ),
        "items": [
            item_data(price=item.price, quantity=item.quantity, is_addon=item.is_addon, pk=item.pk) for item in items
        ],
        "scheduled_change": scheduled_change_data(subscription_scheduled_change(subscription)),
        "pending_lines": [pending_line_data(line) for line in subscription_pending_lines(subscription)],
        "metadata": subscription.metadata,
        "created_at": subscription.created_at,
        "updated_at": subscription.updated_at,
    }


class ProrationLineOutput(serializers.Serializer):
    description = serializers.CharField()
    kind = serializers.CharField(help_text="`credit` (negative amount) or `charge`.")
    price = serializers.IntegerField(allow_null=True)
    quantity = serializers.CharField()
    unit_amount = serializers.CharField()
    amount = MoneyOutputField()
    period = PeriodOutput()


class ChangePreviewOutput(serializers.Serializer):
    subscription = serializers.IntegerField()
    when = serializers.CharField()
    effective_at = serializers.DateTimeField()
    proration = serializers.CharField()
    description = serializers.CharField()
    plan_version = serializers.IntegerField(allow_null=True)
    items = ItemOutput(many=True, help_text="The items after the change.")
    lines = ProrationLineOutput(many=True, help_text="The proration lines the change would write.")
    pending_line_kind = serializers.CharField(allow_null=True, help_text="The `kind` the lines would be saved with.")
    total = MoneyOutputField(help_text="Sum of the lines.")

    def to_representation(self, instance: ChangePlan) -> dict[str, Any]:
        return super().to_representation(preview_data(instance))


def preview_data(plan: ChangePlan) -> dict[str, Any]:
    currency = plan.subscription.currency
    return {
        "subscription": plan.subscription.pk,
        "when": plan.when,
        "effective_at": plan.effective_at,
        "proration": plan.proration,
        "description": plan.description,
        "plan_version": plan.plan_version.pk if plan.plan_version is not None else None,
        "items": [item_data(price=i.price, quantity=i.quantity, is_addon=i.is_addon) for i in plan.items],
        "lines": [
            {
                "description": line.description,
                "kind": line.kind,
                "price": line.price_id,
                "quantity": quantity_text(line.quantity),
                "unit_amount": amount_text(line.unit_amount, currency),
                "amount": money_dict(line.amount, currency),
                "period": _period(line.period_start, line.period_end),
            }
            for line in plan.lines
        ],
        "pending_line_kind": plan.pending_kind if plan.lines else None,
        "total": money_dict(plan.total if plan.lines else Decimal(0), currency),
    }


# --- filters ---------------------------------------------------------------------------------------


class SubscriptionFilter(filters.FilterSet):
    customer = IdFilter(field_name="customer_id", help_text="Customer id.")
    status = filters.ChoiceFilter(choices=SubscriptionStatus.choices)
    plan = filters.CharFilter(method="filter_plan", help_text="Plan id or code (any of its versions).")

    class Meta:
        model = Subscription
        fields = ["customer", "status", "plan"]

    def filter_plan(self, queryset, name, value):
        value = value.strip()
        if value.isdigit() and int(value) < 2**63:
            return queryset.filter(Q(plan_version__plan_id=int(value)) | Q(plan_version__plan__code=value))
        return queryset.filter(plan_version__plan__code=value)


# --- views -----------------------------------------------------------------------------------------


def _pairs(rows: list[dict[str, Any]] | None) -> list[tuple[Price, int]] | None:
    return None if rows is None else [(row["price"], row["quantity"]) for row in rows]


def _plan_choice(data: dict[str, Any]) -> Plan | PlanVersion | None:
    plan, version = data.pop("plan", None), data.pop("plan_version", None)
    return version if version is not None else plan


class SubscriptionApi(ApiView):
    """Shared plumbing: the subscription with everything it shows, and the customer's time."""

    output_serializer = SubscriptionOutput

    def get_queryset(self) -> QuerySet[Subscription]:
        return subscription_queryset()

    def subscription(self) -> Subscription:
        return self.get_object()

    def now(self, subscription: Subscription) -> datetime:
        return clock.now(subscription.customer)

    def answer(self, subscription: Subscription, *, status_code: int = status.HTTP_200_OK) -> Response:
        return self.output(subscription_queryset().get(pk=subscription.pk), status_code=status_code)


class SubscriptionListApi(SubscriptionApi):
    filterset_class = SubscriptionFilter

    def get_queryset(self) -> QuerySet[Subscription]:
        return subscription_list()

    @extend_schema(
        tags=TAGS,
        summary="List subscriptions",
        description="Filter by `customer` (id), `status` and `plan` (id or code).",
        responses=responses(200, SubscriptionOutput(many=True), 400),
    )
    def get(self, request):
        return self.list_page()

    @extend_schema(
        tags=TAGS,
        summary="Create a subscription",
        description="By `plan` (its current published version) or `plan_version`, and/or price `items`; "
        "`addons` are standalone prices. All prices share the customer's currency and one billing cycle. "
        "A trial comes from the prices' trial days or `trial_end`. The first period runs from now to the "
        "billing cycle anchor's next boundary. No invoice is made here: the billing run bills the period.",
        request=SubscriptionCreateInput,
        responses=responses(201, SubscriptionOutput, 400),
    )
    def post(self, request):
        data = self.validated(SubscriptionCreateInput)
        customer = data.pop("customer")
        plan_version = _plan_choice(data)
        for name in ("items", "addons"):
            if name in data:
                data[name] = _pairs(data[name])
        if data.get("promotion_code") == "":
            data.pop("promotion_code")
        subscription = subscription_create(
            customer=customer, actor=self.actor(), now=clock.now(customer), plan_version=plan_version, **data
        )
        return self.answer(subscription, status_code=status.HTTP_201_CREATED)


class SubscriptionDetailApi(SubscriptionApi):
    @extend_schema(
        tags=TAGS,
        summary="Get a subscription",
        description="With its items, current period, scheduled change and the lines waiting for an invoice.",
        responses=responses(200, SubscriptionOutput, 404),
    )
    def get(self, request, pk: int):
        return self.output(self.subscription())


def _change_arguments(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "plan_version": _plan_choice(data),
        "items": _pairs(data.get("items")),
        "addons": _pairs(data.get("addons")),
        "quantity": data.get("quantity"),
        "proration": data["proration"],
        "when": data["when"],
    }


_CHANGE_DESCRIPTION = (
    "Switch `plan` / `plan_version` (licensed items keep their seats unless `quantity` is sent), set the "
    "`quantity`, replace the price `items` or the `addons`. `when`: `now` (prorated: the unused time of what "
    "was billed is credited, the rest of the period charged at the new prices, each line rounded) or "
    "`period_end` (a scheduled change, applied at renewal without proration; one at a time). `proration`: "
    "`create_prorations` (lines wait for the next invoice), `always_invoice` (invoiced at once), `none`."
)


class SubscriptionChangeApi(SubscriptionApi):
    @extend_schema(
        tags=TAGS,
        summary="Change a subscription",
        description=_CHANGE_DESCRIPTION,
        request=SubscriptionChangeInput,
        responses=responses(200, SubscriptionOutput, 400, 404),
    )
    def post(self, request, pk: int):
        subscription = self.subscription()
        arguments = _change_arguments(self.validated(SubscriptionChangeInput))
        subscription_change(subscription=subscription, actor=self.actor(), now=self.now(subscription), **arguments)
        return self.answer(subscription)


class SubscriptionPreviewChangeApi(SubscriptionApi):
    """A read that is a POST (the change is a body): needs only the ``read`` scope, stores nothing."""

    permission_classes = [ReadScope]
    output_serializer = ChangePreviewOutput

    @extend_schema(
        tags=TAGS,
        summary="Preview a change",
        description="What `change` with the same body would do: the items after it and the proration lines "
        "with their amounts. **Needs only the `read` scope**: nothing is saved.",
        request=SubscriptionChangeInput,
        responses=responses(200, ChangePreviewOutput, 400, 404),
    )
    def post(self, request, pk: int):
        subscription = self.subscription()
        arguments = _change_arguments(self.validated(SubscriptionChangeInput))
        plan = subscription_preview_change(
            subscription=subscription, actor=self.actor(), now=self.now(subscription), **arguments
        )
        return Response(ChangePreviewOutput(plan).data)


class SubscriptionPauseApi(SubscriptionApi):
    @extend_schema(
        tags=TAGS,
        summary="Pause collection or the service",
        description="`type: collection`: the service goes on, invoices are kept as drafts, marked "
        "uncollectible or voided (`behavior`), optionally until `resumes_at`. `type: service`: the "
        "subscription is paused for `periods` billing periods or `until` a date; nothing accrues and on "
        "resume the period end moves on by the time paused.",
        request=PauseInput,
        responses=responses(200, SubscriptionOutput, 400, 404),
    )
    def post(self, request, pk: int):
        subscription = self.subscription()
        data = self.validated(PauseInput)
        arguments = {"subscription": subscription, "actor": self.actor(), "now": self.now(subscription)}
        if data["type"] == "collection":
            subscription_pause_collection(**arguments, behavior=data["behavior"], resumes_at=data.get("resumes_at"))
        else:
            subscription_pause(**arguments, periods=data.get("periods"), until=data.get("until"))
        return self.answer(subscription)


class SubscriptionResumeApi(SubscriptionApi):
    @extend_schema(
        tags=TAGS,
        summary="Resume collection or the service",
        description="The service resumes now or on `at`. Resuming what is not paused is refused with "
        "`invalid_transition` (service) or `collection_not_paused`.",
        request=ResumeInput,
        responses=responses(200, SubscriptionOutput, 400, 404),
    )
    def post(self, request, pk: int):
        subscription = self.subscription()
        data = self.validated(ResumeInput)
        kind = data.get("type") or (
            "collection"
            if subscription.status != SubscriptionStatus.PAUSED and subscription.pause_behavior
            else "service"
        )
        arguments = {"subscription": subscription, "actor": self.actor(), "now": self.now(subscription)}
        if kind == "collection":
            if data.get("at") is not None:
                message = "Collection resumes at once; a date is only for the service (or pause with `resumes_at`)."
                raise serializers.ValidationError({"at": [message]})
            subscription_resume_collection(**arguments)
        else:
            subscription_resume(**arguments, at=data.get("at"))
        return self.answer(subscription)


class SubscriptionCancelApi(SubscriptionApi):
    @extend_schema(
        tags=TAGS,
        summary="Cancel a subscription",
        description="At the end of the period (reversible with `reactivate` until then) or now, optionally with "
        "a prorated credit for the unused time. The reason code and text are kept for churn analysis.",
        request=CancelInput,
        responses=responses(200, SubscriptionOutput, 400, 404),
    )
    def post(self, request, pk: int):
        subscription = self.subscription()
        data = self.validated(CancelInput)
        subscription_cancel(subscription=subscription, actor=self.actor(), now=self.now(subscription), **data)
        return self.answer(subscription)


class SubscriptionReactivateApi(SubscriptionApi):
    @extend_schema(
        tags=TAGS,
        summary="Undo a cancellation at period end",
        request=None,
        responses=responses(200, SubscriptionOutput, 400, 404),
    )
    def post(self, request, pk: int):
        subscription = self.subscription()
        subscription_reactivate(subscription=subscription, actor=self.actor(), now=self.now(subscription))
        return self.answer(subscription)


class SubscriptionScheduledChangeCancelApi(SubscriptionApi):
    @extend_schema(
        tags=TAGS,
        summary="Cancel the scheduled change",
        request=None,
        responses=responses(200, SubscriptionOutput, 400, 404),
    )
    def post(self, request, pk: int):
        subscription = self.subscription()
        subscription_cancel_scheduled_change(subscription=subscription, actor=self.actor(), now=self.now(subscription))
        return self.answer(subscription)


class SubscriptionEndTrialApi(SubscriptionApi):
    @extend_schema(
        tags=TAGS,
        summary="End the trial now",
        description="The first paid period starts now; without a payment method on file the "
        "`TRIAL_END_WITHOUT_PAYMENT_METHOD` setting decides (convert, cancel or pause).",
        request=None,
        responses=responses(200, SubscriptionOutput, 400, 404),
    )
    def post(self, request, pk: int):
        subscription = self.subscription()
        subscription_end_trial(subscription=subscription, actor=self.actor(), now=self.now(subscription))
        return self.answer(subscription)


urlpatterns = [
    *route("subscriptions", SubscriptionListApi, "subscription-list"),
    *route("subscriptions/<int:pk>", SubscriptionDetailApi, "subscription-detail"),
    *route("subscriptions/<int:pk>/change", SubscriptionChangeApi, "subscription-change"),
    *route("subscriptions/<int:pk>/preview-change", SubscriptionPreviewChangeApi, "subscription-preview-change"),
    *route("subscriptions/<int:pk>/pause", SubscriptionPauseApi, "subscription-pause"),
    *route("subscriptions/<int:pk>/resume", SubscriptionResumeApi, "subscription-resume"),
    *route("subscriptions/<int:pk>/cancel", SubscriptionCancelApi, "subscription-cancel"),
    *route("subscriptions/<int:pk>/reactivate", SubscriptionReactivateApi, "subscription-reactivate"),
    *route(
        "subscriptions/<int:pk>/scheduled-change/cancel",
        SubscriptionScheduledChangeCancelApi,
        "subscription-scheduled-change-cancel",
    ),
    *route("subscriptions/<int:pk>/end-trial", SubscriptionEndTrialApi, "subscription-end-trial"),
]
