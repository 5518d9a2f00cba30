"""Staff roles as Django groups with least-privilege permissions.

The groups are created by a migration (billing_site 0002) and kept in step after every migrate,
so a model added by a later app gets its role permissions without a hand-written step.
"""

from __future__ import annotations

PRICING = "Pricing"
FINANCE = "Finance"
SUPPORT = "Support"
APPROVER = "Approver"

CUSTOMER_MODELS = ["customer", "subscription", "subscriptionitem", "scheduledchange", "pendingline", "usagealert"]
CUSTOMER_READ_ONLY = ["usageevent", "usagealertcrossing", "testclock"]
CATALOG_EDITABLE = ["product", "billablemetric", "plan", "planversion", "price", "coupon", "promotioncode"]
CATALOG_ALL = [*CATALOG_EDITABLE, "tier", "ratewindow", "taxrate"]
#: What Support and Approvers read of invoicing to explain an invoice or judge a credit note.
INVOICING_READ = ["invoice", "creditnote", "customerentity", "balancetransaction"]
#: What Support reads of collection to explain a failed payment: the chase, the tries, the money, the card.
COLLECTION_READ = ["dunningcase", "paymentattempt", "payment", "paymentmethod"]
#: Collection and dunning: written by services only, so finance reads all of it and sets the dunning policies.
COLLECTION_ALL = [*COLLECTION_READ, "refund", "webhookevent", "plandunningpolicy", "customerdunningpolicy"]


def _perms(app: str, models: list[str], actions: list[str]) -> set[str]:
    return {f"{app}.{action}_{model}" for model in models for action in actions}


# app_label.codename per role. Support reads; Pricing edits the catalog but never invoices;
# Finance maintains tax rates too and owns invoicing (legal entities, invoices, credit notes, the billing
# run: "add invoice" covers one-off invoices and "Run billing now"); Support explains invoices and issues
# credit notes (above the entity's limit they wait for an Approver); Approver reads and approves.
# Collection (payment methods, attempts, payments, refunds, dunning cases) is written by services only:
# Finance reads all of it and sets the dunning policies (who follows which is part of the policy's page);
# Support reads what explains a failed payment; Pricing and Approvers see none of it.
ROLE_PERMISSIONS: dict[str, set[str]] = {
    PRICING: (
        _perms("catalog", CATALOG_EDITABLE, ["view", "add", "change"])
        | _perms("catalog", ["tier", "ratewindow"], ["view", "add", "change", "delete"])
        | _perms("catalog", ["planversion", "price"], ["delete"])
        | _perms("catalog", ["taxrate"], ["view", "add", "change"])
        | _perms("subscriptions", CUSTOMER_MODELS + CUSTOMER_READ_ONLY, ["view"])
        | {"billing_site.view_auditevent"}
    ),
    FINANCE: (
        _perms("catalog", CATALOG_ALL, ["view"])
        | _perms("catalog", ["taxrate"], ["add", "change"])
        | _perms("subscriptions", CUSTOMER_MODELS + CUSTOMER_READ_ONLY, ["view"])
        | _perms("subscriptions", CUSTOMER_MODELS, ["add", "change"])
        | _perms("subscriptions", ["testclock"], ["add", "change", "delete"])
        | _perms("invoicing", ["billingentity"], ["view", "add", "change"])
        | _perms("invoicing", ["customerentity", "invoice"], ["view", "add", "change", "delete"])
        | _perms("invoicing", ["creditnote"], ["view", "add"])
        | _perms("invoicing", ["payment"], ["add"])  # bank transfers: import a bank statement
        | _perms("invoicing", ["balancetransaction", "emaillog"], ["view"])
        | _perms("invoicing", ["webhookevent"], ["view", "change"])  # "change": retry a failed webhook event
        | _perms("invoicing", COLLECTION_ALL, ["view"])
        | _perms("invoicing", ["dunningpolicy"], ["view", "add", "change", "delete"])
        | {"billing_site.view_auditevent", "billing_site.view_approvalrequest"}
    ),
    # Support finds customers and pauses or resumes a subscription, but changes no prices.
    SUPPORT: (
        _perms("catalog", CATALOG_ALL, ["view"])
        | _perms("subscriptions", CUSTOMER_MODELS + CUSTOMER_READ_ONLY, ["view"])
        | _perms("subscriptions", ["customer", "subscription"], ["change"])
        | _perms("invoicing", [*INVOICING_READ, "emaillog", *COLLECTION_READ], ["view"])
        | _perms("invoicing", ["creditnote"], ["add"])
        | {"billing_site.view_auditevent", "billing_site.view_approvalrequest"}
    ),
    APPROVER: (
        _perms("catalog", CATALOG_ALL, ["view"])
        | _perms("subscriptions", CUSTOMER_MODELS + CUSTOMER_READ_ONLY, ["view"])
        | _perms("invoicing", INVOICING_READ, ["view"])
        | {"billing_site.view_auditevent", "billing_site.view_approvalrequest", "billing_site.decide_approvalrequest"}
    ),
}


def sync_roles(apps) -> None:
    """Create the groups and give each exactly its permissions (those that exist yet)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    app_labels = {label.split(".", 1)[0] for wanted in ROLE_PERMISSIONS.values() for label in wanted}
    existing = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.filter(content_type__app_label__in=app_labels).values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    for role, wanted in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([existing[label] for label in sorted(wanted) if label in existing])


def sync_roles_after_migrate(sender, apps=None, **kwargs) -> None:
    """After the last app's permissions exist (post_migrate runs per app, in INSTALLED_APPS order)."""
    from django.apps import apps as global_apps

    if sender.label != list(global_apps.get_app_configs())[-1].label:
        return
    # After ``flush`` (transactional tests, live-server tests) Django sends no ``apps``.
    sync_roles(apps or global_apps)
