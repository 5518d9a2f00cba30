"""The four staff roles exist after migrate, each with exactly its least-privilege permissions."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission

from billing_site.roles import sync_roles

pytestmark = pytest.mark.django_db

CATALOG_MODELS = [
    "product",
    "billablemetric",
    "plan",
    "planversion",
    "price",
    "tier",
    "ratewindow",
    "coupon",
    "promotioncode",
    "taxrate",
]
CATALOG_READ = {f"catalog.view_{model}" for model in CATALOG_MODELS}
AUDIT_READ = {"billing_site.view_auditevent"}
CUSTOMER_MODELS = ["customer", "subscription", "subscriptionitem", "scheduledchange", "pendingline", "usagealert"]
CUSTOMERS_READ = {
    f"subscriptions.view_{model}" for model in [*CUSTOMER_MODELS, "usageevent", "usagealertcrossing", "testclock"]
}

APPROVALS_READ = {"billing_site.view_approvalrequest"}
INVOICING_READ = {
    f"invoicing.view_{model}" for model in ["invoice", "creditnote", "customerentity", "balancetransaction"]
}
COLLECTION_READ = {f"invoicing.view_{m}" for m in ["dunningcase", "paymentattempt", "payment", "paymentmethod"]}

EXPECTED = {
    "Support": CATALOG_READ
    | AUDIT_READ
    | CUSTOMERS_READ
    | {"subscriptions.change_customer", "subscriptions.change_subscription"}
    | INVOICING_READ
    | {"invoicing.view_emaillog", "invoicing.add_creditnote"}
    | COLLECTION_READ
    | APPROVALS_READ,
    "Approver": CATALOG_READ
    | AUDIT_READ
    | CUSTOMERS_READ
    | INVOICING_READ
    | APPROVALS_READ
    | {"billing_site.decide_approvalrequest"},
    "Finance": CATALOG_READ
    | AUDIT_READ
    | CUSTOMERS_READ
    | {"catalog.add_taxrate", "catalog.change_taxrate"}
    | {f"subscriptions.{action}_{model}" for model in CUSTOMER_MODELS for action in ["add", "change"]}
    | {"subscriptions.add_testclock", "subscriptions.change_testclock", "subscriptions.delete_testclock"}
    | {f"invoicing.{action}_billingentity" for action in ["view", "add", "change"]}
    | {f"invoicing.{a}_{m}" for m in ["customerentity", "invoice"] for a in ["view", "add", "change", "delete"]}
    | {"invoicing.view_creditnote", "invoicing.add_creditnote"}
    | {"invoicing.view_balancetransaction", "invoicing.view_emaillog"}
    | {"invoicing.add_payment"}  # bank statement import
    | COLLECTION_READ
    | {f"invoicing.view_{m}" for m in ["refund", "webhookevent", "plandunningpolicy", "customerdunningpolicy"]}
    | {"invoicing.change_webhookevent"}  # retry a failed webhook event
    | {f"invoicing.{a}_dunningpolicy" for a in ["view", "add", "change", "delete"]}
    | APPROVALS_READ,
    "Pricing": CATALOG_READ
    | AUDIT_READ
    | CUSTOMERS_READ
    | {
        f"catalog.{action}_{model}"
        for model in ["product", "billablemetric", "plan", "planversion", "price", "coupon", "promotioncode", "taxrate"]
        for action in ["add", "change"]
    }
    | {f"catalog.{action}_{model}" for model in ["tier", "ratewindow"] for action in ["add", "change", "delete"]}
    | {"catalog.delete_planversion", "catalog.delete_price"},
}


def role_permissions(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_role_has_exactly_its_permissions(role):
    assert role_permissions(role) == EXPECTED[role]


def test_exactly_the_four_roles_exist():
    assert set(Group.objects.values_list("name", flat=True)) == {"Pricing", "Finance", "Support", "Approver"}


def test_support_reads_but_cannot_change_prices():
    support = role_permissions("Support")
    assert "catalog.view_price" in support
    assert {"catalog.change_price", "catalog.add_price", "catalog.delete_price"}.isdisjoint(support)


def test_pricing_changes_prices_and_tax_rates_but_not_api_keys():
    pricing = role_permissions("Pricing")
    assert {"catalog.change_price", "catalog.add_taxrate", "catalog.change_taxrate"} <= pricing
    assert "catalog.delete_taxrate" not in pricing
    assert not [perm for perm in pricing if perm.startswith("billing_site.") and "apikey" in perm]


def test_finance_changes_tax_rates_but_not_prices():
    finance = role_permissions("Finance")
    assert {"catalog.add_taxrate", "catalog.change_taxrate"} <= finance
    assert {"catalog.change_price", "catalog.add_price"}.isdisjoint(finance)


def test_no_role_manages_api_keys_or_edits_the_audit_trail():
    for role in EXPECTED:
        platform = {perm for perm in role_permissions(role) if perm.startswith("billing_site.")}
        assert platform <= {
            "billing_site.view_auditevent",
            "billing_site.view_approvalrequest",
            "billing_site.decide_approvalrequest",
        }, role
        assert "billing_site.view_auditevent" in platform, role


def test_only_approvers_decide_and_nobody_edits_approval_requests():
    for role in EXPECTED:
        permissions = role_permissions(role)
        assert ("billing_site.decide_approvalrequest" in permissions) == (role == "Approver"), role
        assert not {
            p
            for p in permissions
            if p.endswith("_approvalrequest") and not p.split(".")[1].startswith(("view", "decide"))
        }


def test_pricing_has_nothing_of_invoicing():
    assert not [perm for perm in role_permissions("Pricing") if perm.startswith("invoicing.")]
    assert "billing_site.view_approvalrequest" not in role_permissions("Pricing")


def test_finance_runs_invoicing_support_reads_it_and_credits():
    finance, support = role_permissions("Finance"), role_permissions("Support")
    assert {"invoicing.change_billingentity", "invoicing.add_invoice", "invoicing.change_invoice"} <= finance
    assert {"invoicing.view_invoice", "invoicing.view_emaillog", "invoicing.add_creditnote"} <= support
    assert {"invoicing.view_billingentity", "invoicing.change_invoice", "invoicing.add_invoice"}.isdisjoint(support)
    # Nobody edits or deletes issued documents or the balance ledger in the admin.
    for role in EXPECTED:
        assert {"invoicing.change_creditnote", "invoicing.delete_creditnote"}.isdisjoint(role_permissions(role))
        assert not [p for p in role_permissions(role) if p.endswith("_balancetransaction") and "view" not in p]


def test_sync_roles_is_idempotent():
    before = {role: role_permissions(role) for role in EXPECTED}
    group_ids = dict(Group.objects.values_list("name", "pk"))

    sync_roles(apps)
    sync_roles(apps)

    assert {role: role_permissions(role) for role in EXPECTED} == before
    assert dict(Group.objects.values_list("name", "pk")) == group_ids


def test_sync_roles_resets_local_changes_to_a_role():
    support = Group.objects.get(name="Support")
    support.permissions.add(Permission.objects.get(content_type__app_label="catalog", codename="change_price"))
    Group.objects.filter(name="Approver").delete()

    sync_roles(apps)

    assert role_permissions("Support") == EXPECTED["Support"]
    assert role_permissions("Approver") == EXPECTED["Approver"]
