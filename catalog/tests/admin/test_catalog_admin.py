"""Products, metrics, coupons and tax rates: saved through the services, refused with the service's words."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from billing_site.models import AuditEvent
from catalog.models import BillableMetric, Coupon, Product, PromotionCode, TaxRate
from catalog.services.coupons import coupon_create
from catalog.tests.admin.forms import inline
from catalog.tests.factories import ACTOR, T0, make_graduated_price, make_metric, make_plan, make_product

pytestmark = pytest.mark.django_db


def test_product_is_created_and_changed_through_the_service(client, pricing_user):
    client.force_login(pricing_user)

    created = client.post(
        reverse("admin:catalog_product_add"),
        {"name": "Seats", "description": "", "unit_label": "seat", "tax_category": "standard", "active": "on"},
    )
    product = Product.objects.get(name="Seats")
    changed = client.post(
        reverse("admin:catalog_product_change", args=[product.pk]),
        {"name": "Team seats", "description": "", "unit_label": "seat", "tax_category": "standard", "active": "on"},
    )

    assert (created.status_code, changed.status_code) == (302, 302)
    product.refresh_from_db()
    assert product.name == "Team seats"
    events = AuditEvent.objects.filter(object_type="catalog.product", object_id=str(product.pk), actor_kind="staff")
    update = events.get(action="product.updated")
    assert update.after["name"] == "Team seats"
    assert update.before["name"] == "Seats"
    assert events.count() == 2


def test_support_cannot_change_a_product(client, support_user):
    client.force_login(support_user)
    product = make_product(name="Seats")

    response = client.post(
        reverse("admin:catalog_product_change", args=[product.pk]),
        {"name": "Hacked", "description": "", "unit_label": "", "tax_category": "standard", "active": "on"},
    )

    assert response.status_code == 403
    product.refresh_from_db()
    assert product.name == "Seats"


def metric_form(**changes):
    return {
        "name": "API calls",
        "code": "api_calls",
        "description": "",
        "aggregation": "sum",
        "property": "",
        "filters": "{}",
        "active": "on",
        **changes,
    }


def test_metric_with_bad_filters_is_refused_on_the_filters_field(client, pricing_user):
    client.force_login(pricing_user)

    response = client.post(reverse("admin:catalog_billablemetric_add"), metric_form(filters='{"region": "eu"}'))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["filters"] == ['Use {"property": ["value", …]}.']
    assert "Property filters must map a property name to a list of values" in response.text
    assert not BillableMetric.objects.exists()


def test_metric_counting_events_reads_no_property(client, pricing_user):
    client.force_login(pricing_user)

    response = client.post(
        reverse("admin:catalog_billablemetric_add"), metric_form(aggregation="count", property="minutes")
    )

    assert response.status_code == 200
    assert "property" in response.context["adminform"].form.errors
    assert not BillableMetric.objects.exists()


def test_metric_used_by_published_prices_keeps_how_it_counts(client, pricing_user):
    """A rule only the update service knows: the dry run finds it before anything is saved."""
    client.force_login(pricing_user)
    metric = make_metric(code="minutes", name="Minutes")
    from catalog.services.plans import plan_version_publish
    from catalog.tests.factories import draft_version, make_price

    version = draft_version()
    make_price(plan_version=version, usage_type="metered", metric=metric, unit_amount=Decimal("0.10"))
    plan_version_publish(version=version, actor=ACTOR, now=T0)

    response = client.post(
        reverse("admin:catalog_billablemetric_change", args=[metric.pk]),
        metric_form(name="Minutes", code="minutes", aggregation="max"),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["aggregation"] == ["Used by published prices."]
    assert "is used by published prices" in response.text
    metric.refresh_from_db()
    assert metric.aggregation == "sum"


def coupon_form(**changes):
    return {
        "name": "Spring",
        "code": "spring",
        "active": "on",
        "discount_type": "percent",
        "percent_off": "20",
        "amount_off": "",
        "currency": "",
        "duration": "once",
        "duration_in_periods": "",
        "redeem_by_0": "",
        "redeem_by_1": "",
        "max_redemptions": "",
        **changes,
    }


def test_coupon_with_promotion_codes_is_created_through_the_services(client, pricing_user):
    client.force_login(pricing_user)
    plan = make_plan()
    codes = [
        {"code": "spring20", "active": "on", "expires_at_0": "", "expires_at_1": "", "max_redemptions": "100"},
        {"code": "SPRINGVIP", "active": "on", "expires_at_0": "", "expires_at_1": "", "max_redemptions": ""},
    ]

    response = client.post(
        reverse("admin:catalog_coupon_add"),
        {**coupon_form(applies_to_plans=[plan.pk]), **inline("promotion_codes", codes)},
    )

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    coupon = Coupon.objects.get(code="spring")
    assert list(coupon.applies_to_plans.all()) == [plan]
    assert sorted(coupon.promotion_codes.values_list("code", "max_redemptions")) == [
        ("SPRING20", 100),
        ("SPRINGVIP", None),
    ]
    assert AuditEvent.objects.filter(action="promotion_code.created", actor_kind="staff").count() == 2
    assert AuditEvent.objects.filter(action="coupon.created", actor_kind="staff").count() == 1


def test_a_taken_promotion_code_is_shown_on_its_row_and_nothing_is_saved(client, pricing_user):
    client.force_login(pricing_user)
    other = coupon_create(
        actor=ACTOR, now=T0, code="other", name="Other", discount_type="percent", percent_off=Decimal(5)
    )
    from catalog.services.coupons import promotion_code_create

    promotion_code_create(actor=ACTOR, now=T0, coupon=other, code="TAKEN")
    codes = [{"code": "fresh", "active": "on"}, {"code": "taken", "active": "on"}]

    response = client.post(reverse("admin:catalog_coupon_add"), {**coupon_form(), **inline("promotion_codes", codes)})

    assert response.status_code == 200
    rows = next(f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "promotion_codes")
    assert rows.formset.forms[1].errors == {"code": ["Already used."], "__all__": ["The code TAKEN already exists."]}
    assert "The code TAKEN already exists." in response.text
    assert not Coupon.objects.filter(code="spring").exists()
    assert list(PromotionCode.objects.values_list("code", flat=True)) == ["TAKEN"]


def test_fixed_amount_coupon_needs_amount_and_currency(client, pricing_user):
    client.force_login(pricing_user)

    response = client.post(
        reverse("admin:catalog_coupon_add"),
        {**coupon_form(discount_type="amount", percent_off="", amount_off="10"), **inline("promotion_codes", [])},
    )

    assert response.status_code == 200
    assert "A fixed-amount coupon needs the amount off and its currency." in response.text
    errors = response.context["adminform"].form.errors
    assert errors["currency"] == ["Required."]
    assert not Coupon.objects.exists()


def test_editing_only_a_promotion_code_leaves_the_coupon_alone(client, pricing_user):
    client.force_login(pricing_user)
    coupon = coupon_create(
        actor=ACTOR, now=T0, code="spring", name="Spring", discount_type="percent", percent_off=Decimal(20)
    )
    before = AuditEvent.objects.filter(action="coupon.updated").count()

    response = client.post(
        reverse("admin:catalog_coupon_change", args=[coupon.pk]),
        {**coupon_form(), **inline("promotion_codes", [{"code": "NEW10", "active": "on"}])},
    )

    assert response.status_code == 302
    assert list(coupon.promotion_codes.values_list("code", flat=True)) == ["NEW10"]
    assert AuditEvent.objects.filter(action="coupon.updated").count() == before


def tax_rate_form(**changes):
    return {
        "name": "VAT 0%",
        "country": "nl",
        "region": "",
        "percentage": "0",
        "category": "standard",
        "product_tax_category": "standard",
        "exemption_reason": "",
        "active": "on",
        **changes,
    }


def test_finance_adds_a_tax_rate(client, finance_user):
    client.force_login(finance_user)

    response = client.post(reverse("admin:catalog_taxrate_add"), tax_rate_form(name="VAT 21%", percentage="21"))

    assert response.status_code == 302
    rate = TaxRate.objects.get()
    assert (rate.country, rate.percentage) == ("NL", Decimal(21))
    assert AuditEvent.objects.filter(action="tax_rate.created", actor_kind="staff").exists()


def test_reverse_charge_without_reason_is_refused_on_the_field(client, finance_user):
    client.force_login(finance_user)

    response = client.post(reverse("admin:catalog_taxrate_add"), tax_rate_form(category="reverse_charge"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["exemption_reason"] == ["Required for this category."]
    assert not TaxRate.objects.exists()


def test_finance_cannot_change_prices(client, finance_user):
    client.force_login(finance_user)
    price = make_graduated_price()

    page = client.get(reverse("admin:catalog_price_change", args=[price.pk]))

    assert page.status_code == 200
    assert 'name="_save"' not in page.text
    assert client.get(reverse("admin:catalog_price_add")).status_code == 403


def test_a_taken_metric_code_is_refused_on_the_code_field(client, pricing_user):
    client.force_login(pricing_user)
    make_metric(code="api_calls")

    response = client.post(reverse("admin:catalog_billablemetric_add"), metric_form())

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["code"] == ["Usage metric with this Code already exists."]
    assert BillableMetric.objects.count() == 1


def test_every_editable_field_has_help_text(rf, admin_user):
    """Non-technical staff read the help under each field; every catalog form has some."""
    from django.contrib import admin

    request = rf.get("/")
    request.user = admin_user
    missing = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "catalog":
            continue
        form = model_admin.get_form(request, None, change=False)
        missing += [f"{model.__name__}.{name}" for name, field in form.base_fields.items() if not field.help_text]
        for inline_admin in model_admin.get_inline_instances(request, None):
            formset = inline_admin.get_formset(request, None)
            missing += [
                f"{inline_admin.model.__name__}.{name}"
                for name, field in formset.form.base_fields.items()
                if not field.help_text and name not in ("id", "DELETE", "price", "coupon")
            ]
    assert missing == []
