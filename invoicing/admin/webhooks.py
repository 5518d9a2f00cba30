"""Provider webhook events in the admin: what Stripe told us, what we did with it, and a retry for failures.

Read-only for everyone: an event is what the provider sent. Finance (the "change webhook event"
permission) may retry a failed event, from the list (an action) or from the event's page (a button);
processing goes through ``webhook_retry`` like any other door.
"""

from __future__ import annotations

import datetime as dt
import json

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from billing_site import clock
from billing_site.actors import Actor
from billing_site.errors import DomainError
from invoicing.models import WebhookEvent, WebhookStatus
from invoicing.services.webhooks import webhook_retry

__all__ = ["WebhookEventAdmin", "register"]

RETRY_PERMISSION = "invoicing.change_webhookevent"
_COLOURS = {WebhookStatus.FAILED: "#ba2121", WebhookStatus.PROCESSED: "#1b5e20"}


class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "type", "event_id", "status_display", "attempts", "processed_at", "outcome"]
    list_display_links = ["received_at", "type"]
    list_filter = ["status", "type"]
    search_fields = ["event_id"]
    search_help_text = _("Search by the provider's event id (evt_…).")
    date_hierarchy = "received_at"
    list_per_page = 100
    actions = ["retry"]
    change_form_template = "admin/invoicing/webhookevent/change_form.html"
    fieldsets = [
        (None, {"fields": ["status_display", "outcome", "attempts", "received_at", "processed_at"]}),
        (_("Event"), {"fields": ["provider", "event_id", "type", "created_at", "livemode"]}),
        (_("Payload (card and bank numbers removed)"), {"fields": ["payload_pretty"]}),
    ]
    readonly_fields = ["status_display", "outcome", "created_at", "payload_pretty"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the page is read-only; "change" is the permission to retry (has_retry_permission)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_retry_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(RETRY_PERMISSION)

    # --- columns and fields ----------------------------------------------------------------------

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, event: WebhookEvent):
        colour = _COLOURS.get(event.status)
        if colour is None:
            return event.get_status_display()
        return format_html('<strong style="color: {}">{}</strong>', colour, event.get_status_display())

    @admin.display(description=_("what it did / last error"))
    def outcome(self, event: WebhookEvent):
        if event.status == WebhookStatus.FAILED:
            return format_html('<span style="color: #ba2121">{}</span>', event.last_error or "—")
        return event.result or "—"

    @admin.display(description=_("created at the provider"))
    def created_at(self, event: WebhookEvent) -> str:
        return dt.datetime.fromtimestamp(event.created, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    @admin.display(description=_("payload"))
    def payload_pretty(self, event: WebhookEvent):
        text = json.dumps(event.payload, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html('<pre style="margin: 0; white-space: pre-wrap; max-width: 100ch">{}</pre>', text)

    # --- retrying --------------------------------------------------------------------------------

    @admin.action(description=_("Retry processing"), permissions=["retry"])
    def retry(self, request, queryset):
        failed = list(queryset.filter(status=WebhookStatus.FAILED).order_by("created", "pk"))
        skipped = queryset.exclude(status=WebhookStatus.FAILED).count()
        outcomes = {status: 0 for status in WebhookStatus.values}
        for event in failed:
            outcomes[_retry(request, event).status] += 1
        if failed:
            level = messages.WARNING if outcomes[WebhookStatus.FAILED] else messages.SUCCESS
            self.message_user(
                request,
                _("%(count)s processed again: %(processed)s processed, %(ignored)s ignored, %(failed)s failed again.")
                % {"count": len(failed), **{key: outcomes[key] for key in ("processed", "ignored", "failed")}},
                level,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)s event had not failed and was left as it is.",
                    "%(count)s events had not failed and were left as they are.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    # Processing may reach Stripe (a card's details, a charge with a new default card): no request
    # transaction may hold locks around it, as for every door that calls a provider.
    @transaction.non_atomic_requests
    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/retry/",
                self.admin_site.admin_view(self.retry_view),
                name="invoicing_webhookevent_retry",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        event = self.get_object(request, unquote(object_id))
        extra = {}
        if event is not None:
            extra = {
                "can_retry": event.status == WebhookStatus.FAILED and self.has_retry_permission(request, event),
                "retry_url": reverse(f"{self.admin_site.name}:invoicing_webhookevent_retry", args=[event.pk]),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    @transaction.non_atomic_requests
    def retry_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_retry_permission(request):
            raise PermissionDenied
        event = self.get_object(request, unquote(object_id))
        if event is None:
            raise Http404(_("This webhook event does not exist."))
        done = _retry(request, event)
        if done.status == WebhookStatus.FAILED:
            messages.error(request, _("Processing failed again: %(error)s") % {"error": done.last_error})
        elif done is not event:
            messages.success(request, _("Processed again: %(result)s") % {"result": done.result or done.status})
        return HttpResponseRedirect(reverse(f"{self.admin_site.name}:invoicing_webhookevent_change", args=[event.pk]))


def _retry(request, event: WebhookEvent) -> WebhookEvent:
    try:
        return webhook_retry(event=event, actor=Actor.staff(request.user), now=clock.now())
    except DomainError as error:
        messages.error(request, error.message)
        return event


def register(site: admin.AdminSite) -> None:
    """Show the webhook events on ``site``. Safe to call twice."""
    if WebhookEvent not in site._registry:
        site.register(WebhookEvent, WebhookEventAdmin)
