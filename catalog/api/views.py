"""The catalog REST API: thin views over the catalog services (writes) and selectors (reads).

Every write goes through ``catalog.services`` with the API key as actor and the clock's ``now``,
so the API validates, audits and rolls back exactly like the admin does.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from billing_site import clock
from billing_site.api.views import ApiView, ReadScope, responses
from billing_site.errors import DomainError
from catalog.api import filters
from catalog.api.serializers import (
    CouponInput,
    CouponOutput,
    MetricInput,
    MetricOutput,
    PlanCreateInput,
    PlanInput,
    PlanOutput,
    PlanVersionArchiveInput,
    PlanVersionCreateInput,
    PlanVersionOutput,
    PriceInput,
    PriceOutput,
    ProductInput,
    ProductOutput,
    PromotionCodeInput,
    PromotionCodeOutput,
    QuoteInput,
    QuoteOutput,
    TaxRateInput,
    TaxRateOutput,
    quote_data,
)
from catalog.domain import pricing
from catalog.models import BillableMetric, Coupon, Plan, PlanVersion, Price, Product, TaxRate
from catalog.selectors import plan_list, price_list, price_quote
from catalog.services.coupons import coupon_create, coupon_update, promotion_code_create
from catalog.services.plans import (
    plan_create,
    plan_update,
    plan_version_archive,
    plan_version_new_draft,
    plan_version_publish,
)
from catalog.services.prices import price_create, price_spec, price_update
from catalog.services.products import metric_create, metric_update, product_create, product_update
from catalog.services.tax_rates import tax_rate_create, tax_rate_update


def _plan_versions() -> QuerySet[PlanVersion]:
    return PlanVersion.objects.select_related("plan").prefetch_related(Prefetch("prices", queryset=price_list()))


# --- products -----------------------------------------------------------------------------


class ProductListApi(ApiView):
    queryset = Product.objects.all()
    filterset_class = filters.ProductFilter
    output_serializer = ProductOutput

    @extend_schema(tags=["Products"], summary="List products", responses=responses(200, ProductOutput(many=True), 400))
    def get(self, request):
        return self.list_page()

    @extend_schema(
        tags=["Products"],
        summary="Create a product",
        request=ProductInput,
        responses=responses(201, ProductOutput, 400),
    )
    def post(self, request):
        product = product_create(actor=self.actor(), now=clock.now(), **self.validated(ProductInput))
        return self.output(product, status_code=status.HTTP_201_CREATED)


class ProductDetailApi(ApiView):
    queryset = Product.objects.all()
    output_serializer = ProductOutput

    @extend_schema(tags=["Products"], summary="Get a product", responses=responses(200, ProductOutput, 404))
    def get(self, request, pk: int):
        return self.output(self.get_object())

    @extend_schema(
        tags=["Products"],
        summary="Change a product",
        request=ProductInput,
        responses=responses(200, ProductOutput, 400, 404),
    )
    def patch(self, request, pk: int):
        product = self.get_object()
        changes = self.validated(ProductInput, partial=True)
        return self.output(product_update(product=product, actor=self.actor(), now=clock.now(), **changes))


# --- usage metrics ------------------------------------------------------------------------


class MetricListApi(ApiView):
    queryset = BillableMetric.objects.all()
    filterset_class = filters.MetricFilter
    output_serializer = MetricOutput

    @extend_schema(
        tags=["Usage metrics"], summary="List usage metrics", responses=responses(200, MetricOutput(many=True), 400)
    )
    def get(self, request):
        return self.list_page()

    @extend_schema(
        tags=["Usage metrics"],
        summary="Create a usage metric",
        request=MetricInput,
        responses=responses(201, MetricOutput, 400),
    )
    def post(self, request):
        metric = metric_create(actor=self.actor(), now=clock.now(), **self.validated(MetricInput))
        return self.output(metric, status_code=status.HTTP_201_CREATED)


class MetricDetailApi(ApiView):
    queryset = BillableMetric.objects.all()
    output_serializer = MetricOutput

    @extend_schema(tags=["Usage metrics"], summary="Get a usage metric", responses=responses(200, MetricOutput, 404))
    def get(self, request, pk: int):
        return self.output(self.get_object())

    @extend_schema(
        tags=["Usage metrics"],
        summary="Change a usage metric",
        description="How a metric counts (code, aggregation, property, filters) cannot change while published "
        "prices bill by it (`metric_in_use`).",
        request=MetricInput,
        responses=responses(200, MetricOutput, 400, 404),
    )
    def patch(self, request, pk: int):
        metric = self.get_object()
        changes = self.validated(MetricInput, partial=True)
        return self.output(metric_update(metric=metric, actor=self.actor(), now=clock.now(), **changes))


# --- plans and versions -------------------------------------------------------------------


class PlanListApi(ApiView):
    filterset_class = filters.PlanFilter
    output_serializer = PlanOutput

    def get_queryset(self) -> QuerySet[Plan]:
        return plan_list()

    @extend_schema(
        tags=["Plans"],
        summary="List plans with their versions and prices",
        responses=responses(200, PlanOutput(many=True), 400),
    )
    def get(self, request):
        return self.list_page()

    @extend_schema(
        tags=["Plans"],
        summary="Create a plan",
        description="The plan starts with one draft version (v1), ready for prices.",
        request=PlanCreateInput,
        responses=responses(201, PlanOutput, 400),
    )
    def post(self, request):
        plan = plan_create(actor=self.actor(), now=clock.now(), **self.validated(PlanCreateInput))
        return self.output(plan_list().get(pk=plan.pk), status_code=status.HTTP_201_CREATED)


class PlanDetailApi(ApiView):
    output_serializer = PlanOutput

    def get_queryset(self) -> QuerySet[Plan]:
        return plan_list()

    @extend_schema(tags=["Plans"], summary="Get a plan", responses=responses(200, PlanOutput, 404))
    def get(self, request, pk: int):
        return self.output(self.get_object())

    @extend_schema(
        tags=["Plans"], summary="Change a plan", request=PlanInput, responses=responses(200, PlanOutput, 400, 404)
    )
    def patch(self, request, pk: int):
        plan = self.get_object()
        plan_update(plan=plan, actor=self.actor(), now=clock.now(), **self.validated(PlanInput, partial=True))
        return self.output(plan_list().get(pk=plan.pk))


class PlanVersionListApi(ApiView):
    """The versions of one plan; POST starts a new draft."""

    queryset = Plan.objects.all()
    output_serializer = PlanVersionOutput

    @extend_schema(
        tags=["Plans"],
        summary="List the versions of a plan",
        responses=responses(200, PlanVersionOutput(many=True), 404),
    )
    def get(self, request, pk: int):
        return self.list_page(_plan_versions().filter(plan=self.get_object()))

    @extend_schema(
        tags=["Plans"],
        summary="Start a new draft version",
        description="Copies the prices of `from_version` (default: the current published version). "
        "A plan has at most one draft (`draft_exists`).",
        request=PlanVersionCreateInput,
        responses=responses(201, PlanVersionOutput, 400, 404),
    )
    def post(self, request, pk: int):
        plan = self.get_object()
        data = self.validated(PlanVersionCreateInput)
        version = plan_version_new_draft(plan=plan, actor=self.actor(), now=clock.now(), **data)
        return self.output(_plan_versions().get(pk=version.pk), status_code=status.HTTP_201_CREATED)


class PlanVersionDetailApi(ApiView):
    output_serializer = PlanVersionOutput

    def get_queryset(self) -> QuerySet[PlanVersion]:
        return _plan_versions()

    @extend_schema(tags=["Plans"], summary="Get a plan version", responses=responses(200, PlanVersionOutput, 404))
    def get(self, request, pk: int):
        return self.output(self.get_object())


class PlanVersionPublishApi(ApiView):
    queryset = PlanVersion.objects.all()
    output_serializer = PlanVersionOutput

    @extend_schema(
        tags=["Plans"],
        summary="Publish a draft version",
        description="Checks every price again, then freezes the version: its prices can no longer change.",
        request=None,
        responses=responses(200, PlanVersionOutput, 400, 404),
    )
    def post(self, request, pk: int):
        version = plan_version_publish(version=self.get_object(), actor=self.actor(), now=clock.now())
        return self.output(_plan_versions().get(pk=version.pk))


class PlanVersionArchiveApi(ApiView):
    queryset = PlanVersion.objects.all()
    output_serializer = PlanVersionOutput

    @extend_schema(
        tags=["Plans"],
        summary="Archive a published version",
        description="No new subscriptions on this version; existing ones keep what they agreed to.",
        request=PlanVersionArchiveInput,
        responses=responses(200, PlanVersionOutput, 400, 404),
    )
    def post(self, request, pk: int):
        version = self.get_object()
        data = self.validated(PlanVersionArchiveInput)
        version = plan_version_archive(version=version, actor=self.actor(), now=clock.now(), **data)
        return self.output(_plan_versions().get(pk=version.pk))


# --- prices -------------------------------------------------------------------------------


class PriceListApi(ApiView):
    filterset_class = filters.PriceFilter
    output_serializer = PriceOutput

    def get_queryset(self) -> QuerySet[Price]:
        return price_list()

    @extend_schema(tags=["Prices"], summary="List prices", responses=responses(200, PriceOutput(many=True), 400))
    def get(self, request):
        return self.list_page()

    @extend_schema(
        tags=["Prices"],
        summary="Create a price",
        description="A price in a draft plan version, or a standalone add-on when `plan_version` is omitted. "
        "Amounts are decimal strings in the price's currency (up to 12 decimals).",
        request=PriceInput,
        responses=responses(201, PriceOutput, 400),
    )
    def post(self, request):
        price = price_create(actor=self.actor(), now=clock.now(), **self.validated(PriceInput))
        return self.output(price_list().get(pk=price.pk), status_code=status.HTTP_201_CREATED)


class PriceDetailApi(ApiView):
    output_serializer = PriceOutput

    def get_queryset(self) -> QuerySet[Price]:
        return price_list()

    @extend_schema(tags=["Prices"], summary="Get a price", responses=responses(200, PriceOutput, 404))
    def get(self, request, pk: int):
        return self.output(self.get_object())

    @extend_schema(
        tags=["Prices"],
        summary="Change a price",
        description="Prices of a draft version and add-ons can change; `tiers` and `rate_windows` replace the old "
        "ones when given. A price of a published version only takes `nickname` and `active`; anything else is "
        "refused with `plan_version_published`.",
        request=PriceInput,
        responses=responses(200, PriceOutput, 400, 404),
    )
    def patch(self, request, pk: int):
        price = self.get_object()
        changes = self.validated(PriceInput, partial=True)
        price_update(price=price, actor=self.actor(), now=clock.now(), **changes)
        return self.output(price_list().get(pk=price.pk))


class PriceQuoteApi(ApiView):
    """A read that is a POST (the quantities are a body): needs only the ``read`` scope, stores nothing."""

    permission_classes = [ReadScope]
    output_serializer = QuoteOutput

    def get_queryset(self) -> QuerySet[Price]:
        # Only what pricing needs: quotes are the hot path of CRM integrations (see `make bench`).
        return Price.objects.prefetch_related("tiers", "rate_windows")

    @extend_schema(
        tags=["Prices"],
        summary="Quote a price",
        description="What a quantity costs at this price, with a line per tier a person can read. "
        "For a time-of-use price send `quantities` per rate instead of `quantity`. "
        "**Needs only the `read` scope**: quoting computes and stores nothing.",
        request=QuoteInput,
        responses=responses(200, QuoteOutput, 400, 404),
    )
    def post(self, request, pk: int):
        price = self.get_object()
        data = self.validated(QuoteInput)
        if "quantities" in data:
            spec = price_spec(price)
            if not spec.rate_windows:
                raise DomainError(
                    "not_time_of_use",
                    "This price has no time-of-use rates: send one “quantity” instead of “quantities”.",
                    fields={"quantities": "Only for time-of-use prices."},
                )
            breakdown = pricing.time_of_use_amount(spec, data["quantities"])
        else:
            breakdown = price_quote(price=price, quantity=data["quantity"])
        # quote_data already has the QuoteOutput shape (the schema documents it); no second serializer pass.
        return Response(quote_data(price=price, breakdown=breakdown))


# --- coupons ------------------------------------------------------------------------------


class CouponListApi(ApiView):
    queryset = Coupon.objects.prefetch_related("applies_to_plans", "applies_to_products")
    filterset_class = filters.CouponFilter
    output_serializer = CouponOutput

    @extend_schema(tags=["Coupons"], summary="List coupons", responses=responses(200, CouponOutput(many=True), 400))
    def get(self, request):
        return self.list_page()

    @extend_schema(
        tags=["Coupons"], summary="Create a coupon", request=CouponInput, responses=responses(201, CouponOutput, 400)
    )
    def post(self, request):
        coupon = coupon_create(actor=self.actor(), now=clock.now(), **self.validated(CouponInput))
        return self.output(coupon, status_code=status.HTTP_201_CREATED)


class CouponDetailApi(ApiView):
    queryset = Coupon.objects.prefetch_related("applies_to_plans", "applies_to_products")
    output_serializer = CouponOutput

    @extend_schema(tags=["Coupons"], summary="Get a coupon", responses=responses(200, CouponOutput, 404))
    def get(self, request, pk: int):
        return self.output(self.get_object())

    @extend_schema(
        tags=["Coupons"],
        summary="Change a coupon",
        description="Once redeemed, only name, redeem_by, max_redemptions and active can change (`coupon_redeemed`).",
        request=CouponInput,
        responses=responses(200, CouponOutput, 400, 404),
    )
    def patch(self, request, pk: int):
        coupon = self.get_object()
        changes = self.validated(CouponInput, partial=True)
        return self.output(coupon_update(coupon=coupon, actor=self.actor(), now=clock.now(), **changes))


class PromotionCodeListApi(ApiView):
    """The promotion codes of one coupon."""

    queryset = Coupon.objects.all()
    output_serializer = PromotionCodeOutput

    @extend_schema(
        tags=["Coupons"],
        summary="List a coupon's promotion codes",
        responses=responses(200, PromotionCodeOutput(many=True), 404),
    )
    def get(self, request, pk: int):
        return self.list_page(self.get_object().promotion_codes.all())

    @extend_schema(
        tags=["Coupons"],
        summary="Create a promotion code for a coupon",
        request=PromotionCodeInput,
        responses=responses(201, PromotionCodeOutput, 400, 404),
    )
    def post(self, request, pk: int):
        coupon = self.get_object()
        data = self.validated(PromotionCodeInput)
        promo = promotion_code_create(actor=self.actor(), now=clock.now(), coupon=coupon, **data)
        return self.output(promo, status_code=status.HTTP_201_CREATED)


# --- tax rates ----------------------------------------------------------------------------


class TaxRateListApi(ApiView):
    queryset = TaxRate.objects.all()
    filterset_class = filters.TaxRateFilter
    output_serializer = TaxRateOutput

    @extend_schema(
        tags=["Tax rates"], summary="List tax rates", responses=responses(200, TaxRateOutput(many=True), 400)
    )
    def get(self, request):
        return self.list_page()

    @extend_schema(
        tags=["Tax rates"],
        summary="Create a tax rate",
        request=TaxRateInput,
        responses=responses(201, TaxRateOutput, 400),
    )
    def post(self, request):
        rate = tax_rate_create(actor=self.actor(), now=clock.now(), **self.validated(TaxRateInput))
        return self.output(rate, status_code=status.HTTP_201_CREATED)


class TaxRateDetailApi(ApiView):
    queryset = TaxRate.objects.all()
    output_serializer = TaxRateOutput

    @extend_schema(tags=["Tax rates"], summary="Get a tax rate", responses=responses(200, TaxRateOutput, 404))
    def get(self, request, pk: int):
        return self.output(self.get_object())

    @extend_schema(
        tags=["Tax rates"],
        summary="Change a tax rate",
        description="Finalized invoices keep the rate they were issued with; a change only affects new invoices.",
        request=TaxRateInput,
        responses=responses(200, TaxRateOutput, 400, 404),
    )
    def patch(self, request, pk: int):
        rate = self.get_object()
        changes = self.validated(TaxRateInput, partial=True)
        return self.output(tax_rate_update(tax_rate=rate, actor=self.actor(), now=clock.now(), **changes))
