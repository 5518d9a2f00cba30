"""Load the demo catalog, customers with subscriptions and usage, and the demo staff logins.

Lives in billing_site because it wires the apps together (catalog, then subscriptions). Development
and demos only.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from billing_site import clock
from billing_site.actors import Actor
from billing_site.demo_logins import DEMO_LOGINS
from billing_site.errors import DomainError
from catalog.demo import DemoCatalog, demo_catalog_create, demo_users_create
from catalog.models import BillableMetric, Coupon, Plan, PlanVersionStatus, Price, Product, PromotionCode, TaxRate
from invoicing.demo import demo_cards_add, demo_collection, demo_entities_create, demo_invoices_finalize
from subscriptions.demo import DemoSubscriptions, demo_subscriptions_create

# Any of these means someone already built a catalog: demo data would duplicate or clash with it.
CATALOG_MODELS = [Product, BillableMetric, Plan, Price, Coupon, PromotionCode, TaxRate]


def catalog_contents() -> dict[str, int]:
    """What the catalog already holds, e.g. {"products": 3}; empty when there is nothing."""
    counts = {}
    for model in CATALOG_MODELS:
        count = model.objects.count()
        if count:
            counts[str(model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural)] = count
    return counts


class Command(BaseCommand):
    help = (
        "Load the demo catalog (products, plans, prices, coupons, tax rates), demo customers with subscriptions "
        "and usage, and the demo staff logins into an empty catalog. Refuses to run on a catalog that already has data, so nothing is ever duplicated."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Load only when the catalog is empty; otherwise do nothing and succeed (what `make run` uses).",
        )

    def handle(self, *args, if_empty: bool, **options):
        if settings.SETTINGS_MODULE.endswith(".production"):
            raise CommandError(
                "seed_demo creates staff logins with publicly known passwords, so it never runs with production "
                "settings."
            )
        actor = Actor.system("seed_demo")
        now = clock.now()
        with transaction.atomic():
            existing = catalog_contents()
            if existing:
                found = ", ".join(f"{count} {name}" for name, count in existing.items())
                if if_empty:
                    self.stdout.write(f"Demo data not loaded: the catalog already has data ({found}). Kept as it is.")
                    return
                raise CommandError(
                    f"The catalog already has data ({found}), so the demo data was not loaded (it would duplicate "
                    "it). To start again from the demo data, use an empty database: for the default SQLite one, "
                    "delete var/db.sqlite3 and run `make run`."
                )
            try:
                built = demo_catalog_create(actor=actor, now=now)
                demo_entities_create(actor=actor, now=now - dt.timedelta(days=30))
                customers = demo_subscriptions_create(actor=actor, now=now)
                demo_cards_add(actor=actor, now=now - dt.timedelta(days=12))
                demo_invoices_finalize(actor=actor, now=now)
                collection = demo_collection(actor=actor, now=now)
            except DomainError as error:
                raise CommandError(f"The demo catalog could not be built: {error.message}") from error
            users = demo_users_create()

        self._summary(built, users, customers)
        self.stdout.write("  payments (simulated cards): " + "; ".join(f"{k}: {v}" for k, v in collection.items()))

    def _summary(self, built: DemoCatalog, users: list[tuple[str, bool]], customers: DemoSubscriptions) -> None:
        """What is in the catalog now (it was empty before, so that is what was created)."""
        plan_prices = Price.objects.filter(plan_version__isnull=False)
        draft_prices = plan_prices.filter(plan_version__status=PlanVersionStatus.DRAFT).count()
        addons = Price.objects.filter(plan_version__isnull=True).count()
        currencies = ", ".join(sorted(set(Price.objects.values_list("currency", flat=True))))
        drafts = ", ".join(str(v) for v in built.draft_versions)
        created = [name for name, was_created in users if was_created]
        kept = [name for name, was_created in users if not was_created]
        out = self.stdout.write
        out(self.style.SUCCESS("Demo data loaded."))
        out(f"  {Product.objects.count()} products, {BillableMetric.objects.count()} usage metrics")
        out(f"  {Plan.objects.count()} plans, each with a published version; drafts to review and publish: {drafts}")
        out(
            f"  {plan_prices.count()} plan prices ({draft_prices} of them in drafts) and {addons} add-on "
            f"price{'' if addons == 1 else 's'}, in {currencies}"
        )
        out(f"  {Coupon.objects.count()} coupons; promotion codes: {', '.join(built.promotion_codes)}")
        out(f"  {TaxRate.objects.count()} tax rates")
        out(
            f"  {len(customers.customers)} customers (one on the test clock “Demo: upgrade mid-month”), "
            f"{len(customers.subscriptions)} live subscriptions, {customers.usage_events:,} usage events this period"
        )
        passwords = {username: password for username, password, _ in DEMO_LOGINS}
        if created:
            shared = {passwords[name] for name in created}
            password = f"password {shared.pop()}" if len(shared) == 1 else "passwords as listed by `make run`"
            out(f"  staff logins created: {', '.join(created)} ({password})")
        if kept:
            out(f"  staff logins that already existed and were left unchanged: {', '.join(kept)}")
