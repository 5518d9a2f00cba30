import pytest
from decimal import Decimal as D
from catalog.services.tax_rates import tax_rate_create
from catalog.tests.factories import ACTOR, T0
from subscriptions.tests.factories import make_customer, make_flat_plan, make_subscription, utc
from invoicing.models import Invoice
from invoicing.services.drafts import invoice_create_manual
from billing_site.actors import Actor

pytestmark = pytest.mark.django_db

def test_x():
    tax_rate_create(actor=ACTOR, now=T0, country="NL", percentage=D("21"), name="VAT 21%", category="standard", product_tax_category="standard", inclusive=False)
    sub = make_subscription(make_customer(name="Alpha"), plan_version=make_flat_plan("79.50"), now=utc(2026,1,15))
    for i in Invoice.objects.all():
        print(i, i.status, i.kind, i.total, i.tax, i.amount_due, i.period_start, i.auto_finalize_at, i.on_hold, i.hold_reason)
        for l in i.lines.all(): print("  ", l.description, l.quantity, l.unit_amount, l.amount, l.tax_name, l.tiers)
    inv = invoice_create_manual(customer=make_customer(name="Beta"), lines=[{"description":"Consulting","quantity":"2","unit_amount":"100.00"}], actor=Actor.system("t"), now=utc(2026,1,16))
    print(inv, inv.total, inv.tax, inv.days_until_due)
