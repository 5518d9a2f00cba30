"""E-mails to customers: invoices, credit notes, receipts, renewal and trial-end reminders.

Every message goes through ``email_send``: it renders ``templates/emails/<kind>/`` (subject, text and
HTML) in the customer's language, branded by the legal entity that bills them, sends it, and writes
an ``EmailLog`` row whatever happens. A mail server that refuses is logged as a failed e-mail and
never breaks the caller (a billing run, a payment webhook).

Wording lives in ``WORDINGS``, one dictionary per language, rather than in gettext catalogues (as the
PDF's ``invoicing.pdf.labels`` does): a message is written in the customer's language whatever the
active locale is, a translator sees every sentence of a message side by side, and a language without a
word falls back to English. A wording is a sentence with placeholders filled from the message's
context, or a tuple of alternatives: the first whose placeholders are all known is used, and a
sentence none of whose alternatives can be filled is left out (so "about {estimate}" disappears when
there is no estimate). Templates only lay the sentences out.

``dedupe_key`` makes an e-mail go once per customer: a database constraint on (customer, key) is
claimed in the same transaction that sends, so two workers cannot both send it. A failed attempt
does not use the key up: the next attempt (the next reminder run, a resend) tries again.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from email.utils import formataddr, parseaddr
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import translation
from djmoney.money import Money

from billing_site.money import format_money
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
from subscriptions.models import CollectionMethod, Customer, Subscription, SubscriptionStatus
from subscriptions.services.customers import country_name

__all__ = [
    "DEFAULT_LANGUAGE",
    "WORDINGS",
    "email_credit_note_issued",
    "email_invoice_issued",
    "email_language",
    "email_payment_receipt",
    "email_recipients",
    "email_send",
    "email_trial_ending",
    "email_upcoming_renewal",
    "reminders_send",
]

logger = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "en"
DEFAULT_BRAND_COLOR = "#1F4E79"
_HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_UNSAFE_FILE_NAME = re.compile(r"[^\w.-]+")

#: Kinds that also go to the customer's extra invoice addresses (the accounts payable team).
INVOICE_KINDS = frozenset({EmailKind.INVOICE_ISSUED, EmailKind.CREDIT_NOTE_ISSUED, EmailKind.PAYMENT_RECEIPT})

Attachment = tuple[str, bytes, str]
Wording = str | tuple[str, ...]

# fmt: off
WORDINGS: dict[str, dict[str, dict[str, Wording]]] = {
    "en": {
        "common": {
            "greeting": "Dear {customer_name},",
            "signoff": "Kind regards,",
            "questions": "Questions? Simply reply to this e-mail or write to {reply_to}.",
            "why_received": ("You receive this e-mail because you are a customer of {entity_name}.",),
            "vat_id": "VAT ID {entity_vat_id}",
        },
        EmailKind.INVOICE_ISSUED: {
            "subject": "Invoice {number} from {entity_name}",
            "heading": "Your invoice {number}",
            "intro": "Thank you for your business. Your invoice {number} for {total} is attached as a PDF.",
            "label_number": "Invoice number",
            "label_total": "Total",
            "label_amount_due": "Amount due",
            "label_due_date": "Due date",
            "how_to_pay": "How to pay",
            "label_beneficiary": "Account holder",
            "label_iban": "IBAN",
            "label_bic": "BIC",
            "label_reference": "Payment reference",
            "pay_by_transfer": (
                "Please transfer {amount_due} by {due_date} to IBAN {iban}, quoting payment reference {reference}.",
                "Please transfer {amount_due} to IBAN {iban}, quoting payment reference {reference}.",
                "Please pay {amount_due} by {due_date}, quoting payment reference {reference}.",
                "Please pay {amount_due}, quoting payment reference {reference}.",
            ),
            "pay_automatically": (
                "{amount_due} will be charged to your payment method on file on {due_date}. "
                "You do not need to do anything.",
                "{amount_due} will be charged to your payment method on file. You do not need to do anything.",
            ),
            "nothing_due": "There is nothing to pay for this invoice.",
            "already_paid": "This invoice has already been paid. Thank you!",
            "credit_used": "{credit_applied} of your account credit was used for this invoice.",
        },
        EmailKind.CREDIT_NOTE_ISSUED: {
            "subject": "Credit note {number} for invoice {invoice_number}",
            "heading": "Credit note {number}",
            "intro": "We have issued credit note {number} for {total}, which corrects invoice {invoice_number}. "
                     "The credit note is attached as a PDF.",
            "label_number": "Credit note number",
            "label_invoice": "Corrects invoice",
            "label_total": "Amount credited",
            "what_happens": "What happens to the money",
            "pre_payment": "{pre_payment} is deducted from what you still owe on invoice {invoice_number}.",
            "invoice_remaining": (
                "{invoice_amount_due} is still due on invoice {invoice_number}.",
                "Nothing remains to be paid on invoice {invoice_number}.",
            ),
            "refund": "We are refunding {refund} to you. Depending on your bank, it can take a few business days "
                      "to arrive.",
            "credit": "{credit} is kept as credit on your account and will be deducted from your next invoices.",
            "out_of_band": "{out_of_band} has been settled with you separately.",
        },
        EmailKind.PAYMENT_RECEIPT: {
            "subject": "Payment received for invoice {number}",
            "heading": "Thank you for your payment",
            "intro": "We received your payment of {amount} for invoice {number} on {paid_on}.",
            "label_number": "Invoice number",
            "label_amount": "Amount received",
            "label_paid_on": "Received on",
            "label_remaining": "Still due",
            "remaining": "{remaining} is still due on this invoice.",
            "paid_in_full": "The invoice is now paid in full.",
            "keep_as_receipt": "Please keep this e-mail as your receipt.",
        },
        EmailKind.UPCOMING_RENEWAL: {
            "subject": (
                "Your {plan} subscription renews on {renews_on}",
                "Your subscription renews on {renews_on}",
            ),
            "heading": "Your subscription renews soon",
            "intro": (
                "Your {plan} subscription renews automatically on {renews_on}.",
                "Your subscription renews automatically on {renews_on}.",
            ),
            "label_plan": "Plan",
            "label_renews_on": "Renews on",
            "label_estimate": "Next invoice (estimate)",
            "estimate": "Your next invoice will be about {estimate}, based on your current plan and usage so far.",
            "renewal_charge": "On that day we will charge your payment method on file.",
            "renewal_invoice": "On that day we will send you the invoice.",
            "change_note": "You do not need to do anything to continue. If you want to change or cancel your "
                           "subscription, please do so before {renews_on}.",
        },
        EmailKind.TRIAL_ENDING: {
            "subject": "Your trial ends on {trial_ends_on}",
            "heading": "Your trial ends soon",
            "intro": (
                "Your trial of {plan} ends on {trial_ends_on}.",
                "Your trial ends on {trial_ends_on}.",
            ),
            "label_plan": "Plan",
            "label_trial_ends_on": "Trial ends on",
            "label_estimate": "First invoice (estimate)",
            "outcome_charge": "After that, your subscription continues on the paid plan and we will charge your "
                              "payment method on file.",
            "outcome_invoice": "After that, your subscription continues on the paid plan and we will send you "
                               "an invoice.",
            "outcome_convert_add": "After that, your subscription continues on the paid plan. Add a payment method "
                                   "before {trial_ends_on} to pay automatically; otherwise we will send you an "
                                   "invoice.",
            "outcome_cancel": "To keep your subscription after the trial, please add a payment method before "
                              "{trial_ends_on}: it then continues on the paid plan. Without a payment method, the "
                              "subscription ends when the trial ends.",
            "outcome_pause": "To keep using the service without interruption, please add a payment method before "
                             "{trial_ends_on}: it then continues on the paid plan. Without a payment method, the "
                             "subscription is paused when the trial ends, until you add one.",
            "cancel_note": "If you do not want to continue, cancel before {trial_ends_on} and you will not be "
                           "charged.",
        },
    },
    "nl": {
        "common": {
            "greeting": "Beste {customer_name},",
            "signoff": "Met vriendelijke groet,",
            "questions": "Vragen? Beantwoord deze e-mail of schrijf naar {reply_to}.",
            "why_received": ("U ontvangt deze e-mail omdat u klant bent van {entity_name}.",),
            "vat_id": "Btw-id {entity_vat_id}",
        },
        EmailKind.INVOICE_ISSUED: {
            "subject": "Factuur {number} van {entity_name}",
            "heading": "Uw factuur {number}",
            "intro": "Hartelijk dank voor uw vertrouwen. In de bijlage vindt u factuur {number} van {total} "
                     "als pdf.",
            "label_number": "Factuurnummer",
            "label_total": "Totaal",
            "label_amount_due": "Te betalen",
            "label_due_date": "Vervaldatum",
            "how_to_pay": "Zo betaalt u",
            "label_beneficiary": "Ten name van",
            "label_iban": "IBAN",
            "label_bic": "BIC",
            "label_reference": "Betalingskenmerk",
            "pay_by_transfer": (
                "Maak {amount_due} uiterlijk {due_date} over naar IBAN {iban}, onder vermelding van "
                "betalingskenmerk {reference}.",
                "Maak {amount_due} over naar IBAN {iban}, onder vermelding van betalingskenmerk {reference}.",
                "Betaal {amount_due} uiterlijk {due_date}, onder vermelding van betalingskenmerk {reference}.",
                "Betaal {amount_due}, onder vermelding van betalingskenmerk {reference}.",
            ),
            "pay_automatically": (
                "Wij schrijven {amount_due} op {due_date} af van uw geregistreerde betaalmethode. "
                "U hoeft niets te doen.",
                "Wij schrijven {amount_due} af van uw geregistreerde betaalmethode. U hoeft niets te doen.",
            ),
            "nothing_due": "U hoeft voor deze factuur niets te betalen.",
            "already_paid": "Deze factuur is al betaald. Hartelijk dank!",
            "credit_used": "Er is {credit_applied} van uw tegoed met deze factuur verrekend.",
        },
        EmailKind.CREDIT_NOTE_ISSUED: {
            "subject": "Creditnota {number} voor factuur {invoice_number}",
            "heading": "Creditnota {number}",
            "intro": "Wij hebben creditnota {number} van {total} opgesteld als correctie op factuur "
                     "{invoice_number}. U vindt de creditnota als pdf in de bijlage.",
            "label_number": "Creditnotanummer",
            "label_invoice": "Correctie op factuur",
            "label_total": "Gecrediteerd bedrag",
            "what_happens": "Wat er met het bedrag gebeurt",
            "pre_payment": "{pre_payment} wordt in mindering gebracht op wat u nog verschuldigd bent op factuur "
                           "{invoice_number}.",
            "invoice_remaining": (
                "Op factuur {invoice_number} staat nog {invoice_amount_due} open.",
                "Op factuur {invoice_number} staat niets meer open.",
            ),
            "refund": "Wij betalen {refund} aan u terug. Afhankelijk van uw bank kan het enkele werkdagen duren "
                      "voordat het bedrag is bijgeschreven.",
            "credit": "{credit} blijft als tegoed op uw account staan en wordt verrekend met uw volgende facturen.",
            "out_of_band": "{out_of_band} is apart met u verrekend.",
        },
        EmailKind.PAYMENT_RECEIPT: {
            "subject": "Betaling ontvangen voor factuur {number}",
            "heading": "Bedankt voor uw betaling",
            "intro": "Wij hebben op {paid_on} uw betaling van {amount} voor factuur {number} ontvangen.",
            "label_number": "Factuurnummer",
            "label_amount": "Ontvangen bedrag",
            "label_paid_on": "Ontvangen op",
            "label_remaining": "Nog te betalen",
            "remaining": "Op deze factuur staat nog {remaining} open.",
            "paid_in_full": "De factuur is nu volledig betaald.",
            "keep_as_receipt": "Bewaar deze e-mail als betalingsbewijs.",
        },
        EmailKind.UPCOMING_RENEWAL: {
            "subject": (
                "Uw abonnement {plan} wordt verlengd op {renews_on}",
                "Uw abonnement wordt verlengd op {renews_on}",
            ),
            "heading": "Uw abonnement wordt binnenkort verlengd",
            "intro": (
                "Uw abonnement {plan} wordt op {renews_on} automatisch verlengd.",
                "Uw abonnement wordt op {renews_on} automatisch verlengd.",
            ),
            "label_plan": "Abonnement",
            "label_renews_on": "Verlengd op",
            "label_estimate": "Volgende factuur (schatting)",
            "estimate": "Uw volgende factuur bedraagt naar verwachting ongeveer {estimate}, op basis van uw huidige "
                        "abonnement en uw gebruik tot nu toe.",
            "renewal_charge": "Op die dag schrijven wij het bedrag af van uw geregistreerde betaalmethode.",
            "renewal_invoice": "Op die dag sturen wij u de factuur.",
            "change_note": "U hoeft niets te doen om door te gaan. Wilt u uw abonnement wijzigen of opzeggen, doe "
                           "dat dan vóór {renews_on}.",
        },
        EmailKind.TRIAL_ENDING: {
            "subject": "Uw proefperiode eindigt op {trial_ends_on}",
            "heading": "Uw proefperiode loopt bijna af",
            "intro": (
                "Uw proefperiode voor {plan} eindigt op {trial_ends_on}.",
                "Uw proefperiode eindigt op {trial_ends_on}.",
            ),
            "label_plan": "Abonnement",
            "label_trial_ends_on": "Proefperiode eindigt op",
            "label_estimate": "Eerste factuur (schatting)",
            "outcome_charge": "Daarna loopt uw abonnement door als betaald abonnement en schrijven wij het bedrag "
                              "af van uw geregistreerde betaalmethode.",
            "outcome_invoice": "Daarna loopt uw abonnement door als betaald abonnement en sturen wij u een factuur.",
            "outcome_convert_add": "Daarna loopt uw abonnement door als betaald abonnement. Voeg vóór "
                                   "{trial_ends_on} een betaalmethode toe om automatisch te betalen; anders sturen "
                                   "wij u een factuur.",
            "outcome_cancel": "Wilt u uw abonnement na de proefperiode behouden? Voeg dan vóór {trial_ends_on} een "
                              "betaalmethode toe: het loopt dan door als betaald abonnement. Zonder betaalmethode "
                              "eindigt het abonnement wanneer de proefperiode afloopt.",
            "outcome_pause": "Voeg vóór {trial_ends_on} een betaalmethode toe om de dienst zonder onderbreking te "
                             "blijven gebruiken: uw abonnement loopt dan door als betaald abonnement. Zonder "
                             "betaalmethode wordt het abonnement na de proefperiode gepauzeerd, totdat u er een "
                             "toevoegt.",
            "cancel_note": "Wilt u niet doorgaan? Zeg dan vóór {trial_ends_on} op; er worden dan geen kosten in "
                           "rekening gebracht.",
        },
    },
    "sv": {
        "common": {
            "greeting": "Hej {customer_name},",
            "signoff": "Vänliga hälsningar,",
            "questions": "Frågor? Svara på det här mejlet eller skriv till {reply_to}.",
            "why_received": ("Du får det här mejlet eftersom du är kund hos {entity_name}.",),
            "vat_id": "Momsreg.nr {entity_vat_id}",
        },
        EmailKind.INVOICE_ISSUED: {
            "subject": "Faktura {number} från {entity_name}",
            "heading": "Din faktura {number}",
            "intro": "Tack för att du är kund hos oss. Faktura {number} på {total} finns bifogad som pdf.",
            "label_number": "Fakturanummer",
            "label_total": "Totalt",
            "label_amount_due": "Att betala",
            "label_due_date": "Förfallodatum",
            "how_to_pay": "Så betalar du",
            "label_beneficiary": "Mottagare",
            "label_iban": "IBAN",
            "label_bic": "BIC",
            "label_reference": "Betalningsreferens",
            "pay_by_transfer": (
                "Betala {amount_due} senast {due_date} till IBAN {iban} och ange betalningsreferens {reference}.",
                "Betala {amount_due} till IBAN {iban} och ange betalningsreferens {reference}.",
                "Betala {amount_due} senast {due_date} och ange betalningsreferens {reference}.",
                "Betala {amount_due} och ange betalningsreferens {reference}.",
            ),
            "pay_automatically": (
                "{amount_due} dras från din registrerade betalningsmetod den {due_date}. Du behöver inte göra något.",
                "{amount_due} dras från din registrerade betalningsmetod. Du behöver inte göra något.",
            ),
            "nothing_due": "Du behöver inte betala något för den här fakturan.",
            "already_paid": "Den här fakturan är redan betald. Tack!",
            "credit_used": "{credit_applied} av ditt tillgodohavande har dragits av på den här fakturan.",
        },
        EmailKind.CREDIT_NOTE_ISSUED: {
            "subject": "Kreditfaktura {number} för faktura {invoice_number}",
            "heading": "Kreditfaktura {number}",
            "intro": "Vi har utfärdat kreditfaktura {number} på {total}, som rättar faktura {invoice_number}. "
                     "Kreditfakturan finns bifogad som pdf.",
            "label_number": "Kreditfakturanummer",
            "label_invoice": "Avser faktura",
            "label_total": "Krediterat belopp",
            "what_happens": "Vad som händer med beloppet",
            "pre_payment": "{pre_payment} dras av från det du är skyldig på faktura {invoice_number}.",
            "invoice_remaining": (
                "Kvar att betala på faktura {invoice_number}: {invoice_amount_due}.",
                "Det finns inget kvar att betala på faktura {invoice_number}.",
            ),
            "refund": "Vi betalar tillbaka {refund} till dig. Beroende på din bank kan det ta några bankdagar "
                      "innan pengarna syns på kontot.",
            "credit": "{credit} sparas som tillgodohavande på ditt konto och dras av från dina kommande fakturor.",
            "out_of_band": "{out_of_band} har reglerats med dig separat.",
        },
        EmailKind.PAYMENT_RECEIPT: {
            "subject": "Betalning mottagen för faktura {number}",
            "heading": "Tack för din betalning",
            "intro": "Vi har tagit emot din betalning på {amount} för faktura {number} den {paid_on}.",
            "label_number": "Fakturanummer",
            "label_amount": "Mottaget belopp",
            "label_paid_on": "Mottaget den",
            "label_remaining": "Kvar att betala",
            "remaining": "Det återstår {remaining} att betala på fakturan.",
            "paid_in_full": "Fakturan är nu betald i sin helhet.",
            "keep_as_receipt": "Spara det här mejlet som kvitto.",
        },
        EmailKind.UPCOMING_RENEWAL: {
            "subject": (
                "Ditt abonnemang {plan} förnyas den {renews_on}",
                "Ditt abonnemang förnyas den {renews_on}",
            ),
            "heading": "Ditt abonnemang förnyas snart",
            "intro": (
                "Ditt abonnemang {plan} förnyas automatiskt den {renews_on}.",
                "Ditt abonnemang förnyas automatiskt den {renews_on}.",
            ),
            "label_plan": "Abonnemang",
            "label_renews_on": "Förnyas den",
            "label_estimate": "Nästa faktura (uppskattning)",
            "estimate": "Din nästa faktura blir ungefär {estimate}, baserat på ditt nuvarande abonnemang och din "
                        "användning hittills.",
            "renewal_charge": "Samma dag drar vi beloppet från din registrerade betalningsmetod.",
            "renewal_invoice": "Samma dag skickar vi fakturan till dig.",
            "change_note": "Du behöver inte göra något för att fortsätta. Vill du ändra eller säga upp "
                           "abonnemanget behöver du göra det före den {renews_on}.",
        },
        EmailKind.TRIAL_ENDING: {
            "subject": "Din provperiod slutar den {trial_ends_on}",
            "heading": "Din provperiod tar snart slut",
            "intro": (
                "Din provperiod för {plan} slutar den {trial_ends_on}.",
                "Din provperiod slutar den {trial_ends_on}.",
            ),
            "label_plan": "Abonnemang",
            "label_trial_ends_on": "Provperioden slutar",
            "label_estimate": "Första fakturan (uppskattning)",
            "outcome_charge": "Därefter fortsätter abonnemanget som ett betalt abonnemang och vi drar beloppet från "
                              "din registrerade betalningsmetod.",
            "outcome_invoice": "Därefter fortsätter abonnemanget som ett betalt abonnemang och vi skickar en "
                               "faktura till dig.",
            "outcome_convert_add": "Därefter fortsätter abonnemanget som ett betalt abonnemang. Lägg till en "
                                   "betalningsmetod före den {trial_ends_on} för att betala automatiskt; annars "
                                   "skickar vi en faktura till dig.",
            "outcome_cancel": "Vill du behålla abonnemanget efter provperioden? Lägg då till en betalningsmetod före "
                              "den {trial_ends_on}, så fortsätter det som ett betalt abonnemang. Utan "
                              "betalningsmetod avslutas abonnemanget när provperioden tar slut.",
            "outcome_pause": "Lägg till en betalningsmetod före den {trial_ends_on} för att kunna fortsätta använda "
                             "tjänsten utan avbrott; abonnemanget fortsätter då som ett betalt abonnemang. Utan "
                             "betalningsmetod pausas abonnemanget när provperioden tar slut, tills du lägger till "
                             "en.",
            "cancel_note": "Om du inte vill fortsätta kan du säga upp abonnemanget före den {trial_ends_on}, så "
                           "debiteras du ingenting.",
        },
    },
}
# fmt: on


# --- language, entity, recipients ---------------------------------------------------------------


def email_language(customer: Customer) -> str:
    """The customer's language when we have words for it ("nl-BE" → "nl"), else English."""
    language = (customer.language or "").strip().lower().replace("_", "-").split("-")[0]
    return language if language in WORDINGS else DEFAULT_LANGUAGE


