"""E-mails to customers: invoices, credit notes, receipts, reminders, and the e-mails of collection and dunning.

Every message goes through ``email_send``: it renders ``templates/emails/<kind>/`` (subject, text and
HTML) in the customer's language, branded by the legal entity that bills them, sends it, and writes
an ``EmailLog`` row whatever happens. A mail server that refuses is logged as a failed e-mail and
never breaks the caller (a billing run, a payment webhook).

Wording lives in ``WORDINGS`` (in ``invoicing.services.email_wordings``), one dictionary per
language, rather than in gettext catalogues (as the PDF's ``invoicing.pdf.labels`` does): a message is
written in the customer's language whatever the active locale is, a translator sees every sentence of
a message side by side, and a language without a word falls back to English. A wording is a sentence with placeholders filled from the message's
context, or a tuple of alternatives: the first whose placeholders are all known is used, and a
sentence none of whose alternatives can be filled is left out (so "about {estimate}" disappears when
there is no estimate). Templates only lay the sentences out, and choose between them by plain context
values (``reason``, ``stage``, ``action``) where a message says one thing or another.

``dedupe_key`` makes an e-mail go once per customer: a database constraint on (customer, key) is
claimed in the same transaction that sends, so two workers cannot both send it. A failed attempt
does not use the key up: the next attempt (the next reminder run, a resend) tries again.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from email.utils import formataddr, parseaddr
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_skeleton
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.template.loader import render_to_string
from django.utils import translation
from djmoney.money import Money

from billing_site.money import format_money
from invoicing.models import (
    BillingEntity,
    CreditNote,
    CreditNoteStatus,
    CustomerEntity,
    DunningCase,
    EmailKind,
    EmailLog,
    EmailStatus,
    FinalAction,
    Invoice,
    InvoiceStatus,
    PaymentAttempt,
    PaymentMethod,
    PaymentMethodStatus,
)
from invoicing.services.email_wordings import WORDINGS, Wording
from invoicing.services.links import MAX_AGE, PAYMENT_METHOD, payment_action_link, payment_method_link
from subscriptions.models import CollectionMethod, Customer, Subscription, SubscriptionStatus
from subscriptions.services.customers import country_name

__all__ = [
    "DEFAULT_LANGUAGE",
    "WORDINGS",
    "card_expiry_reminders_send",
    "email_card_expiring",
    "email_credit_note_issued",
    "email_dunning_final",
    "email_invoice_issued",
    "email_invoice_overdue",
    "email_language",
    "email_payment_action_required",
    "email_payment_failed",
    "email_payment_method_required",
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

#: Kinds that also go to the customer's extra invoice addresses (the accounts payable team, who pay invoices).
INVOICE_KINDS = frozenset(
    {EmailKind.INVOICE_ISSUED, EmailKind.CREDIT_NOTE_ISSUED, EmailKind.PAYMENT_RECEIPT, EmailKind.INVOICE_OVERDUE}
)

Attachment = tuple[str, bytes, str]


@dataclass(frozen=True)
class Month:
    """A calendar month in a message ("February 2026"), as a card's expiry is."""

    year: int
    month: int


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
    if isinstance(value, Month):
        return format_skeleton("yMMMM", dt.date(value.year, value.month, 1), locale=language)
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


def _transfer_details(invoice: Invoice) -> dict[str, Any]:
    """Where to transfer the money and the reference to quote, as the invoice states them (the seller's snapshot)."""
    seller = invoice.seller or {}
    entity = invoice.entity
    return {
        "beneficiary": seller.get("name") or entity.name,
        "iban": seller.get("iban") or entity.iban,
        "bic": seller.get("bic") or entity.bic,
        "reference": invoice.payment_reference or invoice.number,
    }


def _invoice_pdf(invoice: Invoice) -> Callable[[], list[Attachment]]:
    """The invoice's PDF as an attachment, made only when the e-mail is really sent."""

    def pdf() -> list[Attachment]:
        from invoicing.services.documents import invoice_pdf_bytes

        return [(_file_name(invoice.number), invoice_pdf_bytes(invoice), "application/pdf")]

    return pdf


