import os
from pathlib import Path

import pytest

from invoicing.tests.admin import dutch_vat, finalized, make_customer, one_off, subscription_draft, utc
from invoicing.services.credit_notes import credit_note_create
from billing_site.actors import Actor

OUT = Path("/tmp/scratch/shots")


@pytest.fixture
def browser_page(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="en-GB")
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            browser.close()


def test_shots(live_server, transactional_db, django_db_serialized_rollback, finance_user, approver_user, browser_page, _default_billing_entity):
    OUT.mkdir(parents=True, exist_ok=True)
    _default_billing_entity.credit_note_approval_above = 100
    _default_billing_entity.save()
    dutch_vat()
    alpha = make_customer("Alpha Trading B.V.", "ap@alpha.example", address_line1="Herengracht 10", postal_code="1015 BA", city="Amsterdam")
    invoice = finalized(one_off(alpha, ("Consulting", "2", "100.00"), ("Setup fee", "1", "50.00"), memo="Thanks"), at=utc(2026, 1, 12))
    credit_note_create(invoice=invoice, lines=[{"invoice_line": invoice.lines.first().pk, "amount": "20.00"}], reason="goodwill", actor=Actor.system("t"), now=utc(2026, 1, 13))
    draft = subscription_draft(alpha)
    page = browser_page
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("finance")
    page.get_by_label("Password").fill("pw-for-tests-only")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/invoicing/invoice/")
    page.screenshot(path=str(OUT / "list.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/invoicing/invoice/{invoice.pk}/change/")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(OUT / "invoice.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/invoicing/invoice/{draft.pk}/change/")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(OUT / "draft.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/invoicing/invoice/{invoice.pk}/credit-note/")
    page.screenshot(path=str(OUT / "credit_form.png"), full_page=True)
    page.locator("#id_lines-1-amount").fill("50.00")
    page.get_by_label("Reason").select_option("billing_error")
    page.get_by_role("button", name="Next: check the credit note").click()
    page.screenshot(path=str(OUT / "credit_check.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/invoicing/invoice/add/")
    page.screenshot(path=str(OUT / "manual.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/subscriptions/customer/{alpha.pk}/change/")
    page.screenshot(path=str(OUT / "customer.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/invoicing/billingentity/{_default_billing_entity.pk}/change/")
    page.screenshot(path=str(OUT / "entity.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/invoicing/invoice/{invoice.pk}/do/void/")
    page.screenshot(path=str(OUT / "void.png"), full_page=True)

    from billing_site.models import ApprovalRequest
    credit_note_create(invoice=invoice, lines=[{"invoice_line": invoice.lines.first().pk, "amount": "150.00"}], reason="goodwill", actor=Actor.staff(finance_user), user=finance_user, now=utc(2026, 1, 14))
    req = ApprovalRequest.objects.get()
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("approver")
    page.get_by_label("Password").fill("pw-for-tests-only")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/billing_site/approvalrequest/")
    page.screenshot(path=str(OUT / "approvals.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/billing_site/approvalrequest/{req.pk}/change/")
    page.screenshot(path=str(OUT / "approval.png"), full_page=True)
    page.get_by_role("button", name="Approve").click()
    page.screenshot(path=str(OUT / "approved.png"), full_page=True)
    note = req.object_id
    page.goto(f"{live_server.url}/admin/invoicing/creditnote/{note}/change/")
    page.screenshot(path=str(OUT / "creditnote.png"), full_page=True)
