"""Demo invoicing: the legal entities (before any subscription, so first invoices have a seller),
then, once the demo subscriptions exist, their first invoices finalized and one credit note."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billing_site.actors import Actor
from invoicing.models import BillingEntity, Invoice, InvoiceStatus
from invoicing.services.billing import billing_run
from invoicing.services.credit_notes import credit_note_create
from invoicing.services.entities import billing_entity_create


def demo_entities_create(*, actor: Actor, now: dt.datetime) -> list[BillingEntity]:
    acme = billing_entity_create(
        actor=actor,
        now=now,
        name="Acme Cloud B.V.",
        address_line1="Keizersgracht 123",
        postal_code="1015 CJ",
        city="Amsterdam",
        country="NL",
        vat_id="NL859999999B01",
        registration_id="KvK 87654321",
        email="billing@acme-cloud.example",
        iban="NL91ABNA0417164300",
        bic="ABNANL2A",
        brand_color="#0F5E9C",
        invoice_footer="Acme Cloud B.V. · Keizersgracht 123, Amsterdam · KvK 87654321 · billing@acme-cloud.example",
        payment_terms_days=14,
        credit_note_approval_above=Decimal("500.00"),
        is_default=True,
    )
    nordic = billing_entity_create(
        actor=actor,
        now=now,
        name="Acme Nordic AB",
        address_line1="Drottninggatan 10",
        postal_code="111 51",
        city="Stockholm",
        country="SE",
        vat_id="SE556677889901",
        registration_id="Org.nr 556677-8899",
        email="fakturor@acme-nordic.example",
        iban="SE4550000000058398257466",
        bic="ESSESESS",
        brand_color="#2E7D32",
        invoice_prefix="SE-",
        credit_note_prefix="SE-CN-",
        time_zone="Europe/Stockholm",
        payment_terms_days=30,
    )
    return [acme, nordic]


def demo_invoices_finalize(*, actor: Actor, now: dt.datetime) -> list[Invoice]:
    """The billing run finalizes the first invoices (their review window has passed) and one gets a credit."""
    billing_run(now=now, actor=actor)
    finalized = list(Invoice.objects.exclude(status=InvoiceStatus.DRAFT).order_by("pk"))
    for invoice in finalized:
        line = invoice.lines.order_by("position").first()
        if invoice.status == InvoiceStatus.OPEN and line is not None and line.amount.amount >= 20:
            credit_note_create(
                invoice=invoice,
                lines=[{"invoice_line": line.pk, "amount": "10.00", "description": f"Goodwill: {line.description}"}],
                reason="goodwill",
                memo="Sorry for the outage on the 3rd.",
                actor=actor,
                now=now,
            )
            break
    return finalized


DEMO_CARDS = {
    "crm-1001": "tok_visa",
    "crm-1002": "tok_expires_next_month",
    "crm-1003": "tok_insufficient_funds",
    "crm-1004": "tok_requires_authentication",
}


def demo_cards_add(*, actor: Actor, now: dt.datetime) -> None:
    """Test cards on file before the first invoices are finalized (Brightside has none: it pays by transfer)."""
    from invoicing.services.payment_methods import payment_method_add
    from subscriptions.models import Customer

    for external_id, token in DEMO_CARDS.items():
        customer = Customer.objects.get(external_id=external_id)
        payment_method_add(customer=customer, token=token, actor=actor, now=now)


def demo_collection(*, actor: Actor, now: dt.datetime) -> dict[str, str]:
    """Charge the first invoices, so that every collection path can be seen in the admin.

    Acme Robotics pays by card; Nordlys' card expires next month; Globex's card is declined for
    insufficient funds (in dunning, one retry made); Jan de Vries' bank asks for 3-D Secure;
    Brightside has no card and pays by bank transfer (a statement to import is written to
    ``var/demo-bank-statement.csv``).
    """
    from invoicing.models import AttemptTrigger
    from invoicing.services.collection import invoice_collect
    from invoicing.services.dunning import collection_run
    from subscriptions.models import Customer

    outcomes: dict[str, str] = {}
    two_days_ago = now - dt.timedelta(days=2)
    for external_id in DEMO_CARDS:
        customer = Customer.objects.get(external_id=external_id)
        for invoice in Invoice.objects.filter(customer=customer, status=InvoiceStatus.OPEN).order_by("pk"):
            attempt = invoice_collect(invoice=invoice, actor=actor, now=two_days_ago, trigger=AttemptTrigger.FINALIZED)
            if attempt is not None:
                outcomes[customer.name] = attempt.get_status_display().lower()
    globex = Customer.objects.get(external_id="crm-1003")
    collection_run(now=now, actor=actor, customers=[globex])  # its first retry, a day after the decline
    outcomes["bank statement to import"] = _demo_bank_statement(now)
    return outcomes


def _demo_bank_statement(now: dt.datetime) -> str:
    """A statement with Brightside's transfer (by its RF reference) and a line that matches nothing."""
    from django.conf import settings

    from subscriptions.models import Customer

    brightside = Customer.objects.get(external_id="crm-1005")
    invoice = Invoice.objects.filter(customer=brightside, status=InvoiceStatus.OPEN).order_by("pk").first()
    if invoice is None:
        return "no open invoice to pay"
    path = settings.BASE_DIR / "var" / "demo-bank-statement.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    day = now.date().isoformat()
    path.write_text(
        "date,amount,reference\n"
        f"{day},{invoice.amount_due.amount:.2f},{invoice.payment_reference}\n"
        f"{day},15.00,Thank you for the lunch\n",
        encoding="utf-8",
    )
    return str(path)