def email_entity(
    *, customer: Customer, invoice: Invoice | None = None, credit_note: CreditNote | None = None
) -> BillingEntity | None:
    """The legal entity an e-mail speaks for: the document's, the customer's, else the default one."""
    if invoice is not None:
        return invoice.entity
    if credit_note is not None:
        return credit_note.entity
    link = CustomerEntity.objects.filter(customer=customer).select_related("entity").first()
    if link is not None:
        return link.entity
    return BillingEntity.objects.filter(is_default=True).first()


def email_recipients(customer: Customer, kind: str) -> list[str]:
    """The main address, plus the extra invoice addresses for invoices, credit notes and receipts."""
    candidates = [customer.email]
    if kind in INVOICE_KINDS:
        candidates += list(customer.invoice_emails or [])
    seen: set[str] = set()
    recipients = []
    for address in candidates:
        address = (address or "").strip()
        if address and address.casefold() not in seen:
            seen.add(address.casefold())
            recipients.append(address)
    return recipients


def _zone(entity: BillingEntity | None) -> ZoneInfo:
    try:
        return ZoneInfo(entity.time_zone) if entity is not None and entity.time_zone else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _brand(entity: BillingEntity | None, language: str) -> dict[str, Any]:
    if entity is None:
        return {"name": "", "color": DEFAULT_BRAND_COLOR, "footer": "", "address_lines": [], "vat_id": "", "email": ""}
    color = entity.brand_color if _HEX_COLOR.fullmatch(entity.brand_color or "") else DEFAULT_BRAND_COLOR
    city = " ".join(part for part in (entity.postal_code, entity.city) if part)
    lines = [entity.address_line1, entity.address_line2, city, entity.region]
    if entity.country:
        lines.append(country_name(entity.country, language))
    return {
        "name": entity.name,
        "color": color,
        "footer": entity.invoice_footer,
        "address_lines": [line for line in lines if line],
        "vat_id": entity.vat_id,
        "email": entity.email,
    }


