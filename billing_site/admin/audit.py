"""The audit trail in the admin: browsable, filterable, and read-only for everyone, superusers included."""

from __future__ import annotations

import json

from django.apps import apps
from django.contrib import admin
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from billing_site.models import AuditEvent


def pretty_json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "action", "object_summary", "actor_label"]
    list_display_links = ["occurred_at", "action"]
    list_filter = ["actor_kind", "action", "object_type"]
    date_hierarchy = "occurred_at"
    # "=" makes the ids exact: searching object 12 must not also find 112 and 120.
    search_fields = ["object_repr", "actor_label", "=object_id", "=actor_id"]
    search_help_text = _("Search by object name, by who did it, or by the exact object id.")
    list_per_page = 100
    show_full_result_count = False  # the trail only grows; counting it all on every page gets slow
    actions = None
    fieldsets = [
        (_("What happened"), {"fields": ["occurred_at", "action", "reason"]}),
        (_("Who"), {"fields": ["actor_label", "actor_kind", "actor_id"]}),
        (_("To what"), {"fields": ["object_type", "object_id", "object_link", "object_history"]}),
        (_("Change"), {"fields": ["before_json", "after_json"]}),
    ]
    readonly_fields = ["object_link", "object_history", "before_json", "after_json"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("object"), ordering="object_type")
    def object_summary(self, event: AuditEvent):
        return format_html(
            '{}<br><span class="quiet">{} #{}</span>', event.object_repr, event.object_type, event.object_id
        )

    @admin.display(description=_("before"))
    def before_json(self, event: AuditEvent):
        return self._json_block(event.before)

    @admin.display(description=_("after"))
    def after_json(self, event: AuditEvent):
        return self._json_block(event.after)

    @admin.display(description=_("object"))
    def object_link(self, event: AuditEvent):
        url = self._object_admin_url(event)
        if url is None:
            return event.object_repr
        return format_html('<a href="{}">{}</a>', url, event.object_repr)

    @admin.display(description=_("history"))
    def object_history(self, event: AuditEvent):
        query = urlencode({"object_type": event.object_type, "object_id": event.object_id})
        url = reverse(f"{self.admin_site.name}:billing_site_auditevent_changelist")
        return format_html('<a href="{}?{}">{}</a>', url, query, _("Every event of this object"))

    @staticmethod
    def _json_block(value):
        if value is None:
            return "—"
        return format_html('<pre style="margin: 0; white-space: pre-wrap">{}</pre>', pretty_json(value))

    def _object_admin_url(self, event: AuditEvent) -> str | None:
        try:
            model = apps.get_model(event.object_type)
        except (LookupError, ValueError):
            return None
        if model not in self.admin_site._registry:
            return None
        opts = model._meta
        try:
            return reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[event.object_id])
        except NoReverseMatch:
            return None
