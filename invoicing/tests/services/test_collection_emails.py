"""The e-mails of collection and dunning: failed payments, authentication, a new card, overdue, final notices."""

from __future__ import annotations

import itertools
import re
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail

from invoicing.models import (
    BillingEntity,
    DunningCase,
    DunningPolicy,
    EmailKind,
    EmailLog,
    EmailStatus,
    Invoice,
    InvoiceStatus,
    PaymentAttempt,
    PaymentMethod,
)
from invoicing.services.drafts import invoice_create_manual
from invoicing.services.emails import (
    card_expiry_reminders_send,
    email_card_expiring,
    email_dunning_final,
    email_invoice_overdue,
    email_payment_action_required,
    email_payment_failed,
    email_payment_method_required,
    reminders_send,
)
from invoicing.services.invoices import invoice_finalize
from invoicing.services.links import PAYMENT_METHOD, link_read
from invoicing.tests.factories import ACTOR, eu_rates
from subscriptions.models import Customer, Subscription, SubscriptionStatus
from subscriptions.services.subscriptions import subscription_transition
from subscriptions.services.test_clocks import test_clock_create
from subscriptions.tests.factories import make_customer, make_subscription

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
PDF = b"%PDF-1.7 invoice"
NBSP = "\xa0"
SERIAL = itertools.count(1)


# --- set-up ---------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def entity(db) -> BillingEntity:
    """The default legal entity with a bank account and branding; 21% Dutch VAT."""
    eu_rates()
    fields: dict[str, Any] = {
        "name": "Acme Billing B.V.",
        "address_line1": "Keizersgracht 1",
        "postal_code": "1015 AA",
        "city": "Amsterdam",
        "country": "NL",
        "vat_id": "NL859999999B01",
        "iban": "NL91ABNA0417164300",
        "bic": "ABNANL2A",
        "email": "billing@acme.example",
        "brand_color": "#AA3300",
        "time_zone": "Europe/Amsterdam",
        "payment_terms_days": 14,
    }
    entity = BillingEntity.objects.filter(is_default=True).first()
    if entity is None:
        return BillingEntity.objects.create(**fields, created_at=NOW, updated_at=NOW, is_default=True)
    for name, value in fields.items():
        setattr(entity, name, value)
    entity.save()
    return entity


@pytest.fixture
def pdfs(monkeypatch):
    """The invoice PDF, faked: the PDF itself is tested with the documents service."""
    calls: list[Invoice] = []

    def invoice_pdf_bytes(invoice):
        calls.append(invoice)
        return PDF

    import invoicing.services.documents as documents

    monkeypatch.setattr(documents, "invoice_pdf_bytes", invoice_pdf_bytes)
    return calls


@pytest.fixture(autouse=True)
def no_estimate(monkeypatch):
    monkeypatch.setitem(sys.modules, "invoicing.services.upcoming", None)


def customer(language: str = "en", **fields: Any) -> Customer:
    fields.setdefault("invoice_emails", ["ap@globex.example"])
    fields.setdefault("email", "finance@globex.example")
    return make_customer(name=fields.pop("name", "Globex B.V."), language=language, **fields)


def finalized(draft: Invoice) -> Invoice:
    invoice_finalize(invoice=draft, actor=ACTOR, now=NOW)
    return Invoice.objects.get(pk=draft.pk)


def transfer_invoice(buyer: Customer) -> Invoice:
    """A one-off invoice of 121.00 EUR (100.00 + 21% VAT) paid by transfer, due on 29 January 2026."""
    draft = invoice_create_manual(
        customer=buyer,
        lines=[{"description": "Consulting", "quantity": "2", "unit_amount": "50.00"}],
        actor=ACTOR,
        now=NOW,
    )
    return finalized(draft)


def subscription_invoice(buyer: Customer, **kwargs: Any) -> Invoice:
    """The first invoice of a 29.00 EUR monthly subscription: 35.09 EUR with VAT, charged automatically."""
    subscription = make_subscription(buyer, now=NOW, **kwargs)
    return finalized(Invoice.objects.get(subscription=subscription))


