"""Legal entities (the companies that send invoices) and which entity bills a customer.

Finance adds and changes entities here; the form is validated by a dry run of the entity service
(``invoicing.services.entities``), like the catalog admin (``catalog.admin.base``), so every rule
shows up on its field in the service's words. The form adds one check of its own input: the logo's
content must be a PNG or JPEG image, whatever the file is called.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from billing_site import clock
from billing_site.errors import DomainError
from catalog.admin.base import ServiceForm, ServiceModelAdmin, form_values, staff_actor
from invoicing.admin.common import DisplayOnlyFormSet
from invoicing.models import BillingEntity, CustomerEntity, NumberSeries
from invoicing.services.entities import (
    ENTITY_FIELDS,
    billing_entity_create,
    billing_entity_make_default,
    billing_entity_update,
    customer_entity_set,
)
from invoicing.services.invoices import format_number
from subscriptions.admin.customers import country_choices
from subscriptions.models import Customer

LOGO_MAX_BYTES = 1024 * 1024
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


def logo_problem(logo: Any) -> str:
    """Why an uploaded logo cannot be printed on invoices ("" when it can): checked by content, not by name."""
    size = getattr(logo, "size", None)
    if size is not None and size > LOGO_MAX_BYTES:
        return str(_("The logo is larger than 1 MB: use a smaller PNG or JPEG."))
    logo.seek(0)
    head = logo.read(8)
    logo.seek(0)
    if not (head.startswith(_PNG) or head.startswith(_JPEG)):
        return str(_("The logo must be a PNG or JPEG image."))
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(logo) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return str(_("The logo file is damaged: save it again as PNG or JPEG."))
    finally:
        logo.seek(0)
    return ""


@transaction.atomic
def _make_default(entity: BillingEntity, request) -> None:
    """The entity service moves the default in one step."""
    now = clock.now()
    billing_entity_make_default(entity=entity, actor=staff_actor(request), now=now)


# --- legal entities ---------------------------------------------------------------------------------


def time_zone_choices() -> list[tuple[str, str]]:
    return [
        (name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name and not name.startswith("Etc/")
    ] + [("UTC", "UTC")]


class BillingEntityForm(ServiceForm):
    country = forms.ChoiceField(
        label=_("Country"), choices=country_choices, help_text=_("Where the company is registered.")
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=time_zone_choices, help_text=_("Invoice dates and yearly numbering follow it.")
    )
    logo = forms.FileField(
        label=_("Logo"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
        help_text=_("PNG or JPEG, at most 1 MB; printed top-left on invoices and credit notes."),
    )

    class Meta:
        model = BillingEntity
        fields = "__all__"

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "content_type"):  # a new upload, not the stored file
            problem = logo_problem(logo)
            if problem:
                raise forms.ValidationError(problem)
        return logo


class BillingEntityAdmin(ServiceModelAdmin):
    form = BillingEntityForm
    fieldsets = [
        (
            _("Legal details"),
            {
                "fields": [
                    "name",
                    "address_line1",
                    "address_line2",
                    "postal_code",
                    "city",
                    "region",
                    "country",
                    "vat_id",
                    "registration_id",
                    "email",
                ],
                "description": _(
                    "Printed as the seller on every invoice. Invoices already issued keep what they said."
                ),
            },
        ),
        (_("Bank account"), {"fields": ["iban", "bic"], "description": _("Where customers pay invoices by transfer.")}),
        (_("Branding"), {"fields": ["logo", "brand_color", "invoice_footer"]}),
        (_("Numbering"), {"fields": ["invoice_prefix", "credit_note_prefix", "number_reset", "numbering_status"]}),
        (
            _("Payment terms and approvals"),
            {"fields": ["payment_terms_days", "time_zone", "credit_note_approval_above"]},
        ),
        (_("Status"), {"fields": ["is_default", "active"]}),
    ]
    help_texts = {
        "invoice_prefix": _("Numbers look like INV-2026-00001 (yearly) or INV-00001 (continuous)."),
        "active": _("Inactive entities cannot be chosen for customers."),
    }
    list_display = ["name", "country", "vat_id", "default_display", "payment_terms_days", "approval_limit", "active"]
    list_filter = ["active", "country"]
    search_fields = ["name", "vat_id", "registration_id", "city"]
    change_form_template = "admin/invoicing/billingentity/change_form.html"

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return [
                (title, {**options, "fields": [f for f in options["fields"] if f != "numbering_status"]})
                for title, options in fieldsets
            ]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if "numbering_status" not in readonly:
            readonly.append("numbering_status")
        return readonly

    @admin.display(description=_("default"), boolean=True, ordering="is_default")
    def default_display(self, entity: BillingEntity) -> bool:
        return entity.is_default

    @admin.display(description=_("credit notes need approval above"))
    def approval_limit(self, entity: BillingEntity) -> str:
        limit = entity.credit_note_approval_above
        return "—" if limit is None else f"{limit.normalize():f}"

    @admin.display(description=_("last numbers given"))
    def numbering_status(self, entity: BillingEntity):
        series = list(NumberSeries.objects.filter(entity=entity).order_by("document", "-year"))
        if not series:
            return _("No invoice or credit note numbered yet.")
        names = {"invoice": _("Invoices"), "credit_note": _("Credit notes")}
        rows = []
        for row in series:
            prefix = entity.invoice_prefix if row.document == "invoice" else entity.credit_note_prefix
            when = str(row.year) if row.year else str(_("continuous"))
            rows.append((names.get(row.document, row.document), when, format_number(prefix, row.year, row.last_number)))
        return format_html_join(mark_safe("<br>"), "{} ({}): {}", rows)  # noqa: S308 - a constant

    def has_delete_permission(self, request, obj=None):
        return False  # entities are on issued invoices: deactivate one instead

    def changelist_view(self, request, extra_context=None):
        self._warn_without_default(request)
        return super().changelist_view(request, extra_context)

    def response_change(self, request, obj):
        self._warn_without_default(request)
        return super().response_change(request, obj)

    @staticmethod
    def _warn_without_default(request) -> None:
        if not BillingEntity.objects.filter(is_default=True).exists():
            messages.warning(
                request,
                _(
                    "No legal entity is the default: customers without an entity of their own cannot be invoiced. "
                    "Open the entity that should bill them and tick “default entity”."
                ),
            )

    def service_save(self, request, form, formsets, *, change):
        fields = form_values(form, ENTITY_FIELDS, change=change)
        if fields.get("logo") is False:
            fields["logo"] = ""  # "clear" ticked
        elif isinstance(fields.get("logo"), UploadedFile) and not getattr(request, "_entity_save_for_real", False):
            fields["logo"] = fields["logo"].name  # the dry run checks the name; the file is stored once, for real
        now = clock.now()
        if change:
            return billing_entity_update(entity=form.instance, actor=staff_actor(request), now=now, **fields)
        return billing_entity_create(actor=staff_actor(request), now=now, **fields)

    def save_related(self, request, form, formsets, change):
        request._entity_save_for_real = True
        super().save_related(request, form, formsets, change)

    # --- make default ------------------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/make-default/",
                self.admin_site.admin_view(self.make_default_view),
                name="invoicing_billingentity_make_default",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        entity = self.get_object(request, unquote(object_id))
        extra = {}
        if entity is not None:
            extra = {
                "can_make_default": not entity.is_default and self.has_change_permission(request, entity),
                "make_default_url": reverse("admin:invoicing_billingentity_make_default", args=[entity.pk]),
                "customer_count": CustomerEntity.objects.filter(entity=entity).count(),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def make_default_view(self, request, object_id):
        entity = self.get_object(request, unquote(object_id))
        if entity is None:
            raise Http404(_("This legal entity does not exist."))
        if not self.has_change_permission(request, entity):
            raise PermissionDenied
        page = reverse("admin:invoicing_billingentity_change", args=[entity.pk])
        if request.method == "POST":
            try:
                _make_default(entity, request)
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("“%(entity)s” is now the default legal entity.") % {"entity": entity})
            return HttpResponseRedirect(page)
        current = BillingEntity.objects.filter(is_default=True).first()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": entity,
            "title": _("Make “%(entity)s” the default legal entity") % {"entity": entity},
            "current": current,
            "change_url": page,
        }
        return TemplateResponse(request, "admin/invoicing/billingentity/make_default.html", context)


# --- which entity bills a customer ------------------------------------------------------------------


class CustomerEntityForm(ServiceForm):
    class Meta:
        model = CustomerEntity
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "entity" in self.fields:
            self.fields["entity"].queryset = BillingEntity.objects.filter(active=True).order_by("name")


class CustomerEntityAdmin(ServiceModelAdmin):
    form = CustomerEntityForm
    fields = ["customer", "entity"]
    autocomplete_fields = ["customer"]
    list_display = ["customer", "entity"]
    list_filter = ["entity"]
    search_fields = ["customer__name", "customer__email"]
    list_select_related = ["customer", "entity"]
    help_texts = {
        "entity": _(
            "The company that sends this customer's invoices from now on. Invoices already made keep theirs. "
            "Customers without a choice here are billed by the default entity."
        )
    }

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly + ["customer"] if obj is not None and "customer" not in readonly else readonly

    def service_save(self, request, form, formsets, *, change):
        customer = form.instance.customer if change else form.cleaned_data["customer"]
        customer_entity_set(
            customer=customer, entity=form.cleaned_data["entity"], actor=staff_actor(request), now=clock.now(customer)
        )
        return CustomerEntity.objects.get(customer=customer)

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("invoicing.delete_customerentity")

    def delete_model(self, request, obj):
        customer_entity_set(customer=obj.customer, entity=None, actor=staff_actor(request), now=clock.now(obj.customer))

    def delete_queryset(self, request, queryset):
        for link in queryset.select_related("customer"):
            self.delete_model(request, link)

    def _back_to_customer(self, request, obj):
        if "_continue" in request.POST or "_addanother" in request.POST:
            return None
        return HttpResponseRedirect(reverse("admin:subscriptions_customer_change", args=[obj.customer_id]))

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request,
            _("%(customer)s is now billed by %(entity)s.") % {"customer": obj.customer, "entity": obj.entity},
            messages.SUCCESS,
        )
        return self._back_to_customer(request, obj) or super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        self.message_user(
            request,
            _("%(customer)s is now billed by %(entity)s.") % {"customer": obj.customer, "entity": obj.entity},
            messages.SUCCESS,
        )
        return self._back_to_customer(request, obj) or super().response_change(request, obj)


class CustomerEntityInline(admin.TabularInline):
    """On the customer's page: the legal entity that bills the customer, and where to change it."""

    model = CustomerEntity
    formset = DisplayOnlyFormSet
    fields = ["entity"]
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name = _("legal entity")
    verbose_name_plural = _("legal entity that bills this customer")
    template = "admin/invoicing/edit_inline/customer_entity.html"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).none()  # the template shows a sentence, not rows

    def get_formset(self, request, obj=None, **kwargs):
        self.summary = self._summary(request, obj) if obj is not None else {}
        return super().get_formset(request, obj, **kwargs)

    @staticmethod
    def _summary(request, customer: Customer) -> dict[str, Any]:
        link = CustomerEntity.objects.select_related("entity").filter(customer=customer).first()
        entity = link.entity if link else BillingEntity.objects.filter(is_default=True).first()
        can_change = request.user.has_perm("invoicing.change_customerentity") and request.user.has_perm(
            "invoicing.add_customerentity"
        )
        if link is not None:
            change_url = reverse("admin:invoicing_customerentity_change", args=[link.pk])
        else:
            change_url = reverse("admin:invoicing_customerentity_add") + f"?customer={customer.pk}"
        entity_url = None
        if entity is not None and request.user.has_perm("invoicing.view_billingentity"):
            entity_url = reverse("admin:invoicing_billingentity_change", args=[entity.pk])
        return {
            "entity": entity,
            "entity_url": entity_url,
            "by_default": link is None,
            "change_url": change_url if can_change else None,
        }


def register(site: admin.AdminSite) -> None:
    if BillingEntity not in site._registry:
        site.register(BillingEntity, BillingEntityAdmin)
    if CustomerEntity not in site._registry:
        site.register(CustomerEntity, CustomerEntityAdmin)
    customer_admin = site._registry.get(Customer)
    if customer_admin is not None and CustomerEntityInline not in customer_admin.inlines:
        customer_admin.inlines = [*customer_admin.inlines, CustomerEntityInline]
