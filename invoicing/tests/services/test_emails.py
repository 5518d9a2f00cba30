"""Customer e-mails: wording per language, recipients, branding, attachments, the log, once-only, failures."""

from __future__ import annotations

import itertools
import smtplib
import sys
import types
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from billing_site.actors import Actor
from catalog.tests.factories import make_product
from invoicing.models import (
    BillingEntity,
    CreditNote,
    CreditNoteStatus,
    CustomerEntity,
    EmailKind,
    EmailLog,
    EmailStatus,
    Invoice,
    InvoiceStatus,
)
from invoicing.services.emails import (
    WORDINGS,
    email_credit_note_issued,
    email_invoice_issued,
    email_payment_receipt,
    email_send,
    email_trial_ending,
    email_upcoming_renewal,
    reminders_send,
)
from subscriptions.models import Customer, Subscription, SubscriptionStatus
from subscriptions.services.subscriptions import subscription_cancel, subscription_transition
from subscriptions.services.test_clocks import test_clock_create
from subscriptions.tests.factories import make_customer, make_plan_with_prices, make_subscription

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
ACTOR = Actor.system("tests")
PDF = b"%PDF-1.7 invoice"
CREDIT_PDF = b"%PDF-1.7 credit note"
NBSP = "\xa0"


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def entity(db) -> BillingEntity:
    """The default legal entity, with the branding the e-mails show."""
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
        "invoice_footer": "Acme Billing B.V. · KvK 12345678\nThank you for your business.",
        "time_zone": "Europe/Amsterdam",
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
    """The PDF services, faked: the PDFs themselves are tested with the documents service."""
    calls: list[object] = []

    def invoice_pdf_bytes(invoice):
        calls.append(invoice)
        return PDF

    def credit_note_pdf_bytes(note):
        calls.append(note)
        return CREDIT_PDF

    try:
        import invoicing.services.documents as documents
    except ImportError:  # not written yet: stand in for the whole module
        documents = types.ModuleType("invoicing.services.documents")
        monkeypatch.setitem(sys.modules, "invoicing.services.documents", documents)
    monkeypatch.setattr(documents, "invoice_pdf_bytes", invoice_pdf_bytes, raising=False)
    monkeypatch.setattr(documents, "credit_note_pdf_bytes", credit_note_pdf_bytes, raising=False)
    return calls


@pytest.fixture
def estimate(monkeypatch):
    """The upcoming-invoice service, faked: the next invoice would be 29.00 EUR."""
    module = types.ModuleType("invoicing.services.upcoming")
    module.invoice_upcoming = lambda *, subscription, now: types.SimpleNamespace(  # type: ignore[attr-defined]
        total=Decimal("29.00"), currency="EUR"
    )
    monkeypatch.setitem(sys.modules, "invoicing.services.upcoming", module)


@pytest.fixture
def no_upcoming_service(monkeypatch):
    monkeypatch.setitem(sys.modules, "invoicing.services.upcoming", None)  # importing it raises ImportError


@pytest.fixture
def mail_server_down(monkeypatch):
    def refuse(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)


def customer(language: str = "en", **fields: Any) -> Customer:
    fields.setdefault("invoice_emails", ["ap@globex.example"])
    return make_customer(
        name=fields.pop("name", "Globex B.V."),
        email=fields.pop("email", "finance@globex.example"),
        language=language,
        **fields,
    )


def invoice(entity: BillingEntity, buyer: Customer, *, number: str = "INV-2026-00042", **fields: Any) -> Invoice:
    """A finalized (open) invoice of 121.00 EUR, due in 14 days, as rows: no billing run involved."""
    from invoicing.services.invoices import buyer_snapshot, seller_snapshot

    amounts = {"subtotal": "100.00", "tax": "21.00", "total": "121.00", "amount_due": "121.00"}
    values: dict[str, Any] = {name: Decimal(value) for name, value in amounts.items()}
    values.update(
        status=InvoiceStatus.OPEN,
        kind="manual",
        collection_method="send_invoice",
        payment_reference="RF18 5390 0754 7034",
        due_at=datetime(2026, 1, 29, 9, 30, tzinfo=UTC),
        language=buyer.language,
    )
    values.update(fields)
    return Invoice.objects.create(
        entity=entity,
        customer=buyer,
        number=number,
        currency="EUR",
        seller=seller_snapshot(entity),
        buyer=buyer_snapshot(buyer),
        created_at=NOW,
        updated_at=NOW,
        finalized_at=NOW,
        **values,
    )


