"""Branded invoice and credit note PDFs: build a ``Document``, call ``render_pdf``, store the bytes.

Pure rendering (reportlab and Babel, no ORM): the caller turns an invoice into a ``Document``
with every amount already computed and rounded.
"""

from invoicing.pdf.document import Branding, Document, DocumentLine, Party, TaxRow, TierRow
from invoicing.pdf.render import render_pdf

__all__ = ["Branding", "Document", "DocumentLine", "Party", "TaxRow", "TierRow", "render_pdf"]
