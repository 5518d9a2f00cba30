"""Catalog resources under /api/v1/. Every route answers with and without a trailing slash."""

from __future__ import annotations

from billing_site.api.views import route
from catalog.api import views

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
