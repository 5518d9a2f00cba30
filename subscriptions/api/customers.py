"""API: customers, ``/api/v1/customers``.

The billing address is a nested object ``address: {line1, line2, postal_code, city, region, country}``
(Stripe's shape). The customer's ``country`` (the one taxes and VAT numbers follow) is a top-level
field; ``address.country`` is the same value, returned for clients that read Stripe's shape, and
accepted on input when it agrees with ``country`` (or when ``country`` is not sent). On ``PATCH``, the
address lines you leave out keep their value.

Thin views over ``subscriptions.services.customers`` with the API key as actor; every rule lives in
the services, so the API refuses exactly what the admin refuses, with the same error codes.
"""

from __future__ import annotations

import django_filters as filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status

from billing_site import clock
from billing_site.api.filters import IdFilter
from billing_site.api.serializers import IdField, StrictInput
from billing_site.api.views import ApiView, responses, route
from subscriptions.models import Customer, TaxExemption, TestClock
from subscriptions.selectors.customers import customer_list, customer_search
from subscriptions.services.customers import customer_create, customer_update

ADDRESS_FIELDS = {
    "line1": "address_line1",
    "line2": "address_line2",
    "postal_code": "postal_code",
    "city": "city",
    "region": "region",
}


# --- input -----------------------------------------------------------------------------------------


class AddressInput(StrictInput):
    line1 = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="Street and number.")
    line2 = serializers.CharField(required=False, allow_blank=True, max_length=200)
    postal_code = serializers.CharField(required=False, allow_blank=True, max_length=20)
    city = serializers.CharField(required=False, allow_blank=True, max_length=100)
    region = serializers.CharField(required=False, allow_blank=True, max_length=100, help_text="Region or state.")
    country = serializers.CharField(
        required=False, max_length=10, help_text="Optional here: the same as the top-level `country`."
    )


class CustomerInput(StrictInput):
    name = serializers.CharField(max_length=200, help_text="Legal name, as it must appear on invoices.")
    email = serializers.CharField(max_length=254, help_text="The main contact address.")
    invoice_emails = serializers.ListField(
        child=serializers.CharField(max_length=254, allow_blank=True),
        required=False,
        help_text="Up to 10 extra addresses that receive invoices, e.g. the accounts payable team.",
    )
    address = AddressInput(required=False, help_text="The billing address.")
    country = serializers.CharField(
        required=False, max_length=10, help_text="Two-letter ISO code, e.g. NL. Required when creating."
    )
    currency = serializers.CharField(max_length=10, help_text="Three-letter ISO code the customer is billed in.")
    language = serializers.CharField(required=False, max_length=10, help_text="Of invoices and e-mails: en, nl or sv.")
    vat_id = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="VAT number; spaces, dots and dashes are removed and the country prefix added (NL123456789B01). "
        "Checked for the format of the customer's country (EU, GB/XI, NO, CH); not checked online.",
    )
    tax_exemption = serializers.ChoiceField(choices=TaxExemption.choices, required=False)
    external_id = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="The customer's id in your CRM; unique."
    )
    stripe_id = serializers.CharField(required=False, allow_blank=True, max_length=100)
    metadata = serializers.JSONField(
        required=False, help_text='Up to 50 keys with text values, e.g. {"segment": "enterprise"}.'
    )
    test_clock = IdField(
        queryset=TestClock.objects.all(),
        required=False,
        allow_null=True,
        help_text="Makes this a test customer living in the test clock's time. Fixed once it has subscriptions.",
    )

    def to_internal_value(self, data):
        try:
            values = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if isinstance(error.detail, dict) and not self.partial and not self._country_given(data):
                error.detail.setdefault("country", [serializers.ErrorDetail("This field is required.", "required")])
            raise
        address = values.pop("address", None) or {}
        address_country = address.pop("country", None)
        if address_country is not None:
            top = values.get("country")
            if top is not None and top.strip().upper() != address_country.strip().upper():
                raise serializers.ValidationError(
                    {"address.country": [f"Must be the same as “country” ({top}), or left out."]}
                )
            values.setdefault("country", address_country)
        for name, field in ADDRESS_FIELDS.items():
            if name in address:
                values[field] = address[name]
        if not self.partial and "country" not in values:
            raise serializers.ValidationError({"country": ["This field is required."]})
        return values

    @staticmethod
    def _country_given(data: object) -> bool:
        if not isinstance(data, dict):
            return True  # the shape is wrong anyway; say only that
        address = data.get("address")
        return "country" in data or (isinstance(address, dict) and "country" in address)


