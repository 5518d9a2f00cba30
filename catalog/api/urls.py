"""Catalog resources under /api/v1/. Every route answers with and without a trailing slash."""

from __future__ import annotations

from django.urls import URLPattern, path

from catalog.api import views


def route(pattern: str, view: type[views.CatalogApi], name: str) -> list[URLPattern]:
    """``pattern`` and ``pattern/``; only the first is documented (``schema = None`` hides the twin)."""
    twin = type(view.__name__, (view,), {"schema": None, "__doc__": view.__doc__})
    return [path(pattern, view.as_view(), name=name), path(f"{pattern}/", twin.as_view())]


urlpatterns = [
    *route("products", views.ProductListApi, "product-list"),
    *route("products/<int:pk>", views.ProductDetailApi, "product-detail"),
    *route("metrics", views.MetricListApi, "metric-list"),
    *route("metrics/<int:pk>", views.MetricDetailApi, "metric-detail"),
    *route("plans", views.PlanListApi, "plan-list"),
    *route("plans/<int:pk>", views.PlanDetailApi, "plan-detail"),
    *route("plans/<int:pk>/versions", views.PlanVersionListApi, "plan-version-list"),
    *route("plan-versions/<int:pk>", views.PlanVersionDetailApi, "plan-version-detail"),
    *route("plan-versions/<int:pk>/publish", views.PlanVersionPublishApi, "plan-version-publish"),
    *route("plan-versions/<int:pk>/archive", views.PlanVersionArchiveApi, "plan-version-archive"),
    *route("prices", views.PriceListApi, "price-list"),
    *route("prices/<int:pk>", views.PriceDetailApi, "price-detail"),
    *route("prices/<int:pk>/quote", views.PriceQuoteApi, "price-quote"),
    *route("coupons", views.CouponListApi, "coupon-list"),
    *route("coupons/<int:pk>", views.CouponDetailApi, "coupon-detail"),
    *route("coupons/<int:pk>/promotion-codes", views.PromotionCodeListApi, "promotion-code-list"),
    *route("tax-rates", views.TaxRateListApi, "tax-rate-list"),
    *route("tax-rates/<int:pk>", views.TaxRateDetailApi, "tax-rate-detail"),
]