# --- rendering ----------------------------------------------------------------------------------


def _format_value(value: Any, *, language: str, zone: ZoneInfo) -> Any:
    """Amounts and dates as a reader of that language writes them; dates in the entity's time zone."""
    if isinstance(value, Money):
        return format_money(value.amount, str(value.currency), language)
    if isinstance(value, dt.datetime):
        return format_date(value.astimezone(zone).date(), format="long", locale=language)
    if isinstance(value, dt.date):
        return format_date(value, format="long", locale=language)
    return value


def _sentences(language: str, kind: str, values: Mapping[str, Any]) -> dict[str, str]:
    """Every wording of the kind (and the common ones) filled in; those that cannot be filled are left out."""
    known = {name: str(value) for name, value in values.items() if value is not None and value != ""}
    english = WORDINGS[DEFAULT_LANGUAGE]
    own = WORDINGS.get(language, english)
    wordings: dict[str, Wording] = {
        **english["common"],
        **english.get(kind, {}),
        **own.get("common", {}),
        **own.get(kind, {}),
    }
    sentences = {}
    for key, wording in wordings.items():
        for alternative in (wording,) if isinstance(wording, str) else wording:
            try:
                sentence = alternative.format_map(known)
            except KeyError:
                continue
            if alternative.endswith("}.") and sentence.endswith(".."):  # "… of Acme B.V.." → "… of Acme B.V."
                sentence = sentence[:-1]
            sentences[key] = sentence
            break
    return sentences


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def _render(
    *, kind: str, language: str, entity: BillingEntity | None, customer: Customer, context: Mapping[str, Any]
) -> tuple[str, str, str]:
    """(subject, text, html) of one message."""
    zone = _zone(entity)
    brand = _brand(entity, language)
    values: dict[str, Any] = {
        "customer_name": customer.name,
        "entity_name": brand["name"],
        "entity_vat_id": brand["vat_id"],
        "reply_to": brand["email"],
    }
    values.update({name: _format_value(value, language=language, zone=zone) for name, value in context.items()})
    sentences = _sentences(language, kind, values)
    template_context = {**values, "t": sentences, "brand": brand, "language": language}
    with translation.override(language):
        rendered = render_to_string(f"emails/{kind}/subject.txt", template_context)
        # One line, and a plain str again: the HTML escapes it like any other value.
        subject = " ".join(rendered.split()) or str(EmailKind(kind).label)
        template_context["subject"] = subject
        text = _tidy_text(render_to_string(f"emails/{kind}/message.txt", template_context))
        html = render_to_string(f"emails/{kind}/message.html", template_context)
    return subject[:300], text, html


