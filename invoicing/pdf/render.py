"""Invoice and credit note PDFs with reportlab's platypus: a ``Document`` in, A4 PDF bytes out.

Pure rendering: no ORM, no settings, no I/O beyond the bytes returned. Amounts go through
``billing_site.money`` so that the PDF shows exactly the rounding the invoice was computed with,
and dates and country names through Babel in the document's language.

Text is set in the PDF standard fonts (Helvetica), which every viewer has and which need no
embedding. They cover Western European text (€, å, ä, ö, ß, é …); a character outside their
WinAnsi encoding is folded to its closest plain letter ("Łódź" -> "Lódz": ó is WinAnsi, Ł and ź
are not) rather than printed as a black box.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import unicodedata
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal, localcontext
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    HRFlowable,
    Image,
    KeepTogether,
    LongTable,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from billing_site.money import format_money, format_unit_amount
from invoicing.domain.reference import is_valid_creditor_reference
from invoicing.pdf.document import Document, DocumentLine, Party
from invoicing.pdf.labels import label_language, labels_for, stamp_text

__all__ = ["render_pdf"]

logger = logging.getLogger(__name__)

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 18 * mm
MARGIN_TOP = 15 * mm
MARGIN_TOP_LATER = 24 * mm  # room for the running header on pages 2+
MARGIN_BOTTOM = 24 * mm  # room for the footer
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X

LOGO_MAX_WIDTH = 45 * mm
LOGO_MAX_HEIGHT = 18 * mm

# Lines table: description takes what the four figures leave.
COL_QUANTITY = 20 * mm
COL_UNIT = 29 * mm
COL_TAX = 22 * mm
COL_AMOUNT = 27 * mm
COL_DESCRIPTION = CONTENT_WIDTH - COL_QUANTITY - COL_UNIT - COL_TAX - COL_AMOUNT
LINE_COLUMNS = (COL_DESCRIPTION, COL_QUANTITY, COL_UNIT, COL_TAX, COL_AMOUNT)
CELL_PADDING = 5
TIER_INDENT = 10
# A line with its tiers and discount stays on one page unless it is longer than this.
MAX_UNSPLIT_ROWS = 25

FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
FONT_ITALIC = "Helvetica-Oblique"

INK = colors.HexColor("#1A1A1A")
GREY = colors.HexColor("#6B6B6B")
RULE = colors.HexColor("#D9D9D9")
WATERMARK = colors.HexColor("#EDEDED")
DEFAULT_ACCENT = "#1F4E79"
STAMP_COLOURS = {"paid": "#2E7D32", "refunded": "#2E7D32", "void": "#C62828", "uncollectible": "#C62828"}

# Spaces Babel may emit that WinAnsi lacks; a no-break space keeps "1 234,50 kr" on one line.
_SPACES = {"\u202f": "\u00a0", "\u2009": " ", "\u2007": "\u00a0", "\u2212": "-", "\u2011": "-"}
# Letters that do not decompose into an ASCII letter plus an accent.
_FOLDS = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "ĸ": "k", "Ŧ": "T", "ŧ": "t"}


@functools.lru_cache(maxsize=4096)
def _printable_char(char: str) -> str:
    if char in _SPACES:
        return _SPACES[char]
    if char in _FOLDS:
        return _FOLDS[char]
    folded = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    try:
        folded.encode("cp1252")
    except UnicodeEncodeError:
        return "?"
    return folded


def printable(text: str) -> str:
    """The text as the standard fonts can print it: WinAnsi characters as they are, others folded."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return "".join(char if _in_winansi(char) else _printable_char(char) for char in text)
    return text