def credit_note(source: Invoice, **amounts: str) -> CreditNote:
    values = {name: Decimal(value) for name, value in amounts.items()}
    return CreditNote.objects.create(
        invoice=source,
        entity=source.entity,
        customer=source.customer,
        number="CN-2026-00007",
        status=CreditNoteStatus.ISSUED,
        reason="billing_error",
        currency="EUR",
        author="finance",
        language=source.language,
        created_at=NOW,
        issued_at=NOW,
        **values,
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


# --- the wording ----------------------------------------------------------------------------------


def test_every_language_words_every_sentence_of_every_kind():
    english = WORDINGS["en"]
    for language in ("nl", "sv"):
        assert WORDINGS[language].keys() == english.keys()
        for kind, sentences in english.items():
            own = WORDINGS[language][kind]
            assert own.keys() == sentences.keys(), (language, kind)
            for key, wording in sentences.items():
                assert type(own[key]) is type(wording), (language, kind, key)
                if not key.startswith("label_i") and wording not in ("IBAN", "BIC"):
                    assert own[key] != wording, f"{language} {kind}.{key} is still English"


# --- invoice issued -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "subject", "sentences"),
    [
        (
            "en",
            "Invoice INV-2026-00042 from Acme Billing B.V.",
            [
                "Dear Globex B.V.,",
                "Your invoice INV-2026-00042 for €121.00 is attached as a PDF.",
                "Please transfer €121.00 by January 29, 2026 to IBAN NL91ABNA0417164300, quoting payment "
                "reference RF18 5390 0754 7034.",
                "Kind regards,",
            ],
        ),
        (
            "nl",
            "Factuur INV-2026-00042 van Acme Billing B.V.",
            [
                "Beste Globex B.V.,",
                f"In de bijlage vindt u factuur INV-2026-00042 van €{NBSP}121,00 als pdf.",
                f"Maak €{NBSP}121,00 uiterlijk 29 januari 2026 over naar IBAN NL91ABNA0417164300, onder vermelding "
                "van betalingskenmerk RF18 5390 0754 7034.",
                "Met vriendelijke groet,",
            ],
        ),
        (
            "sv",
            "Faktura INV-2026-00042 från Acme Billing B.V.",
            [
                "Hej Globex B.V.,",
                f"Faktura INV-2026-00042 på 121,00{NBSP}€ finns bifogad som pdf.",
                f"Betala 121,00{NBSP}€ senast 29 januari 2026 till IBAN NL91ABNA0417164300 och ange "
                "betalningsreferens RF18 5390 0754 7034.",
                "Vänliga hälsningar,",
            ],
        ),
    ],
)
def test_invoice_email_in_the_customers_language(entity, pdfs, language, subject, sentences):
    issued = invoice(entity, customer(language))

    log = email_invoice_issued(invoice=issued, now=NOW)

    message = only_message()
    assert message.subject == subject
    for sentence in sentences:
        assert sentence in message.body
        assert sentence.replace("&", "&amp;") in html_of(message)
    assert log is not None
    assert (log.kind, log.status, log.language, log.subject) == (EmailKind.INVOICE_ISSUED, "sent", language, subject)
    assert log.body_text == message.body


def test_invoice_email_goes_to_the_invoice_addresses_with_the_pdf(entity, pdfs):
    issued = invoice(
        entity, customer(invoice_emails=["ap@globex.example", "FINANCE@globex.example", "cfo@globex.example"])
    )

    log = email_invoice_issued(invoice=issued, now=NOW)

    message = only_message()
    assert message.to == ["finance@globex.example", "ap@globex.example", "cfo@globex.example"]
    assert message.from_email == '"Acme Billing B.V." <billing@localhost>'
    assert message.reply_to == ["billing@acme.example"]
    assert message.attachments == [("INV-2026-00042.pdf", PDF, "application/pdf")]
    assert pdfs == [issued]
    stored = EmailLog.objects.get()
    assert stored == log
    assert stored.to == ["finance@globex.example", "ap@globex.example", "cfo@globex.example"]
    assert stored.attachments == ["INV-2026-00042.pdf"]
    assert (stored.customer, stored.invoice, stored.credit_note, stored.subscription) == (
        issued.customer,
        issued,
        None,
        None,
    )
    assert stored.dedupe_key == f"invoice_issued:{issued.pk}"
    assert stored.sent_at == NOW
    assert stored.error == ""


