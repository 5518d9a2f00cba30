"""API: invoices and credit notes, ``/api/v1/invoices`` and ``/api/v1/credit-notes``.

Thin views over ``invoicing.services`` with the API key as actor and, as ``now``, the time the
customer lives in (a test clock's frozen time for test customers). Every rule lives in the services,
so the API refuses exactly what the admin refuses, with the same error codes; a refused request
changes nothing (the request's transaction is rolled back).

``GET /invoices/upcoming?subscription=…`` computes the next renewal invoice with the billing run's own
code and stores nothing. PDFs are the stored documents of finalized invoices and issued credit notes;
drafts (and credit notes waiting for approval) are rendered on the fly and marked DRAFT.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from billing_site import clock
from billing_site.api.views import ApiView, responses
from billing_site.money import minor_units, parse_amount
from invoicing.api.filters import CreditNoteFilter, InvoiceFilter
from invoicing.api.serializers import (
    CreditNoteCreateInput,
    CreditNoteOutput,
    InvoiceCreateInput,
    InvoiceOutput,
    MarkPaidInput,
    ReasonInput,
)
from invoicing.models import CreditNote, Invoice
from invoicing.selectors import credit_note_queryset, invoice_queryset
from invoicing.services.credit_notes import credit_note_create
from invoicing.services.documents import credit_note_pdf_bytes, invoice_pdf_bytes
from invoicing.services.drafts import invoice_create_manual
from invoicing.services.invoices import invoice_finalize, invoice_mark_paid, invoice_mark_uncollectible, invoice_void
from invoicing.services.upcoming import invoice_upcoming
from subscriptions.models import Subscription

INVOICE_TAGS = ["Invoices"]
CREDIT_NOTE_TAGS = ["Credit notes"]


def pdf_response(content: bytes, *, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=f"{filename}.pdf")
    return response


def pdf_responses(description: str) -> dict[Any, Any]:
    errors = {code: value for code, value in responses(200, None, 404).items() if code != 200}
    return {(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description=description), **errors}


class DocumentApi(ApiView):
    """Shared plumbing: outputs that link to their PDF, the customer's time."""

    def output(self, obj: Any, *, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.output_serializer(obj, context=self.get_serializer_context()).data, status=status_code)

    def list_page(self, queryset: QuerySet | None = None) -> Response:
        queryset = self.filter_queryset(self.get_queryset()) if queryset is None else queryset
        page = self.paginate_queryset(queryset)
        data = self.output_serializer(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    def now(self, document: Invoice | CreditNote) -> datetime:
        return clock.now(document.customer)


class PdfApi(DocumentApi):
    def perform_content_negotiation(self, request, force=False):
        # A client asking for application/pdf gets the PDF, and an error (404 …) as JSON, never a 406.
        return super().perform_content_negotiation(request, force=True)


# --- invoices ----------------------------------------------------------------------------------


class InvoiceApi(DocumentApi):
    output_serializer = InvoiceOutput

    def get_queryset(self) -> QuerySet[Invoice]:
        return invoice_queryset()

    def answer(self, invoice: Invoice, *, status_code: int = status.HTTP_200_OK) -> Response:
        return self.output(invoice_queryset().get(pk=invoice.pk), status_code=status_code)


class InvoiceListApi(InvoiceApi):
    filterset_class = InvoiceFilter

    @extend_schema(
        tags=INVOICE_TAGS,
        summary="List invoices",
        description="Oldest first, paged with a cursor. Filter by `customer`, `subscription`, `status`, `entity`, "
        "`number`; `updated_since` (ISO 8601 with a time zone) returns what changed since your last sync.",
        responses=responses(200, InvoiceOutput(many=True), 400),
    )
    def get(self, request):
        return self.list_page()

    @extend_schema(
        tags=INVOICE_TAGS,
        summary="Create a one-off invoice",
        description="A draft for `customer` in their currency, with lines priced `quantity` × `unit_amount` and "
        "taxed with the customer's rates (a missing rate puts the draft on hold). Review it, then `finalize` it: "
        "only then does it get a number.",
        request=InvoiceCreateInput,
        responses=responses(201, InvoiceOutput, 400),
    )
    def post(self, request):
        data = self.validated(InvoiceCreateInput)
        customer = data.pop("customer")
        lines = [dict(line) for line in data.pop("lines")]
        if data.get("days_until_due") is None:
            data.pop("days_until_due", None)
        invoice = invoice_create_manual(
            customer=customer, lines=lines, actor=self.actor(), now=clock.now(customer), **data
        )
        return self.answer(invoice, status_code=status.HTTP_201_CREATED)


class UpcomingQuery(serializers.Serializer):
    subscription = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class InvoiceUpcomingApi(InvoiceApi):
    @extend_schema(
        tags=INVOICE_TAGS,
        summary="Preview the next invoice",
        description="The renewal invoice of `subscription` as it would be now: next period's fees, this period's "
        "usage so far, waiting prorations and discounts, taxed. **Nothing is saved**; it has no `id` or `number` "
        "and its `status` is `upcoming`. A subscription that ends or is paused has none (`no_upcoming_invoice`).",
        parameters=[OpenApiParameter("subscription", int, required=True, description="Subscription id.")],
        responses=responses(200, InvoiceOutput, 400, 404),
    )
    def get(self, request):
        query = UpcomingQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        pk = query.validated_data["subscription"]
        subscription = Subscription.objects.select_related("customer").filter(pk=pk).first()
        if subscription is None:
            raise NotFound(f"There is no subscription with id {pk}.")
        draft = invoice_upcoming(subscription=subscription, now=clock.now(subscription.customer))
        return self.output(draft)


class InvoiceDetailApi(InvoiceApi):
    @extend_schema(
        tags=INVOICE_TAGS,
        summary="Get an invoice",
        description="With its lines, tax summary and totals.",
        responses=responses(200, InvoiceOutput, 404),
    )
    def get(self, request, pk: int):
        return self.output(self.get_object())


class InvoicePdfApi(PdfApi, InvoiceApi):
    @extend_schema(
        tags=INVOICE_TAGS,
        summary="Download an invoice as PDF",
        description="The stored document of a finalized invoice (it never changes); a draft is rendered now, "
        "marked DRAFT. The file is named after the invoice number (`draft-{id}.pdf` for a draft).",
        responses=pdf_responses("The PDF document."),
    )
    def get(self, request, pk: int):
        invoice = self.get_object()
        return pdf_response(invoice_pdf_bytes(invoice), filename=invoice.number or f"draft-{invoice.pk}")


class InvoiceFinalizeApi(InvoiceApi):
    @extend_schema(
        tags=INVOICE_TAGS,
        summary="Finalize a draft",
        description="Gives the next number of the legal entity's series, freezes the invoice and applies the "
        "customer's credit balance; it becomes `open` (or `paid` when nothing is left to pay). Refused for a draft "
        "on hold (`invoice_on_hold`), without lines (`invoice_empty`) or not a draft "
        "(`invoice_transition_not_allowed`).",
        request=None,
        responses=responses(200, InvoiceOutput, 400, 404),
    )
    def post(self, request, pk: int):
        invoice = self.get_object()
        invoice_finalize(invoice=invoice, actor=self.actor(), now=self.now(invoice))
        return self.answer(invoice)


class InvoiceVoidApi(InvoiceApi):
    @extend_schema(
        tags=INVOICE_TAGS,
        summary="Void an invoice",
        description="For an open or uncollectible invoice issued by mistake: it keeps its number, nothing is due "
        "and the credit balance it used is given back. A paid or partly paid invoice is corrected with a credit "
        "note instead.",
        request=ReasonInput,
        responses=responses(200, InvoiceOutput, 400, 404),
    )
    def post(self, request, pk: int):
        invoice = self.get_object()
        data = self.validated(ReasonInput)
        invoice_void(invoice=invoice, actor=self.actor(), now=self.now(invoice), reason=data.get("reason", ""))
        return self.answer(invoice)


class InvoiceMarkUncollectibleApi(InvoiceApi):
    @extend_schema(
        tags=INVOICE_TAGS,
        summary="Mark an invoice uncollectible",
        description="An open invoice you no longer expect to be paid (for the books); it can still be paid later.",
        request=ReasonInput,
        responses=responses(200, InvoiceOutput, 400, 404),
    )
    def post(self, request, pk: int):
        invoice = self.get_object()
        data = self.validated(ReasonInput)
        invoice_mark_uncollectible(
            invoice=invoice, actor=self.actor(), now=self.now(invoice), reason=data.get("reason", "")
        )
        return self.answer(invoice)


class InvoiceMarkPaidApi(InvoiceApi):
    @extend_schema(
        tags=INVOICE_TAGS,
        summary="Record a payment received outside the system",
        description="A bank transfer or cash: the whole amount due, or `amount` for a partial payment (the invoice "
        "stays open until paid in full). More than is due is refused (`overpayment`).",
        request=MarkPaidInput,
        responses=responses(200, InvoiceOutput, 400, 404),
    )
    def post(self, request, pk: int):
        invoice = self.get_object()
        data = self.validated(MarkPaidInput)
        amount = data.get("amount")
        if amount is not None:  # no more decimals than the invoice's currency has
            amount = parse_amount(amount, field="amount", max_decimal_places=minor_units(invoice.currency))
        invoice_mark_paid(
            invoice=invoice, actor=self.actor(), now=self.now(invoice), amount=amount, reason=data.get("reason", "")
        )
        return self.answer(invoice)


# --- credit notes ------------------------------------------------------------------------------


class CreditNoteApi(DocumentApi):
    output_serializer = CreditNoteOutput

    def get_queryset(self) -> QuerySet[CreditNote]:
        return credit_note_queryset()


class CreditNoteListApi(CreditNoteApi):
    filterset_class = CreditNoteFilter

    @extend_schema(
        tags=CREDIT_NOTE_TAGS,
        summary="List credit notes",
        description="Filter by `invoice`, `customer` and `status`.",
        responses=responses(200, CreditNoteOutput(many=True), 400),
    )
    def get(self, request):
        return self.list_page()

    @extend_schema(
        tags=CREDIT_NOTE_TAGS,
        summary="Create a credit note",
        description="Credits `lines` of a finalized invoice with the invoice's own tax rates. Its total first lowers "
        "what is still due; any rest concerns money already paid and must be split over `refund_amount`, "
        "`credit_amount` (kept on the customer's balance) and `out_of_band_amount` "
        "(`credit_note_parts_mismatch` otherwise). All credit notes of an invoice never exceed its total. Above "
        "the legal entity's approval limit it waits for an Approver (`pending_approval`, no number yet); "
        "otherwise it is `issued` at once.",
        request=CreditNoteCreateInput,
        responses=responses(201, CreditNoteOutput, 400),
    )
    def post(self, request):
        data = self.validated(CreditNoteCreateInput)
        invoice = data.pop("invoice")
        data["lines"] = [dict(line) for line in data["lines"]]
        note = credit_note_create(invoice=invoice, actor=self.actor(), now=self.now(invoice), **data)
        return self.output(credit_note_queryset().get(pk=note.pk), status_code=status.HTTP_201_CREATED)


class CreditNoteDetailApi(CreditNoteApi):
    @extend_schema(tags=CREDIT_NOTE_TAGS, summary="Get a credit note", responses=responses(200, CreditNoteOutput, 404))
    def get(self, request, pk: int):
        return self.output(self.get_object())


class CreditNotePdfApi(PdfApi, CreditNoteApi):
    @extend_schema(
        tags=CREDIT_NOTE_TAGS,
        summary="Download a credit note as PDF",
        description="The stored document of an issued credit note; one waiting for approval is rendered now and "
        "marked DRAFT (`credit-note-{id}.pdf`).",
        responses=pdf_responses("The PDF document."),
    )
    def get(self, request, pk: int):
        note = self.get_object()
        return pdf_response(credit_note_pdf_bytes(note), filename=note.number or f"credit-note-{note.pk}")