def _in_winansi(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def markup(text: str) -> str:
    """Plain text made safe for a Paragraph: "A & B <Ltd>" stays that, never markup."""
    return escape(printable(text))


def _colour(value: str) -> colors.Color:
    text = (value or "").strip()
    if len(text) == 7 and text.startswith("#"):
        try:
            return colors.HexColor(text)
        except ValueError:
            pass
    logger.warning("Branding colour %r is not #RRGGBB; using the default accent.", value)
    return colors.HexColor(DEFAULT_ACCENT)


def _text_on(background: colors.Color) -> colors.Color:
    """White on a dark accent, near-black on a light one, so the table header stays readable."""
    luminance = 0.2126 * background.red + 0.7152 * background.green + 0.0722 * background.blue
    return colors.white if luminance < 0.6 else INK


def _readable_on_paper(colour: colors.Color) -> colors.Color:
    """The accent for text and rules on white: a light brand colour (yellow) is darkened until it reads."""
    luminance = 0.2126 * colour.red + 0.7152 * colour.green + 0.0722 * colour.blue
    if luminance <= 0.45:
        return colour
    share = 0.45 / luminance
    return colors.Color(colour.red * share, colour.green * share, colour.blue * share)


def _tint(colour: colors.Color, share: float) -> colors.Color:
    """The colour mixed with white: ``share`` of the colour, the rest paper."""
    return colors.Color(*(1 - share + share * c for c in (colour.red, colour.green, colour.blue)))


def _babel_locale(language: str) -> Locale:
    """Babel locale matching the labels: "nl-BE" keeps Belgian formats, "de" becomes English."""
    base = label_language(language)
    wanted = (language or "").strip().replace("-", "_")
    if wanted.split("_")[0].lower() == base:
        try:
            return Locale.parse(wanted)
        except (ValueError, TypeError, UnknownLocaleError):
            pass
    return Locale.parse(base)


def _time_zone(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        logger.warning("Unknown time zone %r; printing service periods in UTC.", name)
        return dt.UTC


class _Styles:
    def __init__(self, accent: colors.Color) -> None:
        accent = _readable_on_paper(accent)
        base = ParagraphStyle("base", fontName=FONT, fontSize=8.5, leading=11, textColor=INK)
        self.body = base
        self.small = ParagraphStyle("small", base, fontSize=7, leading=9, textColor=GREY)
        self.small_right = ParagraphStyle("small_right", self.small, alignment=TA_RIGHT)
        self.seller = ParagraphStyle("seller", base, fontSize=8, leading=10.5, alignment=TA_RIGHT)
        self.brand = ParagraphStyle("brand", base, fontName=FONT_BOLD, fontSize=15, leading=18, textColor=accent)
        self.title = ParagraphStyle("title", base, fontName=FONT_BOLD, fontSize=22, leading=26, textColor=accent)
        self.heading = ParagraphStyle(
            "heading", base, fontName=FONT_BOLD, fontSize=7.5, leading=10, textColor=accent, spaceAfter=2
        )
        self.meta_label = ParagraphStyle("meta_label", base, textColor=GREY)
        self.meta_value = ParagraphStyle("meta_value", base, fontName=FONT_BOLD, alignment=TA_RIGHT)
        self.line = ParagraphStyle("line", base, leading=10.5)
        self.cell_right = ParagraphStyle("cell_right", base, alignment=TA_RIGHT)
        self.tax_label = ParagraphStyle("tax_label", base, fontSize=8, leading=10)
        self.note = ParagraphStyle("note", base, fontName=FONT_BOLD, fontSize=8.5, leading=11.5)
        self.footer = ParagraphStyle("footer", base, fontSize=7, leading=9, textColor=GREY, alignment=TA_LEFT)


@dataclass
class _Context:
    """Everything derived once from the document: language, formats, colours, styles."""

    document: Document
    labels: dict[str, str]
    locale: Locale
    accent: colors.Color
    on_accent: colors.Color
    styles: _Styles
    time_zone: dt.tzinfo

    @classmethod
    def of(cls, document: Document) -> _Context:
        accent = _colour(document.branding.color)
        return cls(
            document=document,
            labels=labels_for(document.language),
            locale=_babel_locale(document.language),
            accent=accent,
            on_accent=_text_on(accent),
            styles=_Styles(accent),
            time_zone=_time_zone(document.time_zone),
        )

    @property
    def is_credit_note(self) -> bool:
        return self.document.kind == "credit_note"

    @property
    def is_draft(self) -> bool:
        return not self.document.number.strip()

    @property
    def title(self) -> str:
        return self.labels["credit_note" if self.is_credit_note else "invoice"]

    @property
    def number(self) -> str:
        return self.labels["draft"] if self.is_draft else self.document.number

    def money(self, amount: Decimal) -> str:
        return printable(format_money(amount, self.document.currency, str(self.locale)))

    def minus(self, amount: Decimal) -> str:
        """A deduction (discount, credit, payment) printed as a negative amount."""
        return self.money(-amount)

    def unit(self, amount: Decimal) -> str:
        return printable(format_unit_amount(amount, self.document.currency, str(self.locale)))

    def quantity(self, quantity: Decimal) -> str:
        with localcontext() as context:
            context.prec = 50
            value = quantity.normalize()
            if value == value.to_integral_value():
                value = value.quantize(Decimal(1))
        return printable(format_decimal(value, locale=self.locale, decimal_quantization=False))

    def date(self, date: dt.date) -> str:
        return printable(format_date(date, format="medium", locale=self.locale))

    def period(self, line: DocumentLine) -> str:
        """The half-open [start, end) as dates in the document's zone: the last date is the day before ``end``."""
        if line.period_start is None or line.period_end is None:
            return ""
        start = self._local(line.period_start).date()
        last = self._local(line.period_end).date() - dt.timedelta(days=1)
        if last <= start:
            return self.date(start)
        return f"{self.date(start)} \u2013 {self.date(last)}"

    def _local(self, moment: dt.datetime) -> dt.datetime:
        if moment.tzinfo is None:  # the contract says aware UTC; read a naive one as UTC
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(self.time_zone)

    def country(self, code: str) -> str:
        code = (code or "").strip().upper()
        return printable(self.locale.territories.get(code, code)) if code else ""


# --- building blocks ------------------------------------------------------------------------------


def _fit(text: str, width: float, style: ParagraphStyle, font: str = FONT, size: float = 8.5) -> Any:
    """A plain string when it fits the cell (fast), a wrapping Paragraph in ``style`` when it does not.

    ``text`` is already printable; ``font`` and ``size`` must be what the table sets for the cell.
    """
    if stringWidth(text, font, size) <= width:
        return text
    paragraph = escape(text)
    if font == FONT_ITALIC:
        paragraph = f"<i>{paragraph}</i>"
    return Paragraph(paragraph, style)


def _party_markup(ctx: _Context, party: Party) -> str:
    parts = [f"<b>{markup(party.name)}</b>"]
    parts += [markup(line) for line in party.address_lines if line.strip()]
    if party.country:
        parts.append(markup(ctx.country(party.country)))
    details = [
        (ctx.labels["vat_id"], party.vat_id),
        (ctx.labels["registration_id"], party.registration_id),
        (ctx.labels["email"], party.email),
    ]
    parts += [f'<font color="#6B6B6B">{markup(label)}</font> {markup(value)}' for label, value in details if value]
    return "<br/>".join(parts)


def _logo(ctx: _Context) -> Image | None:
    data = ctx.document.branding.logo
    if not data:
        return None
    try:
        width, height = ImageReader(BytesIO(data)).getSize()
        scale = min(LOGO_MAX_WIDTH / width, LOGO_MAX_HEIGHT / height)
        image = Image(BytesIO(data), width=width * scale, height=height * scale, mask="auto")
    except Exception:  # a broken logo must not cost the customer their invoice
        logger.warning("The branding logo is not a PNG or JPEG image we can read; rendering without it.", exc_info=True)
        return None
    image.hAlign = "LEFT"
    return image


class _Stamp(Flowable):
    """A rubber-stamp word ("PAID", "VOID") in a tilted frame, beside the title."""

    MAX_CHARACTERS = 24
    ANGLE = 8  # degrees
    FONT_SIZE = 15

    def __init__(self, text: str, colour: colors.Color) -> None:
        super().__init__()
        self.text = text[: self.MAX_CHARACTERS]
        self.colour = colour
        self.box_width = stringWidth(self.text, FONT_BOLD, self.FONT_SIZE) + 14
        self.box_height = self.FONT_SIZE + 10
        angle = math.radians(self.ANGLE)  # the space the tilted frame takes up
        self.width = self.box_width * math.cos(angle) + self.box_height * math.sin(angle)
        self.height = self.box_width * math.sin(angle) + self.box_height * math.cos(angle)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        canvas.translate(self.width / 2, self.height / 2)
        canvas.rotate(self.ANGLE)
        canvas.setStrokeColor(self.colour)
        canvas.setFillColor(self.colour)
        canvas.setLineWidth(1.8)
        canvas.roundRect(
            -self.box_width / 2, -self.box_height / 2, self.box_width, self.box_height, 3, stroke=1, fill=0
        )
        canvas.setFont(FONT_BOLD, self.FONT_SIZE)
        canvas.drawCentredString(0, -self.FONT_SIZE / 2 + 2.5, self.text)
        canvas.restoreState()


def _header(ctx: _Context) -> list[Flowable]:
    document, styles, labels = ctx.document, ctx.styles, ctx.labels
    brand: Flowable = _logo(ctx) or Paragraph(markup(document.seller.name), styles.brand)
    seller = Paragraph(_party_markup(ctx, document.seller), styles.seller)
    top = Table([[brand, seller]], colWidths=[CONTENT_WIDTH * 0.45, CONTENT_WIDTH * 0.55])
    top.setStyle(_NO_PADDING + [("VALIGN", (0, 0), (-1, -1), "TOP")])

    title: list[Flowable] = [Paragraph(markup(ctx.title), styles.title)]
    stamp: _Stamp | None = None
    if document.status_stamp.strip():
        word = document.status_stamp.strip().lower()
        colour = _colour(STAMP_COLOURS.get(word, "#555555"))
        stamp = _Stamp(printable(stamp_text(document.status_stamp, labels)), colour)
    elif ctx.is_draft:
        stamp = _Stamp(printable(labels["draft_watermark"]), GREY)
    if stamp is not None:
        title_width = stringWidth(printable(ctx.title), FONT_BOLD, styles.title.fontSize) + 8 * mm
        stamp_width = stamp.width + 4
        title_row = Table(
            [[title[0], stamp, ""]], colWidths=[title_width, stamp_width, CONTENT_WIDTH - title_width - stamp_width]
        )
        title_row.setStyle(_NO_PADDING + [("VALIGN", (0, 0), (-1, -1), "MIDDLE")])
        title = [title_row]

    number_label = labels["credit_note_number" if ctx.is_credit_note else "invoice_number"]
    meta_rows: list[tuple[str, str]] = [
        (number_label, ctx.number),
        (labels["issue_date"], ctx.date(document.issue_date)),
    ]
    if document.due_date is not None:
        meta_rows.append((labels["due_date"], ctx.date(document.due_date)))
    if document.related_number:
        meta_rows.append((labels["corrects_invoice"], document.related_number))
    if document.purchase_order:
        meta_rows.append((labels["purchase_order"], document.purchase_order))
    meta_width = CONTENT_WIDTH * 0.42
    meta = Table(
        [
            [Paragraph(markup(label), styles.meta_label), Paragraph(markup(value), styles.meta_value)]
            for label, value in meta_rows
        ],
        colWidths=[meta_width * 0.48, meta_width * 0.52],
        hAlign="RIGHT",
    )
    meta.setStyle(
        _NO_PADDING
        + [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LINEBELOW", (0, 0), (-1, -2), 0.4, RULE),
            ("TOPPADDING", (0, 1), (-1, -1), 3),
        ]
    )
    bill_to = [
        Paragraph(markup(labels["bill_to"].upper()), styles.heading),
        Paragraph(_party_markup(ctx, document.buyer), styles.body),
    ]
    parties = Table([[bill_to, meta]], colWidths=[CONTENT_WIDTH - meta_width, meta_width])
    parties.setStyle(_NO_PADDING + [("VALIGN", (0, 0), (-1, -1), "TOP"), ("RIGHTPADDING", (0, 0), (0, 0), 12)])

    flowables: list[Flowable] = [
        top,
        HRFlowable(width="100%", thickness=1.4, color=ctx.accent, spaceBefore=4 * mm, spaceAfter=4 * mm),
        *title,
        Spacer(1, 4 * mm),
        parties,
    ]
    if document.reason:
        reason = f"<b>{markup(labels['reason'])}:</b> {markup(document.reason)}"
        flowables += [Spacer(1, 4 * mm), Paragraph(reason, styles.body)]
    flowables.append(Spacer(1, 7 * mm))
    return flowables


_NO_PADDING: list[tuple[Any, ...]] = [
    ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ("TOPPADDING", (0, 0), (-1, -1), 0),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
]


class _TwoLines(Flowable):
    """A description over its small grey detail line, drawn directly: what most lines of an invoice need.

    A Paragraph would look the same but costs its markup parsing and line breaking on every page split.
    """

    LEADING = 10.5
    DETAIL_LEADING = 9

    def __init__(self, text: str, detail: str) -> None:
        super().__init__()
        self.text = text
        self.detail = detail
        self.height = self.LEADING + self.DETAIL_LEADING

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = available_width
        return available_width, self.height

    def draw(self) -> None:
        canvas = self.canv
        baseline = self.height - 8.5
        canvas.setFillColor(INK)
        canvas.setFont(FONT, 8.5)
        canvas.drawString(0, baseline, self.text)
        canvas.setFillColor(GREY)
        canvas.setFont(FONT, 7)
        canvas.drawString(0, baseline - self.DETAIL_LEADING - 0.5, self.detail)


def _description(ctx: _Context, line: DocumentLine, width: float) -> Any:
    """The description cell: a plain string, two drawn lines, or, when it must wrap, a Paragraph."""
    text = printable(line.description)
    details = [ctx.period(line)] if line.period_start and line.period_end else []
    if line.proration:
        details.append(printable(ctx.labels["prorated"]))
    detail = " \u00b7 ".join(details)
    fits = "\n" not in text and stringWidth(text, FONT, 8.5) <= width
    if fits and not detail:
        return text
    if fits and stringWidth(detail, FONT, 7) <= width:
        return _TwoLines(text, detail)
    markup_text = escape(text).replace("\n", "<br/>")
    if detail:
        markup_text += f'<br/><font size="7" color="#6B6B6B">{escape(detail)}</font>'
    return Paragraph(markup_text, ctx.styles.line)


def _lines_table(ctx: _Context) -> LongTable:
    """One row per line, then its small grey sub-rows: the pricing tiers and the discount.

    Cells are plain strings or directly drawn lines whenever the text fits, Paragraphs only when it
    must wrap: a 500-line invoice renders several times faster that way, and looks the same.
    """
    labels, styles = ctx.labels, ctx.styles
    header = [labels["description"], labels["quantity"], labels["unit_price"], labels["tax"], labels["amount"]]
    rows: list[list[Any]] = [[printable(text) for text in header]]
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, 0), FONT_BOLD, 7.5),
        ("TEXTCOLOR", (0, 0), (-1, 0), ctx.on_accent),
        ("BACKGROUND", (0, 0), (-1, 0), ctx.accent),
        ("FONT", (0, 1), (-1, -1), FONT, 8.5),
        ("TEXTCOLOR", (0, 1), (-1, -1), INK),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("TOPPADDING", (0, 0), (-1, 0), 5),
        ("BOTTOMPADDING", (0, 0), (-1, 0), 5),
        ("TOPPADDING", (0, 1), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 1), (-1, -1), 4),
    ]
    inner = [width - 2 * CELL_PADDING for width in LINE_COLUMNS]
    indented = inner[0] - TIER_INDENT
    for line in ctx.document.lines:
        first = len(rows)
        unit = ctx.unit(line.unit_amount) if line.unit_amount is not None else ""
        rows.append(
            [
                _description(ctx, line, inner[0]),
                _fit(ctx.quantity(line.quantity), inner[1], styles.cell_right),
                _fit(unit, inner[2], styles.cell_right),
                _fit(printable(line.tax_label), inner[3], styles.cell_right),
                _fit(ctx.money(line.amount), inner[4], styles.cell_right),
            ]
        )
        for tier in line.tiers:
            description = printable(tier.description)
            if tier.flat_amount:
                description += f" + {printable(labels['flat_fee'])} {ctx.money(tier.flat_amount)}"
            rows.append(
                [
                    _fit(description, indented, styles.small, size=7),
                    _fit(ctx.quantity(tier.quantity), inner[1], styles.small_right, size=7),
                    _fit(ctx.unit(tier.unit_amount), inner[2], styles.small_right, size=7),
                    "",
                    _fit(ctx.money(tier.amount), inner[4], styles.small_right, size=7),
                ]
            )
        if line.discount:
            discount = _fit(printable(labels["discount"]), indented, styles.small, font=FONT_ITALIC, size=7)
            rows.append([discount, "", "", "", _fit(ctx.minus(line.discount), inner[4], styles.small_right, size=7)])
        last = len(rows) - 1
        if last > first:
            commands += [
                ("FONT", (0, first + 1), (-1, last), FONT, 7),
                ("TEXTCOLOR", (0, first + 1), (-1, last), GREY),
                ("BOTTOMPADDING", (0, first), (-1, last - 1), 1),
                ("TOPPADDING", (0, first + 1), (-1, last), 1),
                ("BOTTOMPADDING", (0, last), (-1, last), 4),
            ]
            if line.discount:
                commands.append(("FONT", (0, last), (0, last), FONT_ITALIC, 7))
            commands.append(("LEFTPADDING", (0, first + 1), (0, last), CELL_PADDING + TIER_INDENT))
            if last - first < MAX_UNSPLIT_ROWS:
                commands.append(("NOSPLIT", (0, first), (-1, last)))
        commands.append(("LINEBELOW", (0, last), (-1, last), 0.4, RULE))
    table = LongTable(rows, colWidths=LINE_COLUMNS, repeatRows=1, splitByRow=1)
    table.setStyle(TableStyle(commands))
    return table