def test_invoice_email_attaches_the_real_pdf(entity, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    email_invoice_issued(invoice=invoice(entity, customer()), now=NOW)

    [(name, content, mimetype)] = only_message().attachments
    assert (name, mimetype) == ("INV-2026-00042.pdf", "application/pdf")
    assert content.startswith(b"%PDF")


def test_invoice_email_is_branded_by_the_entity(entity, pdfs):
    email_invoice_issued(invoice=invoice(entity, customer()), now=NOW)

    message = only_message()
    html = html_of(message)
    assert "background-color:#AA3300" in html
    assert "Acme Billing B.V. · KvK 12345678<br>Thank you for your business." in html
    assert "Keizersgracht 1 · 1015 AA Amsterdam · Netherlands · VAT ID NL859999999B01" in html
    assert "Questions? Simply reply to this e-mail or write to billing@acme.example." in message.body
    assert "Acme Billing B.V. · KvK 12345678\nThank you for your business." in message.body
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in html


def test_invoice_email_lists_the_payment_details(entity, pdfs):
    email_invoice_issued(invoice=invoice(entity, customer()), now=NOW)

    body = only_message().body
    facts = ["Invoice number: INV-2026-00042", "Total: €121.00", "Amount due: €121.00", "Due date: January 29, 2026"]
    assert "\n".join(facts) + "\n" in body
    assert (
        "How to pay\n"
        "Please transfer €121.00 by January 29, 2026 to IBAN NL91ABNA0417164300, quoting payment reference "
        "RF18 5390 0754 7034.\n\n"
        "Account holder: Acme Billing B.V.\n"
        "IBAN: NL91ABNA0417164300\n"
        "BIC: ABNANL2A\n"
        "Payment reference: RF18 5390 0754 7034\n"
    ) in body


def test_invoice_charged_automatically_says_so_and_asks_for_no_transfer(entity, pdfs):
    email_invoice_issued(invoice=invoice(entity, customer(), collection_method="charge_automatically"), now=NOW)

    body = only_message().body
    assert (
        "€121.00 will be charged to your payment method on file on January 29, 2026. You do not need to do anything."
    ) in body
    assert "IBAN" not in body
    assert "Payment reference" not in body


def test_zero_amount_invoice_says_nothing_is_due(entity, pdfs):
    zero = invoice(
        entity,
        customer(),
        subtotal=Decimal(0),
        tax=Decimal(0),
        total=Decimal(0),
        amount_due=Decimal(0),
        status=InvoiceStatus.PAID,
    )

    email_invoice_issued(invoice=zero, now=NOW)

    message = only_message()
    assert "There is nothing to pay for this invoice." in message.body
    assert "There is nothing to pay for this invoice." in html_of(message)
    assert "Amount due" not in message.body
    assert "IBAN" not in message.body
    assert message.attachments == [("INV-2026-00042.pdf", PDF, "application/pdf")]


def test_invoice_paid_from_credit_says_how_much_credit_was_used(entity, pdfs):
    covered = invoice(entity, customer(), credit_applied=Decimal("121.00"), amount_due=Decimal(0))

    email_invoice_issued(invoice=covered, now=NOW)

    body = only_message().body
    assert "€121.00 of your account credit was used for this invoice." in body
    assert "There is nothing to pay for this invoice." in body


def test_invoice_already_paid_says_thank_you(entity, pdfs):
    paid = invoice(entity, customer(), status=InvoiceStatus.PAID, amount_paid=Decimal("121.00"), amount_due=Decimal(0))

    email_invoice_issued(invoice=paid, now=NOW)

    assert "This invoice has already been paid. Thank you!" in only_message().body


def test_invoice_email_goes_once(entity, pdfs):
    issued = invoice(entity, customer())

    first = email_invoice_issued(invoice=issued, now=NOW)
    second = email_invoice_issued(invoice=issued, now=NOW + timedelta(hours=1))

    assert first is not None
    assert second is None
    assert len(mail.outbox) == 1
    assert EmailLog.objects.count() == 1
    assert pdfs == [issued]  # the PDF was not even made the second time


@pytest.mark.parametrize("status", [InvoiceStatus.DRAFT, InvoiceStatus.VOID])
def test_drafts_and_void_invoices_are_not_sent(entity, pdfs, status):
    number = "" if status == InvoiceStatus.DRAFT else "INV-2026-00042"
    unsent = invoice(entity, customer(), number=number, status=status)

    assert email_invoice_issued(invoice=unsent, now=NOW) is None

    assert mail.outbox == []
    assert EmailLog.objects.count() == 0


def test_language_without_wording_falls_back_to_english(entity, pdfs):
    german = customer()
    Customer.objects.filter(pk=german.pk).update(language="de")
    german.refresh_from_db()

    log = email_invoice_issued(invoice=invoice(entity, german), now=NOW)

    assert only_message().subject == "Invoice INV-2026-00042 from Acme Billing B.V."
    assert log is not None and log.language == "en"


def test_everything_the_customer_typed_is_escaped_in_html(entity, pdfs):
    email_invoice_issued(invoice=invoice(entity, customer(name="<script>alert(1)</script> & Co")), now=NOW)

    message = only_message()
    html = html_of(message)
    assert "<script>" not in html
    assert "Dear &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co," in html
    assert "Dear <script>alert(1)</script> & Co," in message.body  # plain text is not HTML: nothing to escape


def test_a_broken_brand_colour_cannot_break_out_of_the_style(entity, pdfs):
    entity.brand_color = '"><img'  # the admin validates it; a script or an import might not (7 characters fit)
    entity.save()

    email_invoice_issued(invoice=invoice(entity, customer()), now=NOW)

    html = html_of(only_message())
    assert "<img" not in html
    assert "background-color:#1F4E79" in html


# --- failures -----------------------------------------------------------------------------------


def test_mail_server_failure_is_logged_and_does_not_raise(entity, pdfs, mail_server_down, caplog):
    issued = invoice(entity, customer())

    log = email_invoice_issued(invoice=issued, now=NOW)

    assert mail.outbox == []
    assert log is not None
    stored = EmailLog.objects.get()
    assert stored == log
    assert stored.status == EmailStatus.FAILED
    assert stored.error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert stored.subject == "Invoice INV-2026-00042 from Acme Billing B.V."
    assert stored.body_text.startswith("Acme Billing B.V.\n\nDear Globex B.V.,\n")
    assert stored.dedupe_key == ""
    assert "Sending the invoice_issued e-mail" in caplog.text


def test_a_failed_e_mail_is_sent_on_the_next_attempt(entity, pdfs, monkeypatch):
    issued = invoice(entity, customer())
    with monkeypatch.context() as patch:
        patch.setattr(EmailBackend, "send_messages", lambda self, messages: (_ for _ in ()).throw(OSError("down")))
        failed = email_invoice_issued(invoice=issued, now=NOW)

    retried = email_invoice_issued(invoice=issued, now=NOW + timedelta(minutes=5))

    assert failed is not None and failed.status == EmailStatus.FAILED
    assert retried is not None and retried.status == EmailStatus.SENT
    assert len(mail.outbox) == 1
    assert list(EmailLog.objects.order_by("id").values_list("status", "dedupe_key")) == [
        ("failed", ""),
        ("sent", f"invoice_issued:{issued.pk}"),
    ]
    assert email_invoice_issued(invoice=issued, now=NOW + timedelta(minutes=10)) is None


def test_a_pdf_that_cannot_be_made_fails_the_e_mail_but_not_the_caller(entity, monkeypatch):
    import invoicing.services.documents as documents

    def broken(invoice):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(documents, "invoice_pdf_bytes", broken)

    log = email_invoice_issued(invoice=invoice(entity, customer()), now=NOW)

    assert mail.outbox == []
    assert log is not None
    assert (log.status, log.error) == (EmailStatus.FAILED, "RuntimeError: no fonts")


def test_email_send_with_a_used_dedupe_key_sends_nothing(entity):
    buyer = customer()
    context = {"number": "INV-1", "amount": None, "paid_on": NOW, "remaining": None}

    first = email_send(customer=buyer, kind=EmailKind.PAYMENT_RECEIPT, context=context, now=NOW, dedupe_key="k-1")
    second = email_send(customer=buyer, kind=EmailKind.PAYMENT_RECEIPT, context=context, now=NOW, dedupe_key="k-1")
    other_customer = email_send(
        customer=customer(email="other@example.com"),
        kind=EmailKind.PAYMENT_RECEIPT,
        context=context,
        now=NOW,
        dedupe_key="k-1",
    )

    assert first is not None and other_customer is not None
    assert second is None
    assert len(mail.outbox) == 2


def test_email_send_attaches_what_it_is_given(entity):
    buyer = customer()

    email_send(
        customer=buyer,
        kind=EmailKind.PAYMENT_RECEIPT,
        context={"number": "INV-1", "paid_on": NOW},
        now=NOW,
        attachments=[("receipt.csv", b"a,b\n", "text/csv")],
    )

    message = only_message()
    assert message.attachments == [("receipt.csv", "a,b\n", "text/csv")]  # Django hands text/* over decoded
    assert EmailLog.objects.get().attachments == ["receipt.csv"]


# --- credit notes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("en", "Credit note CN-2026-00007 for invoice INV-2026-00042"),
        ("nl", "Creditnota CN-2026-00007 voor factuur INV-2026-00042"),
        ("sv", "Kreditfaktura CN-2026-00007 för faktura INV-2026-00042"),
    ],
)
def test_credit_note_subject_in_the_customers_language(entity, pdfs, language, subject):
    corrected = invoice(entity, customer(language))
    note = credit_note(corrected, total="21.00", pre_payment_amount="21.00")

    email_credit_note_issued(credit_note=note, now=NOW)

    assert only_message().subject == subject