def mark_paid(invoice: Invoice) -> None:
    """Paid meanwhile (the collection services record payments; here only the result matters)."""
    Invoice.objects.filter(pk=invoice.pk).update(
        status=InvoiceStatus.PAID, amount_paid=invoice.total.amount, amount_due=Decimal(0), paid_at=NOW
    )
    invoice.refresh_from_db()


def card(buyer: Customer, *, brand: str = "visa", last4: str = "4242", month: int = 12, year: int = 2029, **fields):
    fields.setdefault("is_default", True)
    return PaymentMethod.objects.create(
        customer=buyer,
        provider="simulated",
        provider_id=f"sim:tok_visa:{next(SERIAL)}",
        kind="card",
        brand=brand,
        last4=last4,
        exp_month=month,
        exp_year=year,
        created_at=NOW,
        **fields,
    )


def attempt(invoice: Invoice, method: PaymentMethod | None, *, number: int = 1, **fields: Any) -> PaymentAttempt:
    fields.setdefault("status", "failed")
    return PaymentAttempt.objects.create(
        invoice=invoice,
        customer=invoice.customer,
        payment_method=method,
        provider="simulated",
        number=number,
        currency=invoice.currency,
        amount=invoice.amount_due.amount,
        trigger="finalized" if number == 1 else "retry",
        idempotency_key=f"invoice-{invoice.pk}-attempt-{number}",
        created_at=NOW,
        **fields,
    )


def only_message() -> mail.EmailMultiAlternatives:
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert isinstance(message, mail.EmailMultiAlternatives)
    return message


def html_of(message: mail.EmailMultiAlternatives) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def assert_in_both(message: mail.EmailMultiAlternatives, *sentences: str) -> None:
    html = html_of(message)
    for sentence in sentences:
        assert sentence in message.body
        assert sentence in html


def payment_method_link_in(message: mail.EmailMultiAlternatives, buyer: Customer) -> str:
    """The signed link to update the payment method: in the text, as the button in HTML, naming the customer."""
    [link] = re.findall(r"https?://\S+/portal/payment-method/\S+", message.body)
    assert link_read(PAYMENT_METHOD, link.rsplit("/", 1)[1]) == buyer.pk
    assert f'href="{link}"' in html_of(message)
    return link


# --- payment failed -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "subject", "sentences"),
    [
        ("en", "Payment failed for invoice {number}", [
            "We tried to collect €35.09 for invoice {number} from your Visa •••• 4242, but the payment did not go "
            "through.",
            "Your bank declined the payment because the available balance or credit limit was not enough.",
            "We will try again automatically on January 18, 2026. If you would rather use another card, please "
            "update your payment method before then.",
            "Next attempt: January 18, 2026",
            "Update payment method:",
        ]),
        ("nl", "Betaling van factuur {number} mislukt", [
            f"Wij hebben geprobeerd €{NBSP}35,09 voor factuur {{number}} af te schrijven van uw Visa •••• 4242, maar "
            "de betaling is niet gelukt.",
            "Uw bank heeft de betaling geweigerd omdat het beschikbare saldo of de kredietlimiet niet toereikend was.",
            "Wij proberen het op 18 januari 2026 automatisch opnieuw.",
        ]),
        ("sv", "Betalningen för faktura {number} misslyckades", [
            f"Vi försökte dra 35,09{NBSP}€ för faktura {{number}} från ditt kort Visa •••• 4242, men betalningen "
            "gick inte igenom.",
            "Din bank nekade betalningen eftersom det tillgängliga saldot eller kreditutrymmet inte räckte.",
            "Vi gör ett nytt försök automatiskt den 18 januari 2026.",
        ]),
    ],
)  # fmt: skip
def test_payment_failed(language, subject, sentences):
    buyer = customer(language)
    invoice = subscription_invoice(buyer)
    failed = attempt(invoice, card(buyer), decline_code="insufficient_funds", decline_type="soft")

    log = email_payment_failed(attempt=failed, next_retry_at=datetime(2026, 1, 18, 9, 30, tzinfo=UTC), now=NOW)

    message = only_message()
    assert message.subject == subject.format(number=invoice.number)
    for sentence in sentences:
        assert sentence.format(number=invoice.number) in message.body
    payment_method_link_in(message, buyer)
    assert message.to == ["finance@globex.example"]  # not the accounts payable team: it is about the card
    assert message.attachments == []
    assert log is not None
    assert (log.kind, log.status, log.invoice, log.language) == (EmailKind.PAYMENT_FAILED, "sent", invoice, language)
    assert log.dedupe_key == f"payment_failed:{failed.pk}"