# --- output ----------------------------------------------------------------------------------------


class AddressOutput(serializers.Serializer):
    line1 = serializers.CharField(source="address_line1")
    line2 = serializers.CharField(source="address_line2")
    postal_code = serializers.CharField()
    city = serializers.CharField()
    region = serializers.CharField()
    country = serializers.CharField()


class CustomerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField()
    invoice_emails = serializers.ListField(child=serializers.CharField())
    address = AddressOutput(source="*")
    country = serializers.CharField()
    currency = serializers.CharField()
    language = serializers.CharField()
    vat_id = serializers.CharField()
    tax_exemption = serializers.CharField()
    external_id = serializers.CharField()
    stripe_id = serializers.CharField()
    metadata = serializers.DictField(child=serializers.CharField())
    test_clock = serializers.IntegerField(source="test_clock_id", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


# --- filters ---------------------------------------------------------------------------------------


class CustomerFilter(filters.FilterSet):
    external_id = filters.CharFilter(help_text="Exact CRM id.")
    stripe_id = filters.CharFilter(help_text="Exact Stripe id.")
    email = filters.CharFilter(lookup_expr="iexact", help_text="The main e-mail address (not case-sensitive).")
    country = filters.CharFilter(lookup_expr="iexact", help_text="Two-letter ISO code, e.g. NL.")
    currency = filters.CharFilter(lookup_expr="iexact", help_text="Three-letter code, e.g. EUR.")
    language = filters.CharFilter(lookup_expr="iexact", help_text="en, nl or sv.")
    test_clock = IdFilter(field_name="test_clock_id", help_text="Only the test customers of this test clock.")
    q = filters.CharFilter(method="search", help_text="Words to find in the name or e-mail addresses.")

    class Meta:
        model = Customer
        fields = ["external_id", "stripe_id", "email", "country", "currency", "language", "test_clock", "q"]

    def search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return customer_search(queryset, value)


# --- views -----------------------------------------------------------------------------------------


class CustomerListApi(ApiView):
    filterset_class = CustomerFilter
    output_serializer = CustomerOutput

    def get_queryset(self) -> QuerySet[Customer]:
        return customer_list()

    @extend_schema(
        tags=["Customers"],
        summary="List customers",
        description="Filter by `external_id` to find the customer of a CRM record; `q` searches names and e-mails.",
        responses=responses(200, CustomerOutput(many=True), 400),
    )
    def get(self, request):
        return self.list_page()

    @extend_schema(
        tags=["Customers"],
        summary="Create a customer",
        description="`name`, `email`, `country` and `currency` are required. A CRM id already used by another "
        "customer is refused with `external_id_taken`. With `test_clock` the customer is created in the "
        "clock's time.",
        request=CustomerInput,
        responses=responses(201, CustomerOutput, 400),
    )
    def post(self, request):
        data = self.validated(CustomerInput)
        customer = customer_create(actor=self.actor(), now=clock.now(data.get("test_clock")), **data)
        return self.output(customer, status_code=status.HTTP_201_CREATED)


class CustomerDetailApi(ApiView):
    output_serializer = CustomerOutput

    def get_queryset(self) -> QuerySet[Customer]:
        return customer_list()

    @extend_schema(tags=["Customers"], summary="Get a customer", responses=responses(200, CustomerOutput, 404))
    def get(self, request, pk: int):
        return self.output(self.get_object())

    @extend_schema(
        tags=["Customers"],
        summary="Change a customer",
        description="Send only what changes. Once the customer has subscriptions its `currency` "
        "(`currency_locked`) and `test_clock` (`test_clock_locked`) cannot change.",
        request=CustomerInput,
        responses=responses(200, CustomerOutput, 400, 404),
    )
    def patch(self, request, pk: int):
        customer = self.get_object()
        changes = self.validated(CustomerInput, partial=True)
        return self.output(customer_update(customer=customer, actor=self.actor(), now=clock.now(customer), **changes))


urlpatterns = [
    *route("customers", CustomerListApi, "customer-list"),
    *route("customers/<int:pk>", CustomerDetailApi, "customer-detail"),
]