def test_credit_note_before_payment_lowers_what_is_due(entity, pdfs):
    corrected = invoice(entity, customer(), amount_credited=Decimal("21.00"), amount_due=Decimal("100.00"))
    note = credit_note(corrected, total="21.00", pre_payment_amount="21.00")

    log = email_credit_note_issued(credit_note=note, now=NOW)

    message = only_message()
    assert message.to == ["finance@globex.example", "ap@globex.example"]
    assert message.attachments == [("CN-2026-00007.pdf", CREDIT_PDF, "application/pdf")]
    assert (
        "We have issued credit note CN-2026-00007 for €21.00, which corrects invoice INV-2026-00042. "
        "The credit note is attached as a PDF."
    ) in message.body
    assert (
        "What happens to the money\n"
        "- €21.00 is deducted from what you still owe on invoice INV-2026-00042. "
        "€100.00 is still due on invoice INV-2026-00042.\n"
    ) in message.body
    assert "refund" not in message.body
    assert log is not None
    assert (log.credit_note, log.invoice, log.dedupe_key) == (note, corrected, f"credit_note_issued:{note.pk}")


def test_credit_note_after_payment_says_what_is_refunded_and_kept_as_credit(entity, pdfs):
    corrected = invoice(entity, customer("nl"), status=InvoiceStatus.PAID, amount_paid=Decimal("121.00"), amount_due=0)
    note = credit_note(corrected, total="60.50", refund_amount="50.00", credit_amount="10.50")

    email_credit_note_issued(credit_note=note, now=NOW)

    body = only_message().body
    assert f"- Wij betalen €{NBSP}50,00 aan u terug." in body
    assert f"- €{NBSP}10,50 blijft als tegoed op uw account staan en wordt verrekend met uw volgende facturen." in body
    assert "in mindering" not in body