def _tax_summary(ctx: _Context) -> list[Flowable]:
    document, labels, styles = ctx.document, ctx.labels, ctx.styles
    if not document.tax_rows:
        return []
    width = CONTENT_WIDTH * 0.5
    columns = [width * 0.44, width * 0.3, width * 0.26]
    rows: list[list[Any]] = [
        [printable(labels["tax_rate"]), printable(labels["taxable_amount"]), printable(labels["tax_amount"])]
    ]
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, 0), FONT_BOLD, 7),
        ("TEXTCOLOR", (0, 0), (-1, 0), GREY),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, ctx.accent),
        ("FONT", (0, 1), (-1, -1), FONT, 8),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (0, -1), 6),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    for row in document.tax_rows:
        label = markup(row.label)
        if row.category and row.category not in row.label:
            label += f' <font size="7" color="#6B6B6B">({markup(row.category)})</font>'
        rows.append(
            [
                Paragraph(label, styles.tax_label),
                _fit(ctx.money(row.taxable_amount), columns[1], styles.cell_right, size=8),
                _fit(ctx.money(row.tax_amount), columns[2], styles.cell_right, size=8),
            ]
        )
        if row.exemption_reason:
            rows.append([Paragraph(f"<i>{markup(row.exemption_reason)}</i>", styles.small), "", ""])
            last = len(rows) - 1
            commands += [("SPAN", (0, last), (-1, last)), ("TOPPADDING", (0, last), (-1, last), 0)]
        commands.append(("LINEBELOW", (0, len(rows) - 1), (-1, len(rows) - 1), 0.4, RULE))
    table = Table(rows, colWidths=columns, hAlign="LEFT")
    table.setStyle(TableStyle(commands))
    return [Paragraph(markup(labels["tax_summary"].upper()), styles.heading), table]