def _from_address(entity: BillingEntity | None) -> str:
    """Our own sending address (so SPF and DKIM hold), shown under the entity's name."""
    display, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    name = entity.name if entity is not None else display
    return formataddr((name, address)) if name else address


# --- sending ------------------------------------------------------------------------------------


def _already_sent(customer: Customer, dedupe_key: str) -> bool:
    return bool(dedupe_key) and EmailLog.objects.filter(customer=customer, dedupe_key=dedupe_key).exists()


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def email_send(
    *,
    customer: Customer,
    kind: str,
    context: Mapping[str, Any],
    now: dt.datetime,
    invoice: Invoice | None = None,
    credit_note: CreditNote | None = None,
    subscription: Subscription | None = None,
    attachments: Sequence[Attachment] = (),
    dedupe_key: str = "",
) -> EmailLog | None:
    """Render, send and log one e-mail to a customer; ``None`` when ``dedupe_key`` was already used.

    ``context`` holds the facts the kind's wordings and template need: ``Money`` values and datetimes
    are written in the customer's language (dates in the entity's time zone). ``attachments`` are
    ``(file name, bytes, mimetype)``. Never raises for a mail failure: the log row says "failed".
    """
    return _send(
        customer=customer,
        kind=kind,
        context=context,
        now=now,
        invoice=invoice,
        credit_note=credit_note,
        subscription=subscription,
        attachments=lambda: list(attachments),
        dedupe_key=dedupe_key,
    )


