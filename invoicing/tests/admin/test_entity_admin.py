"""Legal entities in the admin (finance only) and the legal entity that bills a customer."""

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from billing_site.models import AuditEvent
from invoicing.models import BillingEntity, CustomerEntity
from invoicing.services.drafts import invoice_create_manual
from invoicing.tests.admin import ACTOR, dutch_vat, make_customer, messages_of, utc

pytestmark = pytest.mark.django_db

ADD = reverse("admin:invoicing_billingentity_add")
LIST = reverse("admin:invoicing_billingentity_changelist")


def change(entity):
    return reverse("admin:invoicing_billingentity_change", args=[entity.pk])


def png(size=(4, 4)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, "#1F4E79").save(buffer, format="PNG")
    return SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")


def entity_form(**fields: Any) -> dict[str, Any]:
    data = {
        "name": "Acme Nordic AB",
        "address_line1": "Drottninggatan 1",
        "address_line2": "",
        "postal_code": "111 51",
        "city": "Stockholm",
        "region": "",
        "country": "SE",
        "vat_id": "SE556677889901",
        "registration_id": "556677-8899",
        "email": "billing@acme.se",
        "iban": "SE45 5000 0000 0583 9825 7466",
        "bic": "ESSESESS",
        "brand_color": "#004B87",
        "invoice_footer": "Acme Nordic AB · Stockholm",
        "payment_terms_days": "30",
        "time_zone": "Europe/Stockholm",
        "invoice_prefix": "SE-",
        "credit_note_prefix": "SECN-",
        "number_reset": "yearly",
        "credit_note_approval_above": "500",
        "active": "on",
        "_save": "Save",
    }
    data.update(fields)
    return {name: value for name, value in data.items() if value is not None}


def change_data(entity: BillingEntity, **changes: Any) -> dict[str, Any]:
    entity = BillingEntity.objects.get(pk=entity.pk)
    data = entity_form(
        name=entity.name,
        address_line1=entity.address_line1,
        postal_code=entity.postal_code,
        city=entity.city,
        country=entity.country,
        vat_id=entity.vat_id,
        registration_id=entity.registration_id,
        email=entity.email,
        iban=entity.iban,
        bic=entity.bic,
        brand_color=entity.brand_color,
        invoice_footer=entity.invoice_footer,
        payment_terms_days=str(entity.payment_terms_days),
        time_zone=entity.time_zone,
        invoice_prefix=entity.invoice_prefix,
        credit_note_prefix=entity.credit_note_prefix,
        number_reset=entity.number_reset,
        credit_note_approval_above=""
        if entity.credit_note_approval_above is None
        else str(entity.credit_note_approval_above),
        active="on" if entity.active else None,
    )
    if entity.is_default:
        data["is_default"] = "on"
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


@pytest.fixture
def finance(client, finance_user):
    client.force_login(finance_user)
    return client


def test_finance_adds_an_entity_with_every_field_and_a_logo(finance, media):
    response = finance.post(ADD, entity_form(logo=png()), follow=True)

    assert response.status_code == 200
    entity = BillingEntity.objects.get(name="Acme Nordic AB")
    assert (entity.country, entity.vat_id, entity.iban, entity.bic) == (
        "SE",
        "SE556677889901",
        "SE4550000000058398257466",
        "ESSESESS",
    )
    assert (entity.payment_terms_days, entity.time_zone, entity.invoice_prefix) == (30, "Europe/Stockholm", "SE-")
    assert entity.credit_note_approval_above == 500
    assert entity.logo.name.startswith("entity-logos/logo")
    assert [path.name for path in (media / "entity-logos").iterdir()] == [
        entity.logo.name.split("/")[-1]
    ]  # stored once
    assert entity.is_default is False
    event = AuditEvent.objects.get(action="billing_entity.created")
    assert (event.object_id, event.actor_label) == (str(entity.pk), "finance")
    assert event.after["name"] == "Acme Nordic AB"


def test_a_logo_that_is_not_a_png_or_jpeg_is_refused(finance):
    fake = SimpleUploadedFile("logo.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>", content_type="image/png")

    response = finance.post(ADD, entity_form(logo=fake))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["logo"] == ["The logo must be a PNG or JPEG image."]
    assert not BillingEntity.objects.filter(name="Acme Nordic AB").exists()


def test_a_logo_named_like_another_format_is_refused_by_the_service(finance):
    image = png()
    image.name = "logo.gif"

    response = finance.post(ADD, entity_form(logo=image))

    assert response.context["adminform"].form.errors["logo"] == ["Upload the logo as a PNG or JPEG file."]
    assert not BillingEntity.objects.filter(name="Acme Nordic AB").exists()


def test_a_second_default_entity_is_refused_with_a_clear_message(finance):
    response = finance.post(ADD, entity_form(is_default="on"))

    errors = response.context["adminform"].form.errors
    assert errors["is_default"] == [
        "“Acme Billing B.V.” is the default entity. Untick it there first: only one entity can be the default."
    ]
    assert not BillingEntity.objects.filter(name="Acme Nordic AB").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("country", "XX", "Select a valid choice. XX is not one of the available choices."),
        (
            "iban",
            "SE45 5000 0000 0583 9825 7467",
            "“SE4550000000058398257467” is not a valid IBAN (check digits do not match).",
        ),
        ("bic", "ESSE", "A BIC has 8 or 11 letters and digits, e.g. ABNANL2A."),
        ("credit_note_approval_above", "-1", "The approval limit cannot be negative."),
    ],
)
def test_invalid_details_are_refused_on_their_field(finance, field, value, message):
    response = finance.post(ADD, entity_form(**{field: value}))

    assert response.context["adminform"].form.errors[field] == [message]
    assert BillingEntity.objects.count() == 1