def test_credit_note_that_settles_the_invoice_says_nothing_remains(entity, pdfs):
    corrected = invoice(entity, customer("sv"), amount_credited=Decimal("121.00"), amount_due=Decimal(0))
    note = credit_note(corrected, total="121.00", pre_payment_amount="121.00")

    email_credit_note_issued(credit_note=note, now=NOW)

    assert "Det finns inget kvar att betala på faktura INV-2026-00042." in only_message().body


def test_credit_notes_waiting_for_approval_are_not_sent(entity, pdfs):
    note = credit_note(invoice(entity, customer()), total="21.00", pre_payment_amount="21.00")
    CreditNote.objects.filter(pk=note.pk).update(status=CreditNoteStatus.PENDING_APPROVAL, number="")
    note.refresh_from_db()

    assert email_credit_note_issued(credit_note=note, now=NOW) is None
    assert mail.outbox == []


# --- payment receipts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "subject", "intro"),
    [
        ("en", "Payment received for invoice INV-2026-00042", "We received your payment of €21.00 for invoice "
         "INV-2026-00042 on January 15, 2026."),
        ("nl", "Betaling ontvangen voor factuur INV-2026-00042", f"Wij hebben op 15 januari 2026 uw betaling van "
         f"€{NBSP}21,00 voor factuur INV-2026-00042 ontvangen."),
        ("sv", "Betalning mottagen för faktura INV-2026-00042", f"Vi har tagit emot din betalning på 21,00{NBSP}€ "
         "för faktura INV-2026-00042 den 15 januari 2026."),
    ],
)  # fmt: skip
def test_payment_receipt(entity, language, subject, intro):
    partly_paid = invoice(entity, customer(language), amount_paid=Decimal("21.00"), amount_due=Decimal("100.00"))

    log = email_payment_receipt(invoice=partly_paid, amount=Decimal("21.00"), now=NOW, dedupe_key="payment:9")

    message = only_message()
    assert message.subject == subject
    assert intro in message.body
    assert message.to == ["finance@globex.example", "ap@globex.example"]
    assert message.attachments == []
    assert log is not None
    assert (log.kind, log.invoice, log.dedupe_key) == (EmailKind.PAYMENT_RECEIPT, partly_paid, "payment:9")