def _send(
    *,
    customer: Customer,
    kind: str,
    context: Mapping[str, Any],
    now: dt.datetime,
    invoice: Invoice | None,
    credit_note: CreditNote | None,
    subscription: Subscription | None,
    attachments: Callable[[], Sequence[Attachment]],
    dedupe_key: str,
) -> EmailLog | None:
    """``email_send`` with attachments made only when the e-mail is really sent (a PDF is not free)."""
    if _already_sent(customer, dedupe_key):
        return None
    kind = EmailKind(kind)
    language = email_language(customer)
    log = EmailLog(
        customer=customer,
        kind=kind,
        to=email_recipients(customer, kind),
        subject=str(kind.label),
        language=language,
        body_text="",
        status=EmailStatus.SENT,
        invoice=invoice,
        credit_note=credit_note,
        subscription=subscription,
        dedupe_key=dedupe_key,
        sent_at=now,
    )
    try:
        entity = email_entity(customer=customer, invoice=invoice, credit_note=credit_note)
        log.subject, log.body_text, html = _render(
            kind=kind, language=language, entity=entity, customer=customer, context=context
        )
        files = list(attachments())
        log.attachments = [name for name, _content, _mimetype in files]
        if not log.to:
            raise ValueError("The customer has no e-mail address.")
        message = EmailMultiAlternatives(
            subject=log.subject,
            body=log.body_text,
            from_email=_from_address(entity),
            to=log.to,
            reply_to=[entity.email] if entity is not None and entity.email else None,
        )
        message.attach_alternative(html, "text/html")
        for name, content, mimetype in files:
            message.attach(name, content, mimetype)
    except Exception as error:
        logger.exception("Could not compose the %s e-mail to customer %s", kind, customer.pk)
        return _failed(log, error)
    try:
        with transaction.atomic():
            log.save()  # claims the dedupe key first: a second sender stops here, before sending anything
            message.send(fail_silently=False)
    except IntegrityError:
        if not dedupe_key:
            raise
        logger.info("The %s e-mail %r to customer %s was sent meanwhile", kind, dedupe_key, customer.pk)
        return None
    except Exception as error:
        logger.exception("Sending the %s e-mail to customer %s failed", kind, customer.pk)
        return _failed(log, error)
    logger.info("Sent the %s e-mail to customer %s (%s)", kind, customer.pk, ", ".join(log.to))
    return log


