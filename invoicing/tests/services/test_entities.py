from __future__ import annotations

import pytest

from billing_site.errors import DomainError
from invoicing.models import BillingEntity, CustomerEntity
from invoicing.services.documents import invoice_pdf_bytes
from invoicing.services.drafts import invoice_create_manual
from invoicing.services.entities import billing_entity_create, billing_entity_update, customer_entity_set
from invoicing.services.invoices import invoice_finalize
from invoicing.tests.factories import ACTOR, eu_rates
from subscriptions.tests.factories import make_customer, utc

pytestmark = pytest.mark.django_db
NOW = utc(2026, 3, 1)
SWEDEN = {
    "name": "Nordic AB",
    "address_line1": "Gatan 1",
    "postal_code": "111 51",
    "city": "Stockholm",
    "country": "SE",
}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"iban": "NL00ABNA0417164300"}, "iban"),
        ({"bic": "AB"}, "bic"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"is_default": True}, "is_default"),
    ],
)
def test_bad_entity_data_is_refused_on_its_field(changes, field):
    with pytest.raises(DomainError) as refused:
        billing_entity_create(actor=ACTOR, now=NOW, **{**SWEDEN, **changes})
    assert list(refused.value.fields) == [field]
    assert BillingEntity.objects.count() == 1


def test_the_default_entity_cannot_be_unticked_and_numbering_freezes_once_used():
    default = BillingEntity.objects.get(is_default=True)
    with pytest.raises(DomainError) as refused:
        billing_entity_update(entity=default, actor=ACTOR, now=NOW, is_default=False)
    assert refused.value.code == "default_entity_required"
    eu_rates()
    invoice = invoice_create_manual(
        customer=make_customer(), lines=[{"description": "X", "unit_amount": "1"}], actor=ACTOR, now=NOW
    )
    invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)
    with pytest.raises(DomainError) as refused:
        billing_entity_update(entity=default, actor=ACTOR, now=NOW, invoice_prefix="F-")
    assert refused.value.code == "numbering_in_use"


def test_a_customer_can_be_billed_by_another_entity():
    nordic = billing_entity_create(actor=ACTOR, now=NOW, **SWEDEN, invoice_prefix="SE-")
    customer = make_customer()
    customer_entity_set(customer=customer, entity=nordic, actor=ACTOR, now=NOW)
    customer_entity_set(customer=customer, entity=nordic, actor=ACTOR, now=NOW)  # no change, no second audit
    assert CustomerEntity.objects.get(customer=customer).entity == nordic
    eu_rates()
    invoice = invoice_create_manual(
        customer=customer, lines=[{"description": "X", "unit_amount": "1"}], actor=ACTOR, now=NOW
    )
    invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)
    invoice.refresh_from_db()
    assert (invoice.entity, invoice.number, invoice.seller["name"]) == (nordic, "SE-2026-00001", "Nordic AB")


def test_a_lost_pdf_file_is_rendered_again(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    eu_rates()
    invoice = invoice_create_manual(
        customer=make_customer(), lines=[{"description": "X", "unit_amount": "1"}], actor=ACTOR, now=NOW
    )
    invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)
    invoice.refresh_from_db()
    first = invoice_pdf_bytes(invoice)
    (tmp_path / invoice.pdf.name).unlink()
    invoice.refresh_from_db()
    assert invoice_pdf_bytes(invoice)[:5] == first[:5] == b"%PDF-"
    assert (tmp_path / invoice.pdf.name).exists()
