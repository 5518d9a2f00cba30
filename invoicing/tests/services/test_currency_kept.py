"""Every amount of a document shares its currency column: an amount left at its default must not
overwrite it with the default currency (a SEK invoice once came out in EUR)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from invoicing.models import DunningCase, Invoice, InvoiceLine
from invoicing.services.drafts import invoice_create_manual
from invoicing.tests.factories import ACTOR, make_tax_rate
from subscriptions.tests.factories import make_customer, utc

pytestmark = pytest.mark.django_db


def test_a_swedish_customers_invoice_and_its_lines_stay_in_kronor():
    make_tax_rate("SE", "25")
    customer = make_customer(name="Nordlys Design AB", country="SE", currency="SEK")

    invoice = invoice_create_manual(
        customer=customer,
        lines=[{"description": "Design", "unit_amount": "1000.00"}],
        actor=ACTOR,
        now=utc(2026, 1, 15),
    )

    stored = Invoice.objects.get(pk=invoice.pk)
    assert (stored.currency, str(stored.total.currency), stored.total.amount) == ("SEK", "SEK", D("1250.00"))
    assert list(InvoiceLine.objects.filter(invoice=stored).values_list("currency", flat=True)) == ["SEK"]


def test_a_model_built_with_a_currency_keeps_it():
    assert Invoice(currency="USD").currency == "USD"
    assert str(Invoice(currency="USD").amount_due.currency) == "USD"
    assert DunningCase(currency="SEK").currency == "SEK"
