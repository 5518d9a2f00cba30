"""Every catalog admin page opens: changelists, add pages and change pages, for a superuser and for each role."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from catalog.services.coupons import coupon_create, promotion_code_create
from catalog.services.tax_rates import tax_rate_create
from catalog.tests.factories import (
    ACTOR,
    T0,
    draft_version,
    make_graduated_price,
    make_metric,
    make_plan,
    make_price,
    make_published_version,
)

pytestmark = pytest.mark.django_db

CATALOG_MODELS = sorted(
    (model for model in admin.site._registry if model._meta.app_label == "catalog"), key=lambda m: m._meta.model_name
)


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def catalog(db):
    """One of everything, built through the services."""
    published = make_published_version(name="Team")
    make_graduated_price(plan_version=draft_version(make_plan(name="Business")))
    make_price(
        usage_type="metered",
        metric=make_metric(),
        unit_amount=Decimal("0.08"),
        rate_windows=[{"name": "peak", "start_time": time(7), "end_time": time(23), "unit_amount": Decimal("0.15")}],
    )
    make_price(pricing_model="package", package_size=100, unit_amount=Decimal("5.00"))
    make_price(pricing_model="flat", flat_amount=Decimal("10.00"), minimum_amount=Decimal("12.00"))
    coupon = coupon_create(
        actor=ACTOR,
        now=T0,
        code="launch",
        name="Launch 20%",
        discount_type="percent",
        percent_off=Decimal(20),
        applies_to_plans=[published.plan],
    )
    promotion_code_create(actor=ACTOR, now=T0, coupon=coupon, code="SPRING20")
    coupon_create(
        actor=ACTOR,
        now=T0,
        code="ten",
        name="Ten off",
        discount_type="amount",
        amount_off=Decimal(10),
        currency="EUR",
        duration="repeating",
        duration_in_periods=3,
    )
    tax_rate_create(actor=ACTOR, now=T0, name="VAT 21%", country="NL", percentage=Decimal(21))


def test_every_catalog_model_is_registered():
    assert {m._meta.model_name for m in CATALOG_MODELS} >= {
        "product",
        "billablemetric",
        "plan",
        "planversion",
        "price",
        "coupon",
        "promotioncode",
        "taxrate",
    }


@pytest.mark.parametrize("model", CATALOG_MODELS, ids=lambda m: m._meta.model_name)
def test_changelist_and_add_page_open_for_a_superuser(admin_client, catalog, model):
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client.get(admin_url(model, "changelist"), {"q": "a"}).status_code == 200
    assert admin_client.get(admin_url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", CATALOG_MODELS, ids=lambda m: m._meta.model_name)
def test_every_change_page_opens_for_a_superuser(admin_client, catalog, model):
    objects = list(model.objects.all())
    assert objects
    for obj in objects:
        response = admin_client.get(admin_url(model, "change", obj.pk))
        assert response.status_code == 200, obj
        assert ".000000000000" not in response.text, obj


@pytest.mark.parametrize("role", ["pricing_user", "finance_user", "support_user", "approver_user"])
def test_every_role_can_browse_the_catalog(client, catalog, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("admin:index")).status_code == 200
    for model in CATALOG_MODELS:
        assert client.get(admin_url(model, "changelist")).status_code == 200, model
        for obj in model.objects.all():
            assert client.get(admin_url(model, "change", obj.pk)).status_code == 200, obj


def test_pricing_cannot_see_api_keys(client, pricing_user):
    client.force_login(pricing_user)
    assert client.get("/admin/billing_site/apikey/").status_code == 403
    assert "API keys" not in client.get(reverse("admin:index")).text
