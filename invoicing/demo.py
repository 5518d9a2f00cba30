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
