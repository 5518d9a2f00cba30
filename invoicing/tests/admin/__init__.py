"""Test data for the invoicing admin, made through the real services (and shared with the approvals tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from billing_site.actors import Actor
from catalog.services.tax_rates import tax_rate_create
from invoicing.models import Invoice
from invoicing.services.drafts import invoice_create_manual
from invoicing.services.invoices import invoice_finalize, invoice_mark_paid
from subscriptions.models import Customer
from subscriptions.services.customers import customer_create

ACTOR = Actor.system("admin tests")
D = Decimal


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


#: The wall clock of the admin tests: every button is pressed at this moment.
WALL = utc(2026, 1, 20, 10, 0)
JAN_10, JAN_12, JAN_14, JAN_15 = utc(2026, 1, 10), utc(2026, 1, 12), utc(2026, 1, 14), utc(2026, 1, 15)


def dutch_vat() -> Any:
    """NL 21% standard rate, prices excluding tax."""
    return tax_rate_create(
        actor=ACTOR,
        now=utc(2026, 1, 1),
        name="VAT 21%",
        country="NL",
        percentage=D("21"),
        category="standard",
        product_tax_category="standard",
        inclusive=False,
    )


def make_customer(name: str, email: str, **fields: Any) -> Customer:
    fields.setdefault("country", "NL")
    fields.setdefault("currency", "EUR")
    return customer_create(actor=ACTOR, now=utc(2026, 1, 1), name=name, email=email, **fields)


def one_off(customer: Customer, *lines: tuple[str, str, str], at: datetime = JAN_10, **kwargs: Any) -> Invoice:
    """A one-off draft: each line (description, quantity, unit price), standard tax."""
    return invoice_create_manual(
        customer=customer,
        lines=[
            {"description": d, "quantity": q, "unit_amount": u} for d, q, u in lines or [("Consulting", "2", "100.00")]
        ],
        actor=ACTOR,
        now=at,
        **kwargs,
    )


def finalized(invoice: Invoice, at: datetime = JAN_12) -> Invoice:
    return invoice_finalize(invoice=invoice, actor=ACTOR, now=at)


def paid(invoice: Invoice, at: datetime = JAN_14) -> Invoice:
    return invoice_mark_paid(invoice=invoice, actor=ACTOR, now=at)


def subscription_draft(customer: Customer, amount: str = "79.50", at: datetime = JAN_15) -> Invoice:
    """The first invoice of a monthly flat-fee subscription: a draft made by the billing hook."""
    from subscriptions.services.subscriptions import subscription_create
    from subscriptions.tests.factories import make_flat_plan

    subscription = subscription_create(customer=customer, plan_version=make_flat_plan(amount), actor=ACTOR, now=at)
    return Invoice.objects.get(subscription=subscription)


def totals(invoice: Invoice) -> tuple[Decimal, ...]:
    invoice.refresh_from_db()
    return (
        invoice.subtotal.amount,
        invoice.tax.amount,
        invoice.total.amount,
        invoice.amount_due.amount,
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def listed(response) -> set[int]:
    assert response.status_code == 200, response.status_code
    return {obj.pk for obj in response.context["cl"].result_list}