def test_payment_receipt_says_what_remains_or_that_it_is_paid(entity):
    buyer = customer()
    open_invoice = invoice(entity, buyer, amount_due=Decimal("100.00"))
    paid = invoice(entity, buyer, number="INV-2026-00043", status=InvoiceStatus.PAID, amount_due=Decimal(0))

    email_payment_receipt(invoice=open_invoice, amount=Decimal("21.00"), now=NOW)
    email_payment_receipt(invoice=paid, amount=Decimal("121.00"), now=NOW)

    partly, fully = mail.outbox
    assert "Still due: €100.00" in partly.body
    assert "€100.00 is still due on this invoice." in partly.body
    assert "The invoice is now paid in full." in fully.body
    assert "Still due" not in fully.body


def test_payment_receipt_with_the_same_key_goes_once(entity):
    paid = invoice(entity, customer(), status=InvoiceStatus.PAID, amount_due=Decimal(0))

    email_payment_receipt(invoice=paid, amount=Decimal("121.00"), now=NOW, dedupe_key="payment:1")
    again = email_payment_receipt(invoice=paid, amount=Decimal("121.00"), now=NOW, dedupe_key="payment:1")

    assert again is None
    assert len(mail.outbox) == 1


# --- renewals and trials ------------------------------------------------------------------------


def plan(name: str = "Team", *, interval: str = "month", amount: str = "29.00"):
    return make_plan_with_prices(
        {
            "pricing_model": "flat",
            "flat_amount": Decimal(amount),
            "interval": interval,
            "product": make_product(name=f"{name} fee"),
        },
        name=name,
    )


def subscribe(buyer: Customer, *, at: datetime, **kwargs: Any) -> Subscription:
    kwargs.setdefault("plan_version", plan())
    return make_subscription(buyer, now=at, **kwargs)


@pytest.mark.parametrize(
    ("language", "subject", "sentence"),
    [
        ("en", "Your Team subscription renews on February 10, 2026",
         "Your next invoice will be about €29.00, based on your current plan and usage so far."),
        ("nl", "Uw abonnement Team wordt verlengd op 10 februari 2026",
         f"Uw volgende factuur bedraagt naar verwachting ongeveer €{NBSP}29,00, op basis van uw huidige abonnement "
         "en uw gebruik tot nu toe."),
        ("sv", "Ditt abonnemang Team förnyas den 10 februari 2026",
         f"Din nästa faktura blir ungefär 29,00{NBSP}€, baserat på ditt nuvarande abonnemang och din användning "
         "hittills."),
    ],
)  # fmt: skip
def test_upcoming_renewal(entity, estimate, language, subject, sentence):
    renewing = subscribe(customer(language), at=datetime(2026, 1, 10, 12, 0, tzinfo=UTC))

    log = email_upcoming_renewal(subscription=renewing, now=datetime(2026, 2, 5, tzinfo=UTC))

    message = only_message()
    assert message.subject == subject
    assert sentence in message.body
    assert message.to == ["finance@globex.example"]  # reminders go to the main address only
    assert message.attachments == []
    assert log is not None
    assert (log.subscription, log.invoice) == (renewing, None)
    assert log.dedupe_key == f"upcoming_renewal:{renewing.pk}:2026-02-10T12:00:00+00:00"


def test_upcoming_renewal_without_an_estimate_leaves_it_out(entity, no_upcoming_service):
    renewing = subscribe(customer(), at=datetime(2026, 1, 10, 12, 0, tzinfo=UTC))

    email_upcoming_renewal(subscription=renewing, now=datetime(2026, 2, 5, tzinfo=UTC))

    message = only_message()
    assert "about" not in message.body
    assert "estimate" not in message.body
    assert "Your Team subscription renews automatically on February 10, 2026." in message.body
    assert "On that day we will charge your payment method on file." in message.body


def test_upcoming_renewal_with_the_real_estimate(entity):
    renewing = subscribe(customer(), at=datetime(2026, 1, 10, 12, 0, tzinfo=UTC))

    log = email_upcoming_renewal(subscription=renewing, now=datetime(2026, 2, 5, tzinfo=UTC))

    assert log is not None and log.status == EmailStatus.SENT
    assert log.subject == "Your Team subscription renews on February 10, 2026"
    assert "Next invoice (estimate): €29.00\n" in log.body_text