@pytest.mark.parametrize(
    ("decline_code", "failure_code", "sentence"),
    [
        ("processing_error", "card_declined", "An error occurred while your bank was processing the payment. "
         "This is usually temporary."),
        ("", "processing_error", "An error occurred while your bank was processing the payment."),
        ("card_velocity_exceeded", "card_declined", "Your bank declined the payment because a spending limit on the "
         "card was reached."),
        ("generic_decline", "card_declined", "Your bank declined the payment without telling us why. Your bank can "
         "tell you more."),
        ("do_not_honor", "card_declined", "Your bank declined the payment without telling us why."),
        ("", "", "Your bank declined the payment without telling us why."),
    ],
)  # fmt: skip
def test_payment_failed_explains_the_decline_in_plain_words(decline_code, failure_code, sentence):
    buyer = customer()
    failed = attempt(subscription_invoice(buyer), card(buyer), decline_code=decline_code, failure_code=failure_code)

    email_payment_failed(attempt=failed, next_retry_at=None, now=NOW)

    message = only_message()
    assert_in_both(message, sentence)
    assert "_" not in message.body.split("http")[0]  # no code such as "generic_decline" reaches the customer


def test_payment_failed_without_a_retry_says_we_will_not_try_again():
    buyer = customer()
    failed = attempt(subscription_invoice(buyer), card(buyer), decline_code="insufficient_funds")

    email_payment_failed(attempt=failed, next_retry_at=None, now=NOW)

    message = only_message()
    assert_in_both(
        message,
        "We will not try this payment again automatically. Please update your payment method so that we can "
        "collect it.",
    )
    assert "Next attempt" not in message.body
    assert "For your security, this link works for 30 days." in message.body


def test_payment_failed_goes_once_per_attempt():
    buyer = customer()
    invoice = subscription_invoice(buyer)
    method = card(buyer)
    first = attempt(invoice, method, decline_code="insufficient_funds")
    retry_at = datetime(2026, 1, 18, tzinfo=UTC)

    sent = email_payment_failed(attempt=first, next_retry_at=retry_at, now=NOW)
    again = email_payment_failed(attempt=first, next_retry_at=retry_at, now=NOW + timedelta(minutes=1))

    assert sent is not None
    assert again is None
    assert len(mail.outbox) == 1
    PaymentAttempt.objects.filter(pk=first.pk).update(status="failed")
    second = attempt(invoice, method, number=2, decline_code="insufficient_funds")
    assert email_payment_failed(attempt=second, next_retry_at=None, now=NOW + timedelta(days=3)) is not None
    assert len(mail.outbox) == 2


def test_no_payment_failed_e_mail_for_an_invoice_paid_meanwhile():
    buyer = customer()
    invoice = subscription_invoice(buyer)
    failed = attempt(invoice, card(buyer), decline_code="insufficient_funds")
    mark_paid(failed.invoice)

    assert email_payment_failed(attempt=failed, next_retry_at=None, now=NOW) is None
    assert mail.outbox == []
    assert not EmailLog.objects.exists()