def _failed(log: EmailLog, error: BaseException) -> EmailLog:
    """Record the attempt; its dedupe key stays free so that the next attempt can still send."""
    log.pk = None
    log.status = EmailStatus.FAILED
    log.error = _error_text(error)
    log.dedupe_key = ""
    log.save()
    return log


# --- the messages -------------------------------------------------------------------------------


def _money(amount: Decimal | Money, currency: str) -> Money:
    return amount if isinstance(amount, Money) else Money(amount, currency)


def _positive(amount: Money) -> Money | None:
    """The amount when there is one to mention; ``None`` leaves its sentence out."""
    return amount if amount.amount > 0 else None


def _file_name(number: str) -> str:
    return f"{_UNSAFE_FILE_NAME.sub('-', number).strip('-') or 'document'}.pdf"


def email_invoice_issued(*, invoice: Invoice, now: dt.datetime) -> EmailLog | None:
    """The finalized invoice with its PDF, what is due and how to pay it. Sent once per invoice."""
    if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID) or not invoice.number:
        logger.info("Invoice %s is %s: no e-mail", invoice.pk, invoice.status)
        return None
    dedupe_key = f"invoice_issued:{invoice.pk}"
    if _already_sent(invoice.customer, dedupe_key):
        return None
    seller = invoice.seller or {}
    entity = invoice.entity
    if invoice.status == InvoiceStatus.PAID:
        state = "paid" if invoice.amount_paid.amount > 0 else "nothing_due"
    elif invoice.amount_due.amount <= 0:
        state = "nothing_due"
    elif invoice.collection_method == CollectionMethod.CHARGE_AUTOMATICALLY:
        state = "automatic"
    else:
        state = "transfer"
    context = {
        "state": state,
        "number": invoice.number,
        "total": invoice.total,
        "amount_due": invoice.amount_due,
        "due_date": invoice.due_at,
        "credit_applied": _positive(invoice.credit_applied),
        "beneficiary": seller.get("name") or entity.name,
        "iban": seller.get("iban") or entity.iban,
        "bic": seller.get("bic") or entity.bic,
        "reference": invoice.payment_reference or invoice.number,
    }

    def pdf() -> list[Attachment]:
        from invoicing.services.documents import invoice_pdf_bytes

        return [(_file_name(invoice.number), invoice_pdf_bytes(invoice), "application/pdf")]

    return _send(
        customer=invoice.customer,
        kind=EmailKind.INVOICE_ISSUED,
        context=context,
        now=now,
        invoice=invoice,
        credit_note=None,
        subscription=None,
        attachments=pdf,
        dedupe_key=dedupe_key,
    )