def _totals(ctx: _Context) -> Table:
    document, labels = ctx.document, ctx.labels
    rows: list[tuple[str, str]] = [(labels["subtotal"], ctx.money(document.subtotal))]
    if document.discount:
        rows.append((labels["discount"], ctx.minus(document.discount)))
        rows.append((labels["net"], ctx.money(document.subtotal - document.discount)))
    if document.tax_rows:
        rows += [(row.label, ctx.money(row.tax_amount)) for row in document.tax_rows]
    else:
        rows.append((labels["tax_total"], ctx.money(document.tax)))
    total_row = len(rows)
    rows.append((labels["total_credit" if ctx.is_credit_note else "total"], ctx.money(document.total)))
    if document.credit_applied:
        rows.append((labels["credit_applied"], ctx.minus(document.credit_applied)))
    if document.amount_paid:
        rows.append((labels["amount_paid"], ctx.minus(document.amount_paid)))
    settled = bool(document.credit_applied or document.amount_paid)
    shows_due = bool(document.amount_due) or (settled and not ctx.is_credit_note)
    if shows_due:
        rows.append((labels["amount_due"], ctx.money(document.amount_due)))
    final = len(rows) - 1

    width = CONTENT_WIDTH * 0.42
    plain = ParagraphStyle("total_label", ctx.styles.body)
    strong = ParagraphStyle("total_strong", plain, fontName=FONT_BOLD, fontSize=10, leading=12)
    on_accent = ParagraphStyle("total_final", strong, textColor=ctx.on_accent)

    def label_style(index: int) -> ParagraphStyle:
        return on_accent if index == final else strong if index == total_row else plain

    def amount(index: int, value: str) -> Any:
        emphasis = index in (total_row, final)
        font, size = (FONT_BOLD, 10) if emphasis else (FONT, 8.5)
        return _fit(value, width * 0.45 - 12, label_style(index) if emphasis else ctx.styles.cell_right, font, size)

    table = Table(
        [
            [Paragraph(markup(label), label_style(index)), amount(index, value)]
            for index, (label, value) in enumerate(rows)
        ],
        colWidths=[width * 0.55, width * 0.45],
        hAlign="RIGHT",
    )
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("FONT", (0, total_row), (-1, total_row), FONT_BOLD, 10),
                ("LINEABOVE", (0, total_row), (-1, total_row), 1, ctx.accent),
                ("TOPPADDING", (0, total_row), (-1, total_row), 5),
                ("BOTTOMPADDING", (0, total_row), (-1, total_row), 5),
                ("FONT", (0, final), (-1, final), FONT_BOLD, 10),
                ("BACKGROUND", (0, final), (-1, final), ctx.accent),
                ("TEXTCOLOR", (0, final), (-1, final), ctx.on_accent),
                ("TOPPADDING", (0, final), (-1, final), 5),
                ("BOTTOMPADDING", (0, final), (-1, final), 5),
            ]
        )
    )
    return table