# --- payment needs authentication -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "subject", "intro", "button"),
    [
        ("en", "Please confirm your payment for invoice {number}",
         "To pay €35.09 for invoice {number}, your bank needs you to confirm the payment. This extra check "
         "(3-D Secure) protects your card against misuse.", "Confirm payment"),
        ("sv", "Bekräfta din betalning för faktura {number}",
         f"För att betala 35,09{NBSP}€ för faktura {{number}} behöver du bekräfta betalningen hos din bank.",
         "Bekräfta betalningen"),
    ],
)  # fmt: skip
def test_payment_action_required(language, subject, intro, button):
    buyer = customer(language)
    invoice = subscription_invoice(buyer)
    waiting = attempt(
        invoice, card(buyer), status="requires_action", action_url="https://pay.example/3ds/sim_pi_123?step=1&x=2"
    )

    log = email_payment_action_required(attempt=waiting, now=NOW)

    message = only_message()
    assert message.subject == subject.format(number=invoice.number)
    assert intro.format(number=invoice.number) in message.body
    assert f"{button}:\nhttps://pay.example/3ds/sim_pi_123?step=1&x=2\n" in message.body
    html = html_of(message)
    assert 'href="https://pay.example/3ds/sim_pi_123?step=1&amp;x=2"' in html
    assert f">{button}</a>" in html
    assert log is not None
    assert (log.kind, log.dedupe_key) == (EmailKind.PAYMENT_ACTION_REQUIRED, f"payment_action_required:{waiting.pk}")
    assert email_payment_action_required(attempt=waiting, now=NOW + timedelta(hours=1)) is None
    assert len(mail.outbox) == 1


def test_payment_action_without_a_provider_page_links_to_our_signed_page():
    buyer = customer()
    waiting = attempt(subscription_invoice(buyer), card(buyer), status="requires_action", action_url="")

    email_payment_action_required(attempt=waiting, now=NOW)

    body = only_message().body
    assert re.search(r"Confirm payment:\nhttp://127\.0\.0\.1:8000/portal/pay/\S+\n", body)
    assert "Until you confirm it, nothing is charged and the invoice remains unpaid." in body


# --- a new payment method is needed -------------------------------------------------------------


def test_hard_decline_asks_for_a_new_payment_method_without_blaming_the_customer():
    buyer = customer()
    invoice = subscription_invoice(buyer)
    attempt(invoice, card(buyer, last4="9979"), decline_code="stolen_card", decline_type="hard")

    log = email_payment_method_required(invoice=invoice, reason="hard_decline", step=0, now=NOW)

    message = only_message()
    assert message.subject == f"Please add a new payment method for invoice {invoice.number}"
    assert_in_both(
        message,
        f"We could not collect €35.09 for invoice {invoice.number}: your bank declined your Visa •••• 9979, and it "
        "cannot be used for payments any more.",
        "This can happen for several reasons, for example when a bank replaces or blocks a card.",
        "Please add a new payment method. We will then charge the invoice straight away.",
        "Amount due",
        "Add payment method",
    )
    for word in ("stolen", "lost", "fraud"):
        assert word not in message.body.lower()
    payment_method_link_in(message, buyer)
    assert log is not None
    assert log.dedupe_key == f"payment_method_required:{invoice.pk}:0"


@pytest.mark.parametrize(
    ("reason", "sentence"),
    [
        ("no_payment_method", "Wij konden €\xa035,09 voor factuur {number} niet afschrijven, omdat er voor uw account "
         "geen betaalmethode is geregistreerd."),
        ("expired", "Wij konden €\xa035,09 voor factuur {number} niet afschrijven, omdat uw Visa •••• 4242 is "
         "verlopen."),
        ("hard_decline", "uw bank heeft uw Visa •••• 4242 geweigerd en deze kan niet meer voor betalingen worden "
         "gebruikt."),
    ],
)  # fmt: skip
def test_payment_method_required_in_dutch(reason, sentence):
    buyer = customer("nl")
    invoice = subscription_invoice(buyer)
    if reason != "no_payment_method":
        card(buyer, month=12, year=2025)

    email_payment_method_required(invoice=invoice, reason=reason, step=0, now=NOW)

    message = only_message()
    assert message.subject == f"Voeg een nieuwe betaalmethode toe voor factuur {invoice.number}"
    assert_in_both(message, sentence.format(number=invoice.number), "Betaalmethode toevoegen")
    if reason != "hard_decline":
        assert "Dat kan verschillende oorzaken hebben" not in message.body