def email_credit_note_issued(*, credit_note: CreditNote, now: dt.datetime) -> EmailLog | None:
    """The issued credit note with its PDF, the invoice it corrects and what happens to the money."""
    if credit_note.status != CreditNoteStatus.ISSUED or not credit_note.number:
        logger.info("Credit note %s is %s: no e-mail", credit_note.pk, credit_note.status)
        return None
    dedupe_key = f"credit_note_issued:{credit_note.pk}"
    if _already_sent(credit_note.customer, dedupe_key):
        return None
    invoice = Invoice.objects.get(pk=credit_note.invoice_id)  # as it is now, the credit note applied
    context = {
        "number": credit_note.number,
        "invoice_number": invoice.number,
        "total": credit_note.total,
        "pre_payment": _positive(credit_note.pre_payment_amount),
        "refund": _positive(credit_note.refund_amount),
        "credit": _positive(credit_note.credit_amount),
        "out_of_band": _positive(credit_note.out_of_band_amount),
        "invoice_amount_due": _positive(invoice.amount_due),
    }

    def pdf() -> list[Attachment]:
        from invoicing.services.documents import credit_note_pdf_bytes

        return [(_file_name(credit_note.number), credit_note_pdf_bytes(credit_note), "application/pdf")]

    return _send(
        customer=credit_note.customer,
        kind=EmailKind.CREDIT_NOTE_ISSUED,
        context=context,
        now=now,
        invoice=invoice,
        credit_note=credit_note,
        subscription=None,
        attachments=pdf,
        dedupe_key=dedupe_key,
    )


def email_payment_receipt(
    *, invoice: Invoice, amount: Decimal | Money, now: dt.datetime, dedupe_key: str = ""
) -> EmailLog | None:
    """A receipt for a payment of ``amount`` on ``invoice`` (as it stands after the payment)."""
    context = {
        "number": invoice.number,
        "amount": _money(amount, invoice.currency),
        "paid_on": now,
        "remaining": _positive(invoice.amount_due),
    }
    return email_send(
        customer=invoice.customer,
        kind=EmailKind.PAYMENT_RECEIPT,
        context=context,
        now=now,
        invoice=invoice,
        dedupe_key=dedupe_key,
    )