def email_invoice_issued(*, invoice: Invoice, now: dt.datetime) -> EmailLog | None:
    """The finalized invoice with its PDF, what is due and how to pay it. Sent once per invoice."""
    if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID) or not invoice.number:
        logger.info("Invoice %s is %s: no e-mail", invoice.pk, invoice.status)
        return None
    dedupe_key = f"invoice_issued:{invoice.pk}"
    if _already_sent(invoice.customer, dedupe_key):
        return None
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
        **_transfer_details(invoice),
    }
    return _send(
        customer=invoice.customer,
        kind=EmailKind.INVOICE_ISSUED,
        context=context,
        now=now,
        invoice=invoice,
        credit_note=None,
        subscription=None,
        attachments=_invoice_pdf(invoice),
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
    those ending within ``TRIAL_ENDING_REMINDER_DAYS`` (3). Cards expiring next month: see
    ``card_expiry_reminders_send``. Test-clock customers live in their clock's time, not in ``now``:
    advancing the clock is what happens to them.
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
    return sent + card_expiry_reminders_send(now=now)


# --- collection and dunning ---------------------------------------------------------------------

#: Card brands as people write them; others are title-cased ("visa" → "Visa").
_BRANDS = {
    "amex": "American Express",
    "cartes_bancaires": "Cartes Bancaires",
    "diners": "Diners Club",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
}

#: The issuer's decline codes (and our failure codes) a customer can act on, by the sentence that explains them.
_DECLINE_REASONS = {
    "insufficient_funds": "insufficient_funds",
    "card_velocity_exceeded": "limit",
    "withdrawal_count_limit_exceeded": "limit",
    "processing_error": "processing_error",
    "try_again_later": "processing_error",
    "issuer_not_available": "processing_error",
    "reenter_transaction": "processing_error",
}

METHOD_REQUIRED_REASONS = ("hard_decline", "no_payment_method", "expired")
FINAL_ACTIONS = ("cancel", "mark_unpaid", "leave_past_due", "suspend")


def _method_label(method: PaymentMethod | None) -> str | None:
    """What the customer knows their card by, as "Visa •••• 4242" (no expiry: a message says it in words)."""
    if method is None:
        return None
    brand = method.brand.strip().lower()
    name = _BRANDS.get(brand, brand.replace("_", " ").title()) if brand else str(method.get_kind_display())
    return f"{name} •••• {method.last4}" if method.last4 else name


def _owed(invoice: Invoice) -> bool:
    """Whether there is still something to ask for: a paid or voided invoice gets no collection e-mail."""
    if invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE) and invoice.amount_due.amount > 0:
        return True
    logger.info("Invoice %s is %s with %s due: no collection e-mail", invoice.pk, invoice.status, invoice.amount_due)
    return False