def test_renewal_date_is_the_entitys_local_date(entity, no_upcoming_service):
    # 23:30 UTC on 9 February is already 10 February in Amsterdam.
    renewing = subscribe(customer(), at=datetime(2026, 1, 9, 23, 30, tzinfo=UTC))

    email_upcoming_renewal(subscription=renewing, now=datetime(2026, 2, 5, tzinfo=UTC))

    assert only_message().subject == "Your Team subscription renews on February 10, 2026"


def test_plan_names_are_escaped_in_the_html_subject_too(entity, no_upcoming_service):
    renewing = subscribe(customer(), at=datetime(2026, 1, 10, 12, 0, tzinfo=UTC), plan_version=plan("Team <Pro>"))

    email_upcoming_renewal(subscription=renewing, now=datetime(2026, 2, 5, tzinfo=UTC))

    message = only_message()
    assert message.subject == "Your Team <Pro> subscription renews on February 10, 2026"
    assert "<title>Your Team &lt;Pro&gt; subscription renews on February 10, 2026</title>" in html_of(message)
    assert "<Pro>" not in html_of(message)


def test_subscription_e_mails_are_branded_by_the_customers_own_entity(entity, no_upcoming_service):
    nordic = BillingEntity.objects.create(
        name="Acme Nordic AB",
        address_line1="Drottninggatan 1",
        postal_code="111 51",
        city="Stockholm",
        country="SE",
        email="faktura@acme.example",
        brand_color="#006AA7",
        time_zone="Europe/Stockholm",
        created_at=NOW,
        updated_at=NOW,
    )
    buyer = customer("sv")
    CustomerEntity.objects.create(customer=buyer, entity=nordic)
    renewing = subscribe(buyer, at=datetime(2026, 1, 10, 12, 0, tzinfo=UTC))

    email_upcoming_renewal(subscription=renewing, now=datetime(2026, 2, 5, tzinfo=UTC))

    message = only_message()
    assert message.from_email == "Acme Nordic AB <billing@localhost>"
    assert message.reply_to == ["faktura@acme.example"]
    assert "background-color:#006AA7" in html_of(message)
    assert "Du får det här mejlet eftersom du är kund hos Acme Nordic AB." in message.body


@pytest.mark.parametrize(
    ("language", "subject", "sentence"),
    [
        ("en", "Your trial ends on February 7, 2026",
         "To keep your subscription after the trial, please add a payment method before February 7, 2026"),
        ("nl", "Uw proefperiode eindigt op 7 februari 2026",
         "Wilt u uw abonnement na de proefperiode behouden? Voeg dan vóór 7 februari 2026 een betaalmethode toe"),
        ("sv", "Din provperiod slutar den 7 februari 2026",
         "Vill du behålla abonnemanget efter provperioden? Lägg då till en betalningsmetod före den 7 februari 2026"),
    ],
)  # fmt: skip
def test_trial_ending(entity, no_upcoming_service, language, subject, sentence):
    trialing = subscribe(
        customer(language), at=datetime(2026, 1, 10, 12, 0, tzinfo=UTC), trial_end=datetime(2026, 2, 7, 12, tzinfo=UTC)
    )
    assert trialing.status == SubscriptionStatus.TRIALING

    log = email_trial_ending(subscription=trialing, now=datetime(2026, 2, 5, tzinfo=UTC))

    message = only_message()
    assert message.subject == subject
    assert sentence in message.body
    assert message.to == ["finance@globex.example"]
    assert log is not None
    assert log.dedupe_key == f"trial_ending:{trialing.pk}:2026-02-07T12:00:00+00:00"


def test_trial_ending_that_converts_invites_to_add_a_payment_method(entity, estimate, settings):
    settings.TRIAL_END_WITHOUT_PAYMENT_METHOD = "convert"
    trialing = subscribe(
        customer(), at=datetime(2026, 1, 10, 12, 0, tzinfo=UTC), trial_end=datetime(2026, 2, 7, 12, tzinfo=UTC)
    )

    email_trial_ending(subscription=trialing, now=datetime(2026, 2, 5, tzinfo=UTC))

    body = only_message().body
    assert (
        "After that, your subscription continues on the paid plan. Add a payment method before February 7, 2026 "
        "to pay automatically; otherwise we will send you an invoice."
    ) in body
    assert "First invoice (estimate): €29.00" in body
    assert "If you do not want to continue, cancel before February 7, 2026 and you will not be charged." in body


