"""API: test clocks, ``/api/v1/test-clocks``.

Create a clock, attach test customers to it (``POST /customers`` with ``test_clock``), subscribe
them, then ``POST /test-clocks/{id}/advance {"frozen_time": …}``: everything that would have happened
to those customers up to that time runs, in time order, and the answer says what it was.
``DELETE /test-clocks/{id}`` removes the clock with its test customers and all their data.
"""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from billing_site import clock
from billing_site.api.serializers import StrictInput
from billing_site.api.views import ApiView, route
from subscriptions.api.customers import responses
from subscriptions.models import TestClock, TestClockStatus
from subscriptions.selectors.customers import test_clock_list
from subscriptions.services.test_clocks import test_clock_advance, test_clock_create, test_clock_delete


class TestClockInput(StrictInput):
    __test__ = False

    name = serializers.CharField(max_length=200, help_text="What you try, e.g. “Upgrade mid-month”.")
    frozen_time = serializers.DateTimeField(
        help_text="Where the clock starts, e.g. 2026-01-31T00:00:00Z (without an offset: UTC)."
    )


class TestClockAdvanceInput(StrictInput):
    __test__ = False

    frozen_time = serializers.DateTimeField(
        help_text="The time to move to: later than the clock's time, at most two years ahead."
    )


class TestClockOutput(serializers.ModelSerializer):
    __test__ = False

    customer_count = serializers.IntegerField(read_only=True, help_text="Test customers attached to the clock.")

    class Meta:
        model = TestClock
        fields = ["id", "name", "frozen_time", "status", "customer_count", "created_at"]


class AdvanceSummaryOutput(serializers.Serializer):
    previous_time = serializers.DateTimeField()
    frozen_time = serializers.DateTimeField()
    customers = serializers.IntegerField(help_text="Customers on the clock.")
    results = serializers.ListField(
        child=serializers.JSONField(), help_text="What happened, in time order (renewals, trial ends, …)."
    )


class AdvanceOutput(serializers.Serializer):
    test_clock = TestClockOutput()
    summary = AdvanceSummaryOutput()


class DeletionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    deleted = serializers.BooleanField()
    customers = serializers.IntegerField(help_text="Test customers deleted with the clock.")
    subscriptions = serializers.IntegerField()
    usage_events = serializers.IntegerField()


class TestClockFilter(filters.FilterSet):
    __test__ = False

    status = filters.ChoiceFilter(choices=TestClockStatus.choices)

    class Meta:
        model = TestClock
        fields = ["status"]


class TestClockApi(ApiView):
    __test__ = False

    output_serializer = TestClockOutput

    def get_queryset(self) -> QuerySet[TestClock]:
        return test_clock_list()


class TestClockListApi(TestClockApi):
    filterset_class = TestClockFilter

    @extend_schema(
        tags=["Test clocks"], summary="List test clocks", responses=responses(200, TestClockOutput(many=True), 400)
    )
    def get(self, request):
        return self.list_page()

    @extend_schema(
        tags=["Test clocks"],
        summary="Create a test clock",
        request=TestClockInput,
        responses=responses(201, TestClockOutput, 400),
    )
    def post(self, request):
        created = test_clock_create(actor=self.actor(), now=clock.now(), **self.validated(TestClockInput))
        return self.output(self.get_queryset().get(pk=created.pk), status_code=status.HTTP_201_CREATED)


class TestClockDetailApi(TestClockApi):
    @extend_schema(tags=["Test clocks"], summary="Get a test clock", responses=responses(200, TestClockOutput, 404))
    def get(self, request, pk: int):
        return self.output(self.get_object())

    @extend_schema(
        tags=["Test clocks"],
        summary="Delete a test clock with its test data",
        description="Deletes the clock, its test customers and their subscriptions, usage and alerts. "
        "Customers not on this clock are never touched.",
        responses=responses(200, DeletionOutput, 400, 404),
    )
    def delete(self, request, pk: int):
        deletion = test_clock_delete(clock=self.get_object(), actor=self.actor(), now=clock.now())
        body: dict[str, Any] = {
            "id": deletion.clock_id,
            "deleted": True,
            "customers": deletion.customers,
            "subscriptions": deletion.subscriptions,
            "usage_events": deletion.usage_events,
        }
        return Response(DeletionOutput(body).data)


class TestClockAdvanceApi(TestClockApi):
    @extend_schema(
        tags=["Test clocks"],
        summary="Advance a test clock",
        description="Moves the clock forward to `frozen_time` and runs, in time order, everything due for its "
        "customers on the way: trial ends, scheduled changes, renewals, pauses ending. All or nothing: if "
        "anything fails, the clock stays where it was. Refused when the time is not later than the clock's "
        "(`test_clock_time_not_later`) or more than two years ahead (`test_clock_advance_too_far`).",
        request=TestClockAdvanceInput,
        responses=responses(200, AdvanceOutput, 400, 404),
    )
    def post(self, request, pk: int):
        test_clock = self.get_object()
        data = self.validated(TestClockAdvanceInput)
        advance = test_clock_advance(clock=test_clock, to=data["frozen_time"], actor=self.actor(), now=clock.now())
        return Response(
            {
                "test_clock": TestClockOutput(self.get_queryset().get(pk=test_clock.pk)).data,
                "summary": AdvanceSummaryOutput(advance.as_dict()).data,
            }
        )


urlpatterns = [
    *route("test-clocks", TestClockListApi, "test-clock-list"),
    *route("test-clocks/<int:pk>", TestClockDetailApi, "test-clock-detail"),
    *route("test-clocks/<int:pk>/advance", TestClockAdvanceApi, "test-clock-advance"),
]