def test_payment_method_required_goes_once_per_step_and_then_says_it_is_a_reminder():
    buyer = customer()
    invoice = subscription_invoice(buyer)

    first = email_payment_method_required(invoice=invoice, reason="no_payment_method", step=0, now=NOW)
    again = email_payment_method_required(invoice=invoice, reason="no_payment_method", step=0, now=NOW)
    later = email_payment_method_required(
        invoice=invoice, reason="no_payment_method", step=1, now=NOW + timedelta(days=3)
    )

    assert first is not None and later is not None
    assert again is None
    assert [message.subject for message in mail.outbox] == [
        f"Please add a new payment method for invoice {invoice.number}",
        f"Reminder: please add a new payment method for invoice {invoice.number}",
    ]
    assert later.dedupe_key == f"payment_method_required:{invoice.pk}:1"


def test_payment_method_required_refuses_an_unknown_reason():
    invoice = subscription_invoice(customer())

    with pytest.raises(ValueError, match="Unknown reason 'fraud'"):
        email_payment_method_required(invoice=invoice, reason="fraud", step=0, now=NOW)
    assert mail.outbox == []


# --- overdue invoices ---------------------------------------------------------------------------


def test_first_overdue_reminder_is_friendly_and_says_how_to_pay(pdfs):
    buyer = customer()
    invoice = transfer_invoice(buyer)
    reference = invoice.payment_reference

    log = email_invoice_overdue(invoice=invoice, step=1, now=datetime(2026, 2, 1, 8, tzinfo=UTC))

    message = only_message()
    assert message.subject == f"Reminder: invoice {invoice.number} is overdue"
    assert_in_both(
        message,
        f"This is a friendly reminder that invoice {invoice.number} for €121.00 was due on January 29, 2026, and "
        "we have not received your payment yet.",
        f"Please transfer €121.00 to IBAN NL91ABNA0417164300, quoting payment reference {reference}.",
        "The invoice is attached again as a PDF.",
        "Have you already paid? Thank you, and please disregard this reminder",
    )
    assert (
        f"Invoice number: {invoice.number}\nAmount due: €121.00\nDue date: January 29, 2026\nDays overdue: 3\n"
    ) in message.body
    assert (
        f"Account holder: Acme Billing B.V.\nIBAN: NL91ABNA0417164300\nBIC: ABNANL2A\nPayment reference: {reference}\n"
    ) in message.body
    assert "<h1" in html_of(message) and f"Invoice {invoice.number} is overdue</h1>" in html_of(message)
    assert message.to == ["finance@globex.example", "ap@globex.example"]  # those who pay invoices see it too
    assert message.attachments == [(f"{invoice.number}.pdf", PDF, "application/pdf")]
    assert log is not None
    assert (log.kind, log.invoice, log.attachments) == (EmailKind.INVOICE_OVERDUE, invoice, [f"{invoice.number}.pdf"])
    assert log.dedupe_key == f"invoice_overdue:{invoice.pk}:1"


def test_overdue_reminders_get_firmer_step_by_step(pdfs):
    invoice = transfer_invoice(customer())

    for step in (1, 2, 3):
        email_invoice_overdue(invoice=invoice, step=step, now=datetime(2026, 2, 1, tzinfo=UTC) + timedelta(days=step))

    assert [message.subject for message in mail.outbox] == [
        f"Reminder: invoice {invoice.number} is overdue",
        f"Second reminder: invoice {invoice.number} is overdue",
        f"Reminder: invoice {invoice.number} is still unpaid",
    ]
    assert (
        f"We have already reminded you of invoice {invoice.number}, which was due on January 29, 2026, but we still "
        "have not received €121.00. Please pay the invoice now."
    ) in mail.outbox[1].body
    assert "friendly" not in mail.outbox[1].body


