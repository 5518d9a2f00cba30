"""E-mails sent to customers, in the admin: a read-only log, and the list on each customer's page.

Nobody adds, changes or deletes a logged e-mail, superusers included: the log says what a customer
was sent. ``register(site)`` puts the log on an admin site and the e-mails on its customer page.
"""

from __future__ import annotations

from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from catalog.admin.base import ReadOnlyInline
from invoicing.models import EmailLog, EmailStatus
from subscriptions.models import Customer

__all__ = ["EmailLogAdmin", "EmailLogInline", "register"]


def _status(log: EmailLog):
    if log.status == EmailStatus.FAILED:
        return format_html('<strong style="color: #ba2121">{}</strong>', log.get_status_display())
    return log.get_status_display()


class EmailLogAdmin(admin.ModelAdmin):
    list_display = ["sent_at", "customer", "kind", "subject", "recipients", "status_display"]
    list_display_links = ["sent_at", "subject"]
    list_filter = ["kind", "status"]
    list_select_related = ["customer"]
    date_hierarchy = "sent_at"
    search_fields = ["subject", "customer__name", "customer__email"]
    search_help_text = _("Search by subject, or by the customer's name or e-mail address.")
    list_per_page = 100
    actions = None
    fieldsets = [
        (None, {"fields": ["sent_at", "status_display", "error", "kind", "language"]}),
        (_("Message"), {"fields": ["recipients", "subject", "attachment_names", "body"]}),
        (_("About"), {"fields": ["customer", "invoice", "credit_note", "subscription", "dedupe_key"]}),
    ]
    readonly_fields = ["status_display", "recipients", "attachment_names", "body"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("customer", "invoice", "credit_note", "subscription")

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.status != EmailStatus.FAILED:
            return [
                (title, {**options, "fields": [name for name in options["fields"] if name != "error"]})
                for title, options in self.fieldsets
            ]
        return self.fieldsets

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, log: EmailLog):
        return _status(log)

    @admin.display(description=_("to"))
    def recipients(self, log: EmailLog) -> str:
        return ", ".join(log.to or []) or "—"

    @admin.display(description=_("attachments"))
    def attachment_names(self, log: EmailLog) -> str:
        return ", ".join(log.attachments or []) or "—"

    @admin.display(description=_("text"))
    def body(self, log: EmailLog):
        if not log.body_text:
            return "—"
        return format_html(
            '<pre style="margin: 0; white-space: pre-wrap; font-family: inherit">{}</pre>', log.body_text
        )


class DisplayOnlyFormSet(BaseInlineFormSet):
    """The e-mails on a customer's page are shown, never submitted: saving the customer ignores them.

    Unbound on purpose, so that a form posted without their rows (a script, an older page) still saves.
    """

    def __init__(self, data=None, files=None, *args, **kwargs):
        super().__init__(None, None, *args, **kwargs)

    def is_valid(self) -> bool:
        return True

    def has_changed(self) -> bool:
        return False

    def save(self, commit=True):
        return []


class EmailLogInline(ReadOnlyInline):
    model = EmailLog
    formset = DisplayOnlyFormSet
    fields = ("sent_at", "kind", "subject", "status_display", "entry")
    readonly_fields = fields
    ordering = ["-sent_at", "-id"]
    show_change_link = False  # the "entry" column links to the e-mail
    verbose_name = _("e-mail sent")
    verbose_name_plural = _("e-mails sent")
    template = "admin/catalog/edit_inline/tabular_with_help.html"  # rows without their name above them

    @admin.display(description=_("status"))
    def status_display(self, log: EmailLog):
        return _status(log)

    @admin.display(description=_("e-mail"))
    def entry(self, log: EmailLog):
        if log.pk is None:
            return "—"
        url = reverse(f"{self.admin_site.name}:invoicing_emaillog_change", args=[log.pk])
        return format_html('<a href="{}">{}</a>', url, _("Read the e-mail"))


def register(site: admin.AdminSite) -> None:
    """Show the e-mail log on ``site`` and the e-mails sent on its customer page. Safe to call twice."""
    if EmailLog not in site._registry:
        site.register(EmailLog, EmailLogAdmin)
    customer_admin = site._registry.get(Customer)
    if customer_admin is not None and EmailLogInline not in customer_admin.inlines:
        customer_admin.inlines = [*customer_admin.inlines, EmailLogInline]  # type: ignore[misc]