# --- reminders ----------------------------------------------------------------------------------


def test_reminders_go_to_exactly_the_subscriptions_that_are_due_for_one(entity, no_upcoming_service, settings):
    settings.RENEWAL_REMINDER_DAYS = 7
    settings.TRIAL_ENDING_REMINDER_DAYS = 3
    now = datetime(2026, 2, 5, 8, 0, tzinfo=UTC)

    numbers = itertools.count(1)

    def sub(at: datetime, **kwargs: Any) -> Subscription:
        return subscribe(customer(email=f"customer{next(numbers)}@example.com"), at=at, **kwargs)

    monthly_due = sub(datetime(2026, 1, 10, tzinfo=UTC))  # renews 10 Feb
    yearly_due = sub(datetime(2025, 2, 11, tzinfo=UTC), plan_version=plan("Yearly", interval="year"))  # 11 Feb
    past_due = sub(datetime(2026, 1, 12, tzinfo=UTC))  # renews 12 Feb, payment failed
    subscription_transition(past_due, to=SubscriptionStatus.PAST_DUE, actor=ACTOR, now=now)
    past_due.save(update_fields=["status"])
    trial_due = sub(datetime(2026, 1, 20, tzinfo=UTC), trial_end=datetime(2026, 2, 8, tzinfo=UTC))

    not_yet = sub(datetime(2026, 1, 20, tzinfo=UTC))  # renews 20 Feb: beyond the window
    edge = sub(datetime(2026, 1, 12, 8, 0, 1, tzinfo=UTC))  # renews 12 Feb 08:00:01: one second too far
    weekly = sub(datetime(2026, 2, 1, tzinfo=UTC), plan_version=plan("Weekly", interval="week"))  # renews 8 Feb
    canceling = sub(datetime(2026, 1, 10, tzinfo=UTC))
    subscription_cancel(subscription=canceling, actor=ACTOR, now=now, at_period_end=True, reason_code="other")
    trial_later = sub(datetime(2026, 1, 20, tzinfo=UTC), trial_end=datetime(2026, 2, 9, tzinfo=UTC))
    clock = test_clock_create(name="Demo", frozen_time=datetime(2026, 1, 10, tzinfo=UTC), actor=ACTOR, now=now)
    test_customer = make_customer(email="test@example.com", test_clock=clock, now=datetime(2026, 1, 10, tzinfo=UTC))
    on_clock = subscribe(test_customer, at=datetime(2026, 1, 10, tzinfo=UTC))
    skipped = [not_yet, edge, weekly, canceling, trial_later, on_clock]

    sent = reminders_send(now=now)

    assert sent == 4
    assert set(EmailLog.objects.values_list("kind", "subscription_id")) == {
        (EmailKind.UPCOMING_RENEWAL, monthly_due.pk),
        (EmailKind.UPCOMING_RENEWAL, yearly_due.pk),
        (EmailKind.UPCOMING_RENEWAL, past_due.pk),
        (EmailKind.TRIAL_ENDING, trial_due.pk),
    }
    assert not EmailLog.objects.filter(subscription__in=skipped).exists()
    assert len(mail.outbox) == 4

    assert reminders_send(now=now) == 0  # each reminder goes once
    assert len(mail.outbox) == 4
    assert reminders_send(now=now + timedelta(hours=1)) == 1  # the renewal at 12 Feb 08:00:01 is in the window now
    assert EmailLog.objects.filter(subscription=edge, kind=EmailKind.UPCOMING_RENEWAL).count() == 1


def test_reminders_count_only_what_was_sent(entity, no_upcoming_service, mail_server_down):
    subscribe(customer(), at=datetime(2026, 1, 10, tzinfo=UTC))

    assert reminders_send(now=datetime(2026, 2, 5, tzinfo=UTC)) == 0

    assert EmailLog.objects.get().status == EmailStatus.FAILED


def test_reminder_windows_come_from_the_settings(entity, no_upcoming_service, settings):
    settings.RENEWAL_REMINDER_DAYS = 2
    subscribe(customer(), at=datetime(2026, 1, 10, tzinfo=UTC))  # renews 10 Feb

    assert reminders_send(now=datetime(2026, 2, 5, tzinfo=UTC)) == 0
    assert reminders_send(now=datetime(2026, 2, 8, tzinfo=UTC)) == 1