def test_the_last_step_of_the_schedule_is_the_final_reminder_with_what_happens_next(pdfs):
    buyer = customer("nl")
    invoice = subscription_invoice(buyer, collection_method="send_invoice", days_until_due=14)
    policy = DunningPolicy.objects.create(
        name="Strict", retry_days=[3, 7, 14], final_action="cancel", created_at=NOW, updated_at=NOW
    )
    DunningCase.objects.create(
        invoice=invoice,
        customer=buyer,
        subscription=invoice.subscription,
        policy=policy,
        started_at=invoice.due_at,
        step=3,
        currency="EUR",
        amount_at_risk=invoice.amount_due.amount,
    )

    email_invoice_overdue(invoice=invoice, step=3, now=datetime(2026, 2, 12, tzinfo=UTC))

    message = only_message()
    assert message.subject == f"Laatste herinnering: factuur {invoice.number} is vervallen"
    assert_in_both(
        message,
        f"Dit is onze laatste herinnering: factuur {invoice.number} is op 29 januari 2026 vervallen en €{NBSP}35,09 "
        "staat nog open. Wij verzoeken u het bedrag nu te betalen.",
        "Blijft de factuur onbetaald, dan beëindigen wij uw abonnement.",
        f"Maak €{NBSP}35,09 over naar IBAN NL91ABNA0417164300, onder vermelding van betalingskenmerk "
        f"{invoice.payment_reference}.",
    )
    assert f"Laatste herinnering voor factuur {invoice.number}</h1>" in html_of(message)


def test_overdue_reminder_goes_once_per_step_and_not_for_a_paid_invoice(pdfs):
    invoice = transfer_invoice(customer())

    assert email_invoice_overdue(invoice=invoice, step=1, now=datetime(2026, 2, 1, tzinfo=UTC)) is not None
    assert email_invoice_overdue(invoice=invoice, step=1, now=datetime(2026, 2, 2, tzinfo=UTC)) is None
    assert len(mail.outbox) == 1
    assert len(pdfs) == 1  # the PDF was not even made the second time

    mark_paid(invoice)
    assert email_invoice_overdue(invoice=invoice, step=2, now=datetime(2026, 2, 3, tzinfo=UTC)) is None
    assert len(mail.outbox) == 1


# --- cards about to expire ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "subject", "sentence"),
    [
        ("en", "Your card on file expires at the end of February 2026",
         "The card on file for your account, Visa •••• 4242, expires at the end of February 2026."),
        ("sv", "Ditt registrerade kort går ut i slutet av februari 2026",
         "Kortet som är registrerat för ditt konto, Visa •••• 4242, går ut i slutet av februari 2026."),
        ("nl", "Uw geregistreerde kaart verloopt eind februari 2026",
         "De kaart die voor uw account is geregistreerd, uw Visa •••• 4242, verloopt eind februari 2026."),
    ],
)  # fmt: skip
def test_card_expiring(language, subject, sentence):
    buyer = customer(language)
    method = card(buyer, month=2, year=2026)

    log = email_card_expiring(method=method, now=NOW)

    message = only_message()
    assert message.subject == subject
    assert_in_both(message, sentence)
    payment_method_link_in(message, buyer)
    assert message.to == ["finance@globex.example"]
    assert log is not None
    assert (log.kind, log.invoice, log.dedupe_key) == (
        EmailKind.CARD_EXPIRING,
        None,
        f"card_expiring:{method.pk}:2026-2",
    )
    assert email_card_expiring(method=method, now=NOW + timedelta(days=1)) is None
    assert len(mail.outbox) == 1


def test_card_expiring_speaks_of_the_brand_as_people_write_it():
    method = card(customer(), brand="amex", last4="0005", month=2, year=2026)

    email_card_expiring(method=method, now=NOW)

    body = only_message().body
    assert "The card on file for your account, American Express •••• 0005, expires at the end of February 2026." in body
    assert "If your bank has already sent you a new card, please enter its details anyway." in body


