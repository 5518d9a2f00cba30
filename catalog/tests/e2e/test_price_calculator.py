"""A pricing person builds a graduated price in a real browser and checks it with the calculator.

Drives Debian's Chromium (``/usr/bin/chromium``) with Playwright; no browser is downloaded.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from catalog.models import Price
from catalog.tests.factories import make_product

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path("/tmp/e2e-calculator.png")  # noqa: S108 - where the team looks for it

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium package at /usr/bin/chromium"),
]


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; Django's ORM must still be usable here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            browser.close()


def test_pricing_user_builds_a_graduated_price_and_checks_it_in_the_calculator(
    live_server, transactional_db, pricing_user, browser_page
):
    """The role groups exist whatever ran before: a transactional test's flush re-creates them (post_migrate)."""
    from playwright.sync_api import expect

    page = browser_page
    make_product(name="Team seats", unit_label="seat")

    # Log in at /admin/ like anyone would.
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("pricing")
    page.get_by_label("Password").fill("pw-for-tests-only")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Billing back-office")).to_be_visible()

    # Catalog → Prices → Add price.
    page.get_by_role("link", name="Prices", exact=True).click()
    page.get_by_role("link", name=re.compile("Add price", re.I)).click()
    page.get_by_label("Product").select_option(label="Team seats")
    page.get_by_label("Pricing model").select_option(value="graduated")
    expect(page.get_by_label("Unit amount", exact=True)).to_be_hidden()  # not used by tiered prices

    tiers = page.locator("#tiers-group")
    rows = [("5", "7.00"), ("10", "6.50"), ("", "6.00")]
    for index, (up_to, unit_amount) in enumerate(rows):
        if index > 0:
            tiers.get_by_role("button", name="Add another Tier").click()
        page.locator(f"#id_tiers-{index}-up_to").fill(up_to)
        page.locator(f"#id_tiers-{index}-unit_amount").fill(unit_amount)
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    price = Price.objects.get()
    assert [(t.up_to, str(t.unit_amount.normalize())) for t in price.tiers.all()] == [
        (5, "7"),
        (10, "6.5"),
        (None, "6"),
    ]

    # Open the price, then its calculator; 12 seats cost 79.50.
    page.get_by_role("link", name=str(price)).first.click()
    page.get_by_role("link", name="Price calculator").click()
    page.get_by_label("Quantity").fill("12")
    page.get_by_role("button", name="Calculate").click()

    expect(page.locator(".catalog-total")).to_contain_text("79.50")
    breakdown = page.locator("table.catalog-breakdown tbody tr")
    expect(breakdown).to_have_count(3)
    expect(breakdown.nth(0)).to_contain_text("Tier 1 (1–5)")
    expect(breakdown.nth(2)).to_contain_text("€12.00")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert os.path.getsize(SCREENSHOT) > 0
