"""Shared set-up of the invoicing API tests: a frozen clock, PDFs in a temporary folder, NL VAT 21%."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_site import clock
from catalog.services.tax_rates import tax_rate_create
from subscriptions.tests.factories import ACTOR, T0, make_customer, utc

JAN_15 = utc(2026, 1, 15, 9, 30)


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen_at(JAN_15):
        yield JAN_15


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Stored PDFs go to a temporary folder."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def vat():
    """NL 21% on standard products, exclusive: 100.00 + 21.00 = 121.00."""
    return tax_rate_create(
        actor=ACTOR,
        now=T0,
        name="VAT 21%",
        country="NL",
        percentage=Decimal(21),
        category="standard",
        product_tax_category="standard",
    )


@pytest.fixture
def customer():
    return make_customer(name="Globex B.V.")
