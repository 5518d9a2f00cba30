"""Approval requests in the admin: Approvers decide (never their own), requesters follow theirs."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from billing_site import clock
from billing_site.actors import Actor
from billing_site.models import ApprovalRequest, ApprovalStatus
from invoicing.models import CreditNote, CreditNoteStatus
from invoicing.services.credit_notes import credit_note_create
from invoicing.tests.admin import WALL, dutch_vat, finalized, make_customer, messages_of, one_off

pytestmark = pytest.mark.django_db

LIST = reverse("admin:billing_site_approvalrequest_changelist")


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen_at(WALL):
        yield WALL


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def limit(_default_billing_entity):
    """Credit notes above 100.00 wait for an Approver."""
    _default_billing_entity.credit_note_approval_above = Decimal("100")
    _default_billing_entity.save()


@pytest.fixture
def invoice():
    dutch_vat()
    return finalized(one_off(make_customer("Alpha Trading B.V.", "ap@alpha.example"), ("Consulting", "2", "100.00")))


def ask(invoice, user, amount="150.00") -> ApprovalRequest:
    """``user`` credits ``amount`` (before tax) of the consulting line: above the limit, so a request."""
    note = credit_note_create(
        invoice=invoice,
        lines=[{"invoice_line": invoice.lines.get().pk, "amount": amount}],
        reason="billing_error",
        actor=Actor.staff(user),
        now=WALL,
        user=user,
    )
    assert note.status == CreditNoteStatus.PENDING_APPROVAL
    return ApprovalRequest.objects.get(object_id=str(note.pk))


def page(request):
    return reverse("admin:billing_site_approvalrequest_change", args=[request.pk])


def decide(client, request, decision, comment=""):
    url = reverse("admin:billing_site_approvalrequest_decide", args=[request.pk])
    return client.post(url, {"decision": decision, "comment": comment}, follow=True)


@pytest.fixture
def approver(client, approver_user):
    client.force_login(approver_user)
    return client


def test_an_approver_sees_waiting_requests_first_and_approves(approver, invoice, finance_user):
    old = ask(invoice, finance_user, "120.00")
    decide(approver, old, "reject", "Too much")
    waiting = ask(invoice, finance_user, "110.00")

    listing = approver.get(LIST)
    assert [r.pk for r in listing.context["cl"].result_list][0] == waiting.pk
    shown = approver.get(page(waiting))
    assert shown.context["can_decide"] is True
    assert "Approve" in shown.content.decode() and "Lowers the amount due" in shown.content.decode()

    done = decide(approver, waiting, "approve")

    note = CreditNote.objects.get(pk=int(waiting.object_id))
    assert (note.status, note.number) == (CreditNoteStatus.ISSUED, "CN-2026-00001")
    assert note.total.amount == Decimal("133.10")
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decided_by.username) == (ApprovalStatus.APPROVED, "approver")
    assert messages_of(done) == ["Approved: CN-2026-00001."]
    invoice.refresh_from_db()
    assert invoice.amount_due.amount == Decimal("242.00") - Decimal("133.10")


def test_a_rejection_needs_a_comment(approver, invoice, finance_user):
    request = ask(invoice, finance_user)

    refused = decide(approver, request, "reject")
    assert messages_of(refused) == ["Say why you reject it: the requester sees your comment."]
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING

    decide(approver, request, "reject", "Goodwill is capped at 100 this quarter")

    request.refresh_from_db()
    note = CreditNote.objects.get(pk=int(request.object_id))
    assert (request.status, request.comment) == (ApprovalStatus.REJECTED, "Goodwill is capped at 100 this quarter")
    assert (note.status, note.number) == (CreditNoteStatus.REJECTED, "")


def test_the_author_cannot_approve_their_own_request(client, invoice):
    author = User.objects.create_user("maker", password="pw-for-tests-only", is_staff=True)
    author.groups.add(Group.objects.get(name="Finance"), Group.objects.get(name="Approver"))
    request = ask(invoice, author)
    client.force_login(author)

    shown = client.get(page(request))
    assert "You asked for this yourself" in shown.content.decode()

    done = decide(client, request, "approve")

    assert messages_of(done) == ["You asked for this yourself: another Approver must decide (four-eyes rule)."]
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING
    assert CreditNote.objects.get(pk=int(request.object_id)).number == ""


def test_finance_follows_its_own_requests_but_cannot_decide(client, invoice, finance_user, support_user):
    mine = ask(invoice, finance_user, "100.00")
    theirs = ask(invoice, support_user, "90.00")
    client.force_login(finance_user)

    listing = client.get(LIST)

    assert [r.pk for r in listing.context["cl"].result_list] == [mine.pk]
    assert client.get(page(mine)).context["can_decide"] is False
    assert client.get(page(theirs)).status_code == 302  # not theirs to see: back to the list
    assert decide(client, mine, "approve").status_code == 403
    mine.refresh_from_db()
    assert mine.status == ApprovalStatus.PENDING


def test_pricing_sees_no_approvals(client, pricing_user):
    client.force_login(pricing_user)

    assert client.get(LIST).status_code == 403