def _payment_method_link(customer_id: int) -> dict[str, Any]:
    return {"link": payment_method_link(customer_id), "link_days": MAX_AGE[PAYMENT_METHOD] // 86400}


def _days_overdue(invoice: Invoice, now: dt.datetime) -> int | None:
    """Whole days since the due date, counted in the entity's time zone; ``None`` when not overdue."""
    if invoice.due_at is None:
        return None
    zone = _zone(invoice.entity)
    days = (now.astimezone(zone).date() - invoice.due_at.astimezone(zone).date()).days
    return days if days > 0 else None


def email_payment_failed(
    *, attempt: PaymentAttempt, next_retry_at: dt.datetime | None, now: dt.datetime
) -> EmailLog | None:
    """A charge was declined but may succeed later (a soft decline): why, when we try again, how to change card."""
    invoice = attempt.invoice
    dedupe_key = f"payment_failed:{attempt.pk}"
    if not _owed(invoice) or _already_sent(invoice.customer, dedupe_key):
        return None
    code = attempt.decline_code or attempt.failure_code
    context = {
        "number": invoice.number,
        "amount": attempt.amount,
        "card": _method_label(attempt.payment_method),
        "reason": _DECLINE_REASONS.get(attempt.decline_code) or _DECLINE_REASONS.get(code) or "generic",
        "next_retry": next_retry_at,
        **_payment_method_link(invoice.customer_id),
    }
    return email_send(
        customer=invoice.customer,
        kind=EmailKind.PAYMENT_FAILED,
        context=context,
        now=now,
        invoice=invoice,
        dedupe_key=dedupe_key,
    )


def email_payment_action_required(*, attempt: PaymentAttempt, now: dt.datetime) -> EmailLog | None:
    """The customer's bank wants them to confirm the payment (3-D Secure): a button to the confirmation page."""
    invoice = attempt.invoice
    dedupe_key = f"payment_action_required:{attempt.pk}"
    if not _owed(invoice) or _already_sent(invoice.customer, dedupe_key):
        return None
    link = attempt.action_url if attempt.action_url.startswith(("https://", "http://")) else ""
    context = {
        "number": invoice.number,
        "amount": attempt.amount,
        "card": _method_label(attempt.payment_method),
        "link": link or payment_action_link(attempt.pk),
    }
    return email_send(
        customer=invoice.customer,
        kind=EmailKind.PAYMENT_ACTION_REQUIRED,
        context=context,
        now=now,
        invoice=invoice,
        dedupe_key=dedupe_key,
    )


def _card_of(invoice: Invoice) -> PaymentMethod | None:
    """The card the invoice was last tried on, else the customer's default one."""
    attempt = (
        PaymentAttempt.objects.filter(invoice=invoice, payment_method__isnull=False)
        .select_related("payment_method")
        .order_by("-number")
        .first()
    )
    if attempt is not None:
        return attempt.payment_method
    return PaymentMethod.objects.filter(customer_id=invoice.customer_id, is_default=True).order_by("-pk").first()


def email_payment_method_required(*, invoice: Invoice, reason: str, step: int, now: dt.datetime) -> EmailLog | None:
    """We cannot charge the invoice until the customer adds a payment method; once per dunning step.

    ``reason``: ``hard_decline`` (the bank declined the card for good: lost, stolen, closed …),
    ``no_payment_method`` or ``expired``. From the second e-mail on the subject says it is a reminder.
    """
    if reason not in METHOD_REQUIRED_REASONS:
        raise ValueError(f"Unknown reason {reason!r}: use one of {', '.join(METHOD_REQUIRED_REASONS)}.")
    dedupe_key = f"payment_method_required:{invoice.pk}:{step}"
    if not _owed(invoice) or _already_sent(invoice.customer, dedupe_key):
        return None
    reminded = EmailLog.objects.filter(
        invoice=invoice, kind=EmailKind.PAYMENT_METHOD_REQUIRED, status=EmailStatus.SENT
    ).exists()
    context = {
        "number": invoice.number,
        "amount_due": invoice.amount_due,
        "reason": reason,
        "card": _method_label(_card_of(invoice)) if reason != "no_payment_method" else None,
        "reminder": reminded,
        **_payment_method_link(invoice.customer_id),
    }
    return email_send(
        customer=invoice.customer,
        kind=EmailKind.PAYMENT_METHOD_REQUIRED,
        context=context,
        now=now,
        invoice=invoice,
        dedupe_key=dedupe_key,
    )


def _overdue_stage(invoice: Invoice, step: int) -> tuple[str, str | None]:
    """How firm the reminder is (first, second, later, final) and, in the final one, what happens next.

    The final reminder is the one on the last day of the invoice's dunning schedule; what follows is the
    policy's final action when it stops the subscription (leaving it past due needs no warning).
    """
    case = DunningCase.objects.filter(invoice=invoice).select_related("policy").first()
    schedule = len(case.policy.retry_days or []) if case is not None else 0
    if schedule and step >= schedule:
        action = case.policy.final_action if case is not None else ""
        stops = invoice.subscription_id is not None and action in (FinalAction.CANCEL, FinalAction.MARK_UNPAID)
        return "final", str(action) if stops else None
    if step <= 1:
        return "first", None
    return ("second" if step == 2 else "later"), None


def email_invoice_overdue(*, invoice: Invoice, step: int, now: dt.datetime) -> EmailLog | None:
    """An invoice paid by transfer is past its due date: how much, how to pay, the PDF again. Once per step.

    Step 1 is a friendly reminder; later steps are firmer, and the last step of the dunning schedule is the
    final reminder (with what happens if it stays unpaid).
    """
    dedupe_key = f"invoice_overdue:{invoice.pk}:{step}"
    if not invoice.number or not _owed(invoice) or _already_sent(invoice.customer, dedupe_key):
        return None
    stage, consequence = _overdue_stage(invoice, step)
    context = {
        "number": invoice.number,
        "amount_due": invoice.amount_due,
        "due_date": invoice.due_at,
        "days_overdue": _days_overdue(invoice, now),
        "step": step,
        "stage": stage,
        "final": stage == "final",
        "consequence": consequence,
        **_transfer_details(invoice),
    }
    return _send(
        customer=invoice.customer,
        kind=EmailKind.INVOICE_OVERDUE,
        context=context,
        now=now,
        invoice=invoice,
        credit_note=None,
        subscription=None,
        attachments=_invoice_pdf(invoice),
        dedupe_key=dedupe_key,
    )


def email_card_expiring(*, method: PaymentMethod, now: dt.datetime) -> EmailLog | None:
    """The card on file expires at the end of its month: a link to replace it. Once per card and expiry."""
    if not method.exp_year or not method.exp_month:
        return None
    dedupe_key = f"card_expiring:{method.pk}:{method.exp_year}-{method.exp_month}"
    if _already_sent(method.customer, dedupe_key):
        return None
    context = {
        "card": _method_label(method),
        "expires": Month(method.exp_year, method.exp_month),
        **_payment_method_link(method.customer_id),
    }
    return email_send(
        customer=method.customer, kind=EmailKind.CARD_EXPIRING, context=context, now=now, dedupe_key=dedupe_key
    )


def email_dunning_final(*, invoice: Invoice, action: str, now: dt.datetime) -> EmailLog | None:
    """Dunning ended without payment and this is what we did: ``cancel``, ``mark_unpaid``, ``suspend`` (access
    suspended until paid) or ``leave_past_due`` (a last reminder). Says what is still owed and how to pay it.
    """
    if action not in FINAL_ACTIONS:
        raise ValueError(f"Unknown action {action!r}: use one of {', '.join(FINAL_ACTIONS)}.")
    dedupe_key = f"dunning_final:{invoice.pk}:{action}"
    if not _owed(invoice) or _already_sent(invoice.customer, dedupe_key):
        return None
    subscription = invoice.subscription
    by_card = invoice.collection_method == CollectionMethod.CHARGE_AUTOMATICALLY
    context = {
        "action": action,
        "number": invoice.number,
        "amount_due": invoice.amount_due,
        "due_date": invoice.due_at,
        "plan": _plan_name(subscription) if subscription is not None else None,
        "by_card": by_card,
        **_transfer_details(invoice),
        **(_payment_method_link(invoice.customer_id) if by_card else {}),
    }
    return email_send(
        customer=invoice.customer,
        kind=EmailKind.DUNNING_FINAL,
        context=context,
        now=now,
        invoice=invoice,
        subscription=subscription,
        dedupe_key=dedupe_key,
    )


def card_expiry_reminders_send(*, now: dt.datetime) -> int:
    """Remind customers whose default card expires next month (in UTC) to replace it. Returns how many were sent.

    Only cards that will be charged: active default methods of customers with a live subscription
    (active, trialing or past due). Test-clock customers live in their clock's time, not in ``now``.
    """
    today = now.astimezone(dt.UTC)
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    live = Subscription.objects.filter(
        customer=OuterRef("customer"),
        status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE],
    )
    methods = (
        PaymentMethod.objects.filter(
            status=PaymentMethodStatus.ACTIVE,
            is_default=True,
            exp_year=year,
            exp_month=month,
            customer__test_clock__isnull=True,
        )
        .filter(Exists(live))
        .select_related("customer")
        .order_by("pk")
    )
    sent = 0
    for method in methods:
        log = email_card_expiring(method=method, now=now)
        sent += log is not None and log.status == EmailStatus.SENT
    return sent