def test_card_expiry_reminders_go_to_exactly_the_cards_that_expire_next_month():
    now = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # already February in Amsterdam: months are counted in UTC
    numbers = itertools.count(1)

    def subscriber(**fields: Any) -> Customer:
        buyer = customer(email=f"customer{next(numbers)}@example.com", **fields)
        make_subscription(buyer, now=NOW)
        return buyer

    next_month = card(subscriber(), month=2, year=2026)
    past_due = subscriber()
    subscription = Subscription.objects.get(customer=past_due)
    subscription_transition(subscription, to=SubscriptionStatus.PAST_DUE, actor=ACTOR, now=now)
    subscription.save(update_fields=["status"])
    past_due_card = card(past_due, month=2, year=2026)
    trialing = customer(email="trial@example.com")
    make_subscription(trialing, now=NOW, trial_end=datetime(2026, 2, 20, tzinfo=UTC))
    trial_card = card(trialing, month=2, year=2026)

    this_month = card(subscriber(), month=1, year=2026)
    in_two_months = card(subscriber(), month=3, year=2026)
    next_year = card(subscriber(), month=2, year=2027)
    detached = card(subscriber(), month=2, year=2026, status="detached", detached_at=NOW)
    owner = subscriber()
    not_default = card(owner, month=2, year=2026, is_default=False)
    card(owner, month=12, year=2029)  # the default card, far from expiring
    no_subscription = card(customer(email="lapsed@example.com"), month=2, year=2026)
    clock = test_clock_create(name="Demo", frozen_time=NOW, actor=ACTOR, now=NOW)
    on_clock = card(subscriber(test_clock=clock, now=NOW), month=2, year=2026)
    skipped = [this_month, in_two_months, next_year, detached, not_default, no_subscription, on_clock]

    sent = card_expiry_reminders_send(now=now)

    assert sent == 3
    reminded = EmailLog.objects.filter(kind=EmailKind.CARD_EXPIRING).values_list("dedupe_key", flat=True)
    assert sorted(reminded) == sorted(
        f"card_expiring:{method.pk}:2026-2" for method in (next_month, past_due_card, trial_card)
    )
    assert not EmailLog.objects.filter(dedupe_key__in=[f"card_expiring:{m.pk}:2026-2" for m in skipped]).exists()
    assert len(mail.outbox) == 3
    assert card_expiry_reminders_send(now=now - timedelta(days=3)) == 0  # each card is reminded once


def test_card_expiry_in_december_looks_at_january():
    method = card(customer(), month=1, year=2027)
    make_subscription(method.customer, now=NOW)

    assert card_expiry_reminders_send(now=datetime(2026, 11, 30, tzinfo=UTC)) == 0
    assert card_expiry_reminders_send(now=datetime(2026, 12, 1, tzinfo=UTC)) == 1


def test_the_daily_reminders_include_expiring_cards(settings):
    settings.RENEWAL_REMINDER_DAYS = 7
    buyer = customer()
    make_subscription(buyer, now=datetime(2026, 1, 10, tzinfo=UTC))  # renews on 10 February
    card(buyer, month=2, year=2026)

    assert reminders_send(now=datetime(2026, 2, 5, tzinfo=UTC)) == 1  # the card expires this month: too late
    assert reminders_send(now=datetime(2026, 1, 20, tzinfo=UTC)) == 1  # the card, once; the renewal is far
    assert sorted(EmailLog.objects.values_list("kind", flat=True)) == [
        EmailKind.CARD_EXPIRING,
        EmailKind.UPCOMING_RENEWAL,
    ]


def test_failed_card_reminders_are_not_counted(monkeypatch):
    from django.core.mail.backends.locmem import EmailBackend

    buyer = customer()
    make_subscription(buyer, now=NOW)
    card(buyer, month=2, year=2026)
    monkeypatch.setattr(EmailBackend, "send_messages", lambda self, messages: (_ for _ in ()).throw(OSError("down")))

    assert card_expiry_reminders_send(now=NOW) == 0
    assert EmailLog.objects.get().status == EmailStatus.FAILED