def test_changing_an_entity_is_audited_and_listed_numbers_are_shown(finance, _default_billing_entity):
    entity = _default_billing_entity
    dutch_vat()
    customer = make_customer("Alpha Trading B.V.", "ap@alpha.example")
    from invoicing.services.invoices import invoice_finalize

    invoice = invoice_create_manual(
        customer=customer, lines=[{"description": "x", "unit_amount": "10"}], actor=ACTOR, now=utc(2026, 1, 10)
    )
    invoice_finalize(invoice=invoice, actor=ACTOR, now=utc(2026, 1, 11))

    page = finance.get(change(entity))
    assert "Invoices (2026): INV-2026-00001" in page.content.decode()
    assert "This is the default legal entity." in page.content.decode()

    finance.post(
        change(entity), change_data(entity, invoice_footer="Thank you for your business", payment_terms_days="21")
    )

    entity.refresh_from_db()
    assert (entity.invoice_footer, entity.payment_terms_days) == ("Thank you for your business", 21)
    event = AuditEvent.objects.get(action="billing_entity.updated")
    assert event.before == {"invoice_footer": "", "payment_terms_days": 14, "updated_at": event.before["updated_at"]}
    assert event.after["payment_terms_days"] == 21

    refused = finance.post(change(entity), change_data(entity, number_reset="continuous"))
    assert refused.context["adminform"].form.errors["number_reset"] == [
        "This entity has issued numbers: its prefixes and numbering stay as they are, so the series has no gaps."
    ]


def test_the_default_moves_with_make_default(finance, _default_billing_entity):
    finance.post(ADD, entity_form())
    nordic = BillingEntity.objects.get(name="Acme Nordic AB")
    page = finance.get(change(nordic))
    assert "Make this the default entity" in page.content.decode()
    assert "is_default" in page.context["adminform"].form.fields  # not the default yet: a plain tick box

    assert finance.get(reverse("admin:invoicing_billingentity_make_default", args=[nordic.pk])).status_code == 200
    done = finance.post(reverse("admin:invoicing_billingentity_make_default", args=[nordic.pk]), follow=True)

    assert messages_of(done) == ["“Acme Nordic AB” is now the default legal entity."]
    assert list(BillingEntity.objects.filter(is_default=True)) == [nordic]
    moves = AuditEvent.objects.filter(action="billing_entity.updated").order_by("id")
    assert [(e.object_id, e.after["is_default"]) for e in moves] == [
        (str(_default_billing_entity.pk), False),
        (str(nordic.pk), True),
    ]


def test_unticking_the_only_default_is_refused_on_the_field(finance, _default_billing_entity):
    response = finance.post(change(_default_billing_entity), change_data(_default_billing_entity, is_default=None))

    assert response.status_code == 200
    assert "make another entity the default instead of unticking this one" in response.content.decode()
    assert BillingEntity.objects.filter(is_default=True).get() == _default_billing_entity


def test_support_cannot_open_legal_entities(client, support_user, _default_billing_entity):
    client.force_login(support_user)

    assert client.get(change(_default_billing_entity)).status_code == 403
    assert client.get(LIST).status_code == 403
    assert client.post(ADD, entity_form()).status_code == 403
    assert BillingEntity.objects.count() == 1


def test_finance_chooses_the_entity_that_bills_a_customer(finance):
    finance.post(ADD, entity_form())
    nordic = BillingEntity.objects.get(name="Acme Nordic AB")
    customer = make_customer("Alpha Trading B.V.", "ap@alpha.example")
    customer_page = reverse("admin:subscriptions_customer_change", args=[customer.pk])
    assert "the default entity" in finance.get(customer_page).content.decode()

    add = reverse("admin:invoicing_customerentity_add") + f"?customer={customer.pk}"
    assert finance.get(add).status_code == 200
    done = finance.post(add, {"customer": str(customer.pk), "entity": str(nordic.pk), "_save": "Save"}, follow=True)

    assert done.redirect_chain[-1][0] == customer_page
    assert CustomerEntity.objects.get(customer=customer).entity == nordic
    assert "Acme Nordic AB" in done.content.decode()
    event = AuditEvent.objects.get(action="customer.billing_entity_set")
    assert (event.object_type, event.before, event.after) == (
        "subscriptions.customer",
        {"billing_entity": None},
        {"billing_entity": nordic.pk},
    )
    dutch_vat()
    invoice = invoice_create_manual(
        customer=customer, lines=[{"description": "x", "unit_amount": "10"}], actor=ACTOR, now=utc(2026, 1, 19)
    )
    assert invoice.entity == nordic


def test_an_inactive_entity_cannot_be_chosen(finance):
    finance.post(ADD, entity_form(active=None))
    sleeping = BillingEntity.objects.get(name="Acme Nordic AB")
    customer = make_customer("Alpha Trading B.V.", "ap@alpha.example")

    response = finance.post(
        reverse("admin:invoicing_customerentity_add"), {"customer": str(customer.pk), "entity": str(sleeping.pk)}
    )

    assert "entity" in response.context["adminform"].form.errors
    assert not CustomerEntity.objects.exists()
