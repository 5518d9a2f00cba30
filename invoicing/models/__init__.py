from invoicing.models.balance import BalanceKind, BalanceTransaction
from invoicing.models.credit_note import CreditNote, CreditNoteLine, CreditNoteReason, CreditNoteStatus
from invoicing.models.email import EmailKind, EmailLog, EmailStatus
from invoicing.models.entity import BillingEntity, CustomerEntity, NumberReset, NumberSeries
from invoicing.models.invoice import (
    PERIOD_KINDS,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    InvoiceTax,
    LineKind,
)

__all__ = [
    "PERIOD_KINDS",
    "BalanceKind",
    "BalanceTransaction",
    "BillingEntity",
    "CreditNote",
    "CreditNoteLine",
    "CreditNoteReason",
    "CreditNoteStatus",
    "CustomerEntity",
    "EmailKind",
    "EmailLog",
    "EmailStatus",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceStatus",
    "InvoiceTax",
    "LineKind",
    "NumberReset",
    "NumberSeries",
]