def _notes(ctx: _Context) -> list[Flowable]:
    notes = [note for note in ctx.document.notes if note.strip()]
    if not notes:
        return []
    box = Table([[[Paragraph(markup(note), ctx.styles.note) for note in notes]]], colWidths=[CONTENT_WIDTH])
    box.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), _tint(ctx.accent, 0.08)),
                ("LINEBEFORE", (0, 0), (0, -1), 2.5, ctx.accent),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return [Spacer(1, 6 * mm), box]


def _grouped_iban(iban: str) -> str:
    compact = "".join(iban.split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _payment(ctx: _Context) -> list[Flowable]:
    document, labels, styles = ctx.document, ctx.labels, ctx.styles
    rows: list[tuple[str, str]] = []
    if document.payment_terms:
        rows.append((labels["payment_terms"], markup(document.payment_terms)))
    if document.iban:
        rows.append((labels["iban"], markup(_grouped_iban(document.iban))))
    if document.bic:
        rows.append((labels["bic"], markup(document.bic.strip().upper())))
    if document.payment_reference:
        reference = document.payment_reference.strip()
        if is_valid_creditor_reference(reference):
            compact = "".join(reference.split()).upper()
            reference = " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
        rows.append(
            (
                labels["payment_reference"],
                f"<b>{markup(reference)}</b><br/>"
                f'<font size="7" color="#6B6B6B">{markup(labels["quote_reference"])}</font>',
            )
        )
    if not rows:
        return []
    table = Table(
        [[Paragraph(markup(label), styles.meta_label), Paragraph(value, styles.body)] for label, value in rows],
        colWidths=[28 * mm, CONTENT_WIDTH * 0.5 - 28 * mm],
        hAlign="LEFT",
    )
    table.setStyle(_NO_PADDING + [("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)])
    return [Paragraph(markup(labels["payment"].upper()), styles.heading), table]


def _closing(ctx: _Context) -> list[Flowable]:
    """Totals on the right, VAT summary and how to pay on the left, legal notes below: one block."""
    tax_summary, payment = _tax_summary(ctx), _payment(ctx)
    gap = [Spacer(1, 6 * mm)] if tax_summary and payment else []
    left = [*tax_summary, *gap, *payment] or ""
    summary = Table([[left, _totals(ctx)]], colWidths=[CONTENT_WIDTH * 0.55, CONTENT_WIDTH * 0.45])
    summary.setStyle(_NO_PADDING + [("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT")])
    return [Spacer(1, 6 * mm), KeepTogether([summary, *_notes(ctx)])]


# --- pages ----------------------------------------------------------------------------------------


def _draw_page(canvas: Canvas, doc: _InvoiceTemplate) -> None:
    """Watermark, running header (pages 2+) and footer text; the page count comes at the end."""
    ctx = doc.ctx
    canvas.saveState()
    if ctx.is_draft:
        canvas.saveState()
        canvas.setFillColor(WATERMARK)
        canvas.setFont(FONT_BOLD, 110)
        canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
        canvas.rotate(50)
        canvas.drawCentredString(0, -40, printable(ctx.labels["draft_watermark"]))
        canvas.restoreState()
    if canvas.getPageNumber() > 1:
        top = PAGE_HEIGHT - MARGIN_TOP
        canvas.setFont(FONT_BOLD, 8)
        canvas.setFillColor(INK)
        canvas.drawString(MARGIN_X, top - 6, printable(ctx.document.seller.name)[:90])
        canvas.setFont(FONT, 8)
        canvas.setFillColor(GREY)
        canvas.drawRightString(PAGE_WIDTH - MARGIN_X, top - 6, printable(f"{ctx.title} {ctx.number}"))
        canvas.setStrokeColor(ctx.accent)
        canvas.setLineWidth(0.8)
        canvas.line(MARGIN_X, top - 11, PAGE_WIDTH - MARGIN_X, top - 11)
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN_X, 17 * mm, PAGE_WIDTH - MARGIN_X, 17 * mm)
    footer = ctx.document.branding.footer.strip() or ctx.document.seller.name
    paragraph = Paragraph(markup(footer).replace("\n", "<br/>"), ctx.styles.footer)
    width, room = CONTENT_WIDTH - 40 * mm, 12 * mm
    _width, height = paragraph.wrap(width, room)
    if height > room:  # a footer longer than three lines loses its tail rather than run off the page
        paragraph = paragraph.split(width, room)[0]
        _width, height = paragraph.wrap(width, room)
    paragraph.drawOn(canvas, MARGIN_X, 14.5 * mm - height)
    canvas.restoreState()


class _InvoiceTemplate(BaseDocTemplate):
    def __init__(self, buffer: BytesIO, ctx: _Context) -> None:
        document = ctx.document
        super().__init__(
            buffer,
            pagesize=A4,
            leftMargin=MARGIN_X,
            rightMargin=MARGIN_X,
            topMargin=MARGIN_TOP,
            bottomMargin=MARGIN_BOTTOM,
            title=printable(f"{ctx.title} {ctx.number}"),
            author=printable(document.seller.name),
            subject=printable(f"{ctx.title} {ctx.number} \u2013 {document.buyer.name}"),
            creator="Billing back-office",
            lang=str(ctx.locale).replace("_", "-"),
        )
        self.ctx = ctx
        first = Frame(
            MARGIN_X,
            MARGIN_BOTTOM,
            CONTENT_WIDTH,
            PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
            id="first",
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
        )
        later = Frame(
            MARGIN_X,
            MARGIN_BOTTOM,
            CONTENT_WIDTH,
            PAGE_HEIGHT - MARGIN_TOP_LATER - MARGIN_BOTTOM,
            id="later",
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
        )
        self.addPageTemplates(
            [
                PageTemplate(id="first", frames=[first], onPage=_draw_page, autoNextPageTemplate="later"),
                PageTemplate(id="later", frames=[later], onPage=_draw_page),
            ]
        )


class _NumberedCanvas(Canvas):
    """Holds every page back until the end, so that each can say "Page 2 of 7"."""

    def __init__(self, *args: Any, page_label: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._page_label = page_label
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont(FONT, 7)
            self.setFillColor(GREY)
            text = self._page_label.format(page=self._pageNumber, pages=total)
            self.drawRightString(PAGE_WIDTH - MARGIN_X, 14.5 * mm - 7, printable(text))
            super().showPage()
        super().save()


KINDS = ("invoice", "credit_note")


def render_pdf(document: Document) -> bytes:
    """The invoice or credit note as a complete A4 PDF."""
    if document.kind not in KINDS:  # a typo must not turn a credit note into an invoice
        raise ValueError(f"Document kind must be one of {', '.join(KINDS)}, not {document.kind!r}.")
    ctx = _Context.of(document)
    buffer = BytesIO()
    template = _InvoiceTemplate(buffer, ctx)
    story = [*_header(ctx), _lines_table(ctx), *_closing(ctx)]
    template.build(story, canvasmaker=functools.partial(_NumberedCanvas, page_label=ctx.labels["page_of"]))
    return buffer.getvalue()
