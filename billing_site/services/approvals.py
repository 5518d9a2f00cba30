"""Maker-checker approvals: one person asks, an Approver who is not that person decides.

Any kind of request plugs in with ``register_approval_handler(kind, handler)``; the handler runs in
the decision's transaction and does what approval (or rejection) means for its object: a credit
note is issued or rejected; a catalog change request (later) is scheduled or rejected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.models import ApprovalRequest, ApprovalStatus
from billing_site.services.audit import audit_record

ApprovalHandler = Callable[[ApprovalRequest, bool, Actor, dt.datetime], None]
_HANDLERS: dict[str, ApprovalHandler] = {}
DECIDE_PERMISSION = "billing_site.decide_approvalrequest"


def register_approval_handler(kind: str, handler: ApprovalHandler) -> None:
    _HANDLERS[kind] = handler


def approval_request_create(
    *,
    kind: str,
    obj: Any,
    summary: str,
    details: dict[str, Any],
    requested_by: Any,
    actor: Actor,
    now: dt.datetime,
) -> ApprovalRequest:
    """Ask for approval of ``obj`` (call inside the transaction that created it)."""
    request = ApprovalRequest.objects.create(
        kind=kind,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        summary=summary[:300],
        details=details,
        requested_by=requested_by if getattr(requested_by, "pk", None) else None,
        requested_by_label=actor.label[:200],
        requested_at=now,
    )
    audit_record(actor=actor, action="approval.requested", obj=request, now=now, after={"summary": request.summary})
    return request


@transaction.atomic
def approval_decide(
    *, request: ApprovalRequest, user: Any, approve: bool, comment: str = "", now: dt.datetime
) -> ApprovalRequest:
    """Approve or reject. Refused for one's own request, without the Approver permission, or twice."""
    locked = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != ApprovalStatus.PENDING:
        raise DomainError(
            "approval_already_decided", f"This request was already {locked.get_status_display().lower()}."
        )
    if locked.requested_by_id is not None and locked.requested_by_id == user.pk:
        raise DomainError(
            "approval_own_request", "You asked for this yourself: another Approver must decide (four-eyes rule)."
        )
    if not (user.is_active and user.has_perm(DECIDE_PERMISSION)):
        raise DomainError("approval_not_allowed", "Only Approvers can approve or reject requests.")
    if not approve and not comment.strip():
        raise DomainError(
            "approval_reason_required",
            "Say why you reject it: the requester sees your comment.",
            fields={"comment": "Required when rejecting."},
        )
    actor = Actor.staff(user)
    locked.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    locked.decided_by = user
    locked.decided_at = now
    locked.comment = comment
    locked.save(update_fields=["status", "decided_by", "decided_at", "comment"])
    audit_record(
        actor=actor,
        action=f"approval.{locked.status}",
        obj=locked,
        now=now,
        before={"status": ApprovalStatus.PENDING},
        after={"status": locked.status},
        reason=comment,
    )
    handler = _HANDLERS.get(locked.kind)
    if handler is not None:
        handler(locked, approve, actor, now)
    return locked
