"""Approval requests (maker-checker) in the admin: Approvers decide, requesters follow their own.

An Approver sees every request, those waiting first, and approves or rejects with a comment
(required to reject) through ``approval_decide``, which refuses a request of one's own. Staff without
the Approver permission see only the requests they made, and how they were decided.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404, HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from billing_site import clock
from billing_site.errors import DomainError
from billing_site.models import ApprovalRequest, ApprovalStatus
from billing_site.services.approvals import DECIDE_PERMISSION, approval_decide

#: Keys of a request's details as people read them; others are shown from their name.
DETAIL_LABELS = {
    "invoice": _("Invoice"),
    "total": _("Total"),
    "lowers_amount_due": _("Lowers the amount due"),
    "refund": _("Refunded"),
    "balance_credit": _("Kept as balance credit"),
    "outside": _("Settled outside the system"),
    "reason": _("Reason"),
}
_BADGES = {
    ApprovalStatus.PENDING: ("#fff1d6", "#7a4a00"),
    ApprovalStatus.APPROVED: ("#e3f2e4", "#1b5e20"),
    ApprovalStatus.REJECTED: ("#fde2e1", "#9b1c1c"),
}


class DecisionForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Required when rejecting: the requester reads it."),
    )


def can_decide(user) -> bool:
    return user.is_active and user.has_perm(DECIDE_PERMISSION)


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    list_display = [
        "summary",
        "status_display",
        "kind_display",
        "requested_by_label",
        "requested_at",
        "decided_by",
        "decided_at",
    ]
    list_display_links = ["summary"]
    list_filter = ["status", "kind"]
    search_fields = ["summary", "requested_by_label"]
    search_help_text = _("Search by summary or by who asked.")
    list_select_related = ["decided_by"]
    actions = None
    fieldsets = [
        (None, {"fields": ["summary", "status_display", "kind_display", "object_link", "details_display"]}),
        (_("Asked"), {"fields": ["requested_by_label", "requested_at"]}),
        (_("Decided"), {"fields": ["decided_by", "decided_at", "comment"]}),
    ]
    change_form_template = "admin/billing_site/approvalrequest/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return [name for _title, options in self.fieldsets for name in options["fields"]]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if can_decide(request.user) or request.user.is_superuser:
            return queryset
        return queryset.filter(requested_by=request.user)

    def get_ordering(self, request):
        waiting_first = Case(
            When(status=ApprovalStatus.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        return [waiting_first.asc(), "-requested_at", "-id"]

    def has_add_permission(self, request):
        return False  # requests are made by what needs approval (a large credit note …)

    def has_change_permission(self, request, obj=None):
        return False  # decided with the buttons, never edited

    def has_delete_permission(self, request, obj=None):
        return False

    # --- displays -------------------------------------------------------------------------------------

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, request_: ApprovalRequest):
        background, colour = _BADGES.get(request_.status, ("#ececec", "#444"))
        return format_html(
            '<span style="display:inline-block;padding:1px 8px;border-radius:10px;font-size:0.75rem;font-weight:600;'
            'background:{};color:{}">{}</span>',
            background,
            colour,
            request_.get_status_display(),
        )

    @admin.display(description=_("what"), ordering="kind")
    def kind_display(self, request_: ApprovalRequest) -> str:
        return request_.kind.replace("_", " ").capitalize()

    @admin.display(description=_("about"))
    def object_link(self, request_: ApprovalRequest):
        obj, url = self._object(request_)
        if obj is None:
            return f"{request_.object_type} #{request_.object_id}"
        return format_html('<a href="{}">{}</a>', url, obj) if url else str(obj)

    @admin.display(description=_("details"))
    def details_display(self, request_: ApprovalRequest):
        details = request_.details if isinstance(request_.details, dict) else {}
        if not details:
            return "—"
        rows = format_html_join(
            "",
            "<tr><th scope='row'>{}</th><td>{}</td></tr>",
            ((DETAIL_LABELS.get(key, key.replace("_", " ").capitalize()), value) for key, value in details.items()),
        )
        return format_html('<table class="approval-details">{}</table>', rows)

    def _object(self, request_: ApprovalRequest) -> tuple[Any, str | None]:
        try:
            model = apps.get_model(request_.object_type)
        except (LookupError, ValueError):
            return None, None
        obj = model._default_manager.filter(pk=request_.object_id).first()
        if obj is None or model not in self.admin_site._registry:
            return obj, None
        try:
            url = reverse(
                f"{self.admin_site.name}:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk]
            )
        except NoReverseMatch:
            url = None
        return obj, url

    # --- deciding -------------------------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="billing_site_approvalrequest_decide",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        extra: dict[str, Any] = {}
        if obj is not None:
            own = obj.requested_by_id is not None and obj.requested_by_id == request.user.pk
            extra = {
                "pending": obj.status == ApprovalStatus.PENDING,
                "can_decide": can_decide(request.user) and obj.status == ApprovalStatus.PENDING,
                "own_request": own,
                "decide_url": reverse("admin:billing_site_approvalrequest_decide", args=[obj.pk]),
                "decision_form": DecisionForm(),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def decide_view(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(_("This approval request does not exist."))
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:billing_site_approvalrequest_change", args=[obj.pk]))
        if not can_decide(request.user):
            raise PermissionDenied
        page = reverse("admin:billing_site_approvalrequest_change", args=[obj.pk])
        approve = request.POST.get("decision") == "approve"
        if request.POST.get("decision") not in ("approve", "reject"):
            messages.error(request, _("Choose Approve or Reject."))
            return HttpResponseRedirect(page)
        form = DecisionForm(request.POST)
        form.is_valid()
        comment = form.cleaned_data.get("comment", "")
        subject, _url = self._object(obj)
        try:
            # The object's time: a credit note of a test-clock customer is issued at the clock's time.
            decided = approval_decide(
                request=obj, user=request.user, approve=approve, comment=comment, now=clock.now(subject)
            )
        except DomainError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(page)
        subject, _url = self._object(decided)  # read again: approving gives a credit note its number
        if approve:
            messages.success(request, _("Approved: %(what)s.") % {"what": subject or decided.summary})
        else:
            messages.success(
                request, _("Rejected: %(what)s. The requester sees your comment.") % {"what": decided.summary}
            )
        return HttpResponseRedirect(page)
