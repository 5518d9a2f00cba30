"""What the PDF renderer prints: plain, frozen data, built by the caller from an invoice or credit note.

The renderer never touches the ORM: whoever finalizes an invoice turns it into a ``Document``
(amounts already computed and rounded, texts already worded) and calls ``render_pdf``. That keeps
the layout testable without a database and the PDF a faithful picture of the numbers it is given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["Branding", "Document", "DocumentLine", "Party", "TaxRow", "TierRow"]


@dataclass(frozen=True)
class Party:
    name: str
    address_lines: tuple[str, ...]  # street, postal code + city, etc. already formatted
    country: str  # ISO code such as "NL"; printed as the country's name in the document language
    vat_id: str = ""
    registration_id: str = ""  # company registration (KvK, org.nr.), the seller's mostly
    email: str = ""


@dataclass(frozen=True)
class Branding:
    color: str = "#1F4E79"  # "#RRGGBB" accent: header rule, table header background, totals
    logo: bytes | None = None  # PNG or JPEG bytes, drawn top-left within 45 mm × 18 mm, aspect kept
    footer: str = ""  # the entity's footer text, printed small on every page


@dataclass(frozen=True)
class TierRow:
    """One row of a usage line's pricing breakdown."""

    description: str  # "First 100,000 calls": worded by the caller
    quantity: Decimal
    unit_amount: Decimal  # up to 12 decimals (0.000125)
    flat_amount: Decimal
    amount: Decimal


@dataclass(frozen=True)
class DocumentLine:
    description: str
    quantity: Decimal
    unit_amount: Decimal | None  # None when not meaningful (a flat fee shown without unit price)
    amount: Decimal  # net amount before discount, rounded to the currency
    discount: Decimal = Decimal("0")  # discount allocated to this line (positive)
    period_start: dt.datetime | None = None  # service period, half-open [start, end)
    period_end: dt.datetime | None = None
    tax_label: str = ""  # "21%", "0% (reverse charge)", "exempt"
    proration: bool = False  # prints a small "prorated" marker
    tiers: tuple[TierRow, ...] = ()  # printed indented under the line, smaller


@dataclass(frozen=True)
class TaxRow:
    """One row of the tax summary: one per tax category and rate."""

    label: str  # "VAT 21%"
    category: str  # EN 16931 code: S, Z, E, AE …
    rate: Decimal
    taxable_amount: Decimal
    tax_amount: Decimal
    exemption_reason: str = ""


@dataclass(frozen=True)
class Document:
    kind: str  # "invoice" | "credit_note"
    number: str  # "" for a draft: printed as "Draft" with a DRAFT watermark
    language: str  # "en" | "nl" | "sv"; others fall back to English
    currency: str  # ISO 4217
    issue_date: dt.date
    seller: Party
    buyer: Party
    lines: tuple[DocumentLine, ...]
    subtotal: Decimal  # sum of line amounts
    discount: Decimal  # total discount (positive)
    tax_rows: tuple[TaxRow, ...]
    tax: Decimal
    total: Decimal
    branding: Branding = field(default_factory=Branding)
    due_date: dt.date | None = None
    time_zone: str = "UTC"  # service periods are printed as dates in this zone
    credit_applied: Decimal = Decimal("0")  # customer balance used
    amount_paid: Decimal = Decimal("0")
    amount_due: Decimal = Decimal("0")
    notes: tuple[str, ...] = ()  # legal mentions (reverse charge …), printed prominently under the totals
    payment_terms: str = ""  # "Payment within 14 days": worded by the caller, printed as given
    iban: str = ""
    bic: str = ""
    payment_reference: str = ""  # structured RF reference, see invoicing.domain.reference
    related_number: str = ""  # credit note: the invoice it corrects
    reason: str = ""  # credit note: why
    purchase_order: str = ""
    status_stamp: str = ""  # "PAID", "VOID" …: English words are translated, others printed as given