def _plan_name(subscription: Subscription) -> str | None:
    version = subscription.plan_version
    return version.plan.name if version is not None else None


def _estimate(subscription: Subscription, now: dt.datetime) -> Money | None:
    """What the next invoice would be now; ``None`` when it cannot be told (the sentence is left out)."""
    try:
        from invoicing.services.upcoming import invoice_upcoming
    except ImportError:
        logger.debug("No upcoming-invoice service: renewal e-mails carry no estimate")
        return None
    try:
        draft = invoice_upcoming(subscription=subscription, now=now)
    except Exception:
        logger.warning("No estimate for subscription %s", subscription.pk, exc_info=True)
        return None
    if draft.total < 0:  # a credit, not something to prepare for
        return None
    return Money(draft.total, draft.currency)


def email_upcoming_renewal(*, subscription: Subscription, now: dt.datetime) -> EmailLog | None:
    """The subscription renews on ``current_period_end``: when, which plan, about how much. Once per period."""
    dedupe_key = f"upcoming_renewal:{subscription.pk}:{subscription.current_period_end.isoformat()}"
    if _already_sent(subscription.customer, dedupe_key):
        return None
    context = {
        "plan": _plan_name(subscription),
        "renews_on": subscription.current_period_end,
        "estimate": _estimate(subscription, now),
        "charge_automatically": subscription.collection_method == CollectionMethod.CHARGE_AUTOMATICALLY,
    }
    return email_send(
        customer=subscription.customer,
        kind=EmailKind.UPCOMING_RENEWAL,
        context=context,
        now=now,
        subscription=subscription,
        dedupe_key=dedupe_key,
    )


def _trial_outcome(subscription: Subscription) -> str:
    """What the trial end will do, as ``subscriptions.services.lifecycle.trials`` decides it."""
    from subscriptions.selectors.subscriptions import customer_has_payment_method
    from subscriptions.services.lifecycle.trials import trial_end_behavior

    charges = subscription.collection_method == CollectionMethod.CHARGE_AUTOMATICALLY
    if customer_has_payment_method(subscription.customer):
        return "charge" if charges else "invoice"
    try:
        behavior = trial_end_behavior()
    except ImproperlyConfigured:
        behavior = "cancel"
    if behavior == "convert":
        return "convert_add" if charges else "invoice"
    return behavior  # "cancel" or "pause"


def email_trial_ending(*, subscription: Subscription, now: dt.datetime) -> EmailLog | None:
    """The trial ends on ``trial_end``: what happens then, and to add a payment method. Once per trial end."""
    if subscription.trial_end is None:
        return None
    dedupe_key = f"trial_ending:{subscription.pk}:{subscription.trial_end.isoformat()}"
    if _already_sent(subscription.customer, dedupe_key):
        return None
    outcome = _trial_outcome(subscription)
    context = {
        "plan": _plan_name(subscription),
        "trial_ends_on": subscription.trial_end,
        "outcome": outcome,
        "estimate": _estimate(subscription, now) if outcome in ("charge", "invoice", "convert_add") else None,
    }
    return email_send(
        customer=subscription.customer,
        kind=EmailKind.TRIAL_ENDING,
        context=context,
        now=now,
        subscription=subscription,
        dedupe_key=dedupe_key,
    )


def reminders_send(*, now: dt.datetime) -> int:
    """Remind of renewals and trial ends coming up; each reminder goes once. Returns how many were sent.

    Renewals: active or past-due subscriptions that renew within ``RENEWAL_REMINDER_DAYS`` (7) and whose
    period is longer than twice that (a weekly plan would otherwise be reminded all the time). Trials:
    those ending within ``TRIAL_ENDING_REMINDER_DAYS`` (3). Test-clock customers live in their clock's
    time, not in ``now``: advancing the clock is what happens to them.
    """
    renewal_window = dt.timedelta(days=getattr(settings, "RENEWAL_REMINDER_DAYS", 7))
    trial_window = dt.timedelta(days=getattr(settings, "TRIAL_ENDING_REMINDER_DAYS", 3))
    live = Subscription.objects.filter(customer__test_clock__isnull=True, cancel_at_period_end=False).select_related(
        "customer", "plan_version__plan"
    )
    renewals = live.filter(
        status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE],
        current_period_end__gt=now,
        current_period_end__lte=now + renewal_window,
        current_period_start__lt=F("current_period_end") - 2 * renewal_window,
    ).order_by("pk")
    trials = live.filter(
        status=SubscriptionStatus.TRIALING, trial_end__gt=now, trial_end__lte=now + trial_window
    ).order_by("pk")
    sent = 0
    for subscription in renewals:
        log = email_upcoming_renewal(subscription=subscription, now=now)
        sent += log is not None and log.status == EmailStatus.SENT
    for subscription in trials:
        log = email_trial_ending(subscription=subscription, now=now)
        sent += log is not None and log.status == EmailStatus.SENT
    return sent