# --- the end of dunning -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "subject", "sentences"),
    [
        ("cancel", "Your subscription has been canceled because invoice {number} is unpaid", [
            "Despite our reminders, invoice {number} remains unpaid. We have therefore canceled your Pro "
            "subscription.",
            "€35.09 is still owed for invoice {number}. Please pay it as soon as possible.",
            "Would you like to keep using the service? Please get in touch with us.",
        ]),
        ("mark_unpaid", "Your subscription has been stopped because invoice {number} is unpaid", [
            "We have therefore stopped your Pro subscription until the invoice is paid.",
            "As soon as the invoice is paid, your subscription becomes active again.",
        ]),
        ("suspend", "Your access has been suspended because invoice {number} is unpaid", [
            "Invoice {number} is still unpaid. We have therefore suspended your access to your Pro subscription until "
            "the invoice is paid.",
            "As soon as the invoice is paid, your access is restored.",
        ]),
        ("leave_past_due", "Last reminder: invoice {number} is still unpaid", [
            "This is our last reminder about invoice {number}, which was due on January 29, 2026: we still have not "
            "received your payment.",
            "€35.09 is still owed for invoice {number}.",
        ]),
    ],
)  # fmt: skip
def test_dunning_final(action, subject, sentences):
    from subscriptions.tests.factories import make_flat_plan

    buyer = customer()
    invoice = subscription_invoice(buyer, plan_version=make_flat_plan("29.00", name="Pro"))

    log = email_dunning_final(invoice=invoice, action=action, now=NOW)

    message = only_message()
    assert message.subject == subject.format(number=invoice.number)
    assert_in_both(message, *(sentence.format(number=invoice.number) for sentence in sentences))
    assert_in_both(
        message,
        "We will not try your current payment method again. Add a working payment method and we will charge €35.09 "
        "straight away.",
    )
    payment_method_link_in(message, buyer)
    assert "IBAN" not in message.body
    if action != "cancel":
        assert "get in touch" not in message.body
    assert log is not None
    assert (log.kind, log.invoice, log.subscription) == (EmailKind.DUNNING_FINAL, invoice, invoice.subscription)
    assert log.dedupe_key == f"dunning_final:{invoice.pk}:{action}"
    assert email_dunning_final(invoice=invoice, action=action, now=NOW + timedelta(hours=1)) is None
    assert len(mail.outbox) == 1


def test_dunning_final_for_an_invoice_paid_by_transfer_says_how_to_pay_in_swedish():
    buyer = customer("sv")
    invoice = subscription_invoice(buyer, collection_method="send_invoice", days_until_due=14)

    email_dunning_final(invoice=invoice, action="mark_unpaid", now=NOW)

    message = only_message()
    assert message.subject == f"Ditt abonnemang har stoppats eftersom faktura {invoice.number} är obetald"
    assert_in_both(
        message,
        f"Trots våra påminnelser är faktura {invoice.number} fortfarande obetald.",
        "Så snart fakturan är betald blir ditt abonnemang aktivt igen.",
        f"Betala 35,09{NBSP}€ till IBAN NL91ABNA0417164300 och ange betalningsreferens {invoice.payment_reference}.",
    )
    assert "/portal/payment-method/" not in message.body


def test_dunning_final_refuses_an_unknown_action():
    invoice = subscription_invoice(customer())

    with pytest.raises(ValueError, match="Unknown action 'delete'"):
        email_dunning_final(invoice=invoice, action="delete", now=NOW)


def test_collection_e_mails_are_not_sent_for_void_invoices():
    invoice = subscription_invoice(customer())
    Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.VOID)
    invoice.refresh_from_db()

    assert email_dunning_final(invoice=invoice, action="cancel", now=NOW) is None
    assert email_payment_method_required(invoice=invoice, reason="expired", step=0, now=NOW) is None
    assert mail.outbox == []


def test_the_button_and_the_link_are_branded_and_escaped():
    buyer = customer(name="<b>Globex</b> & Co")
    method = card(buyer, month=2, year=2026)

    email_card_expiring(method=method, now=NOW)

    html = html_of(only_message())
    assert "<b>Globex</b>" not in html
    assert "Dear &lt;b&gt;Globex&lt;/b&gt; &amp; Co," in html
    assert 'style="background-color:#AA3300; border-radius:4px;"' in html
    assert ">Update payment method</a>" in html
