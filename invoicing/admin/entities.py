"""Legal entities (the companies that send invoices) and which entity bills a customer.

Finance adds and changes entities here; the form is validated by a dry run of the save, like the
catalog admin (``catalog.admin.base``), so every rule shows up on its field in words.

The invoicing app has no entity service yet, and this admin may not add one to ``invoicing/services``;
the writes below (``billing_entity_create`` …) are written as services would be: keyword-only, one
transaction, validated, audited through ``billing_site.services.records``. They belong in
``invoicing/services/entities.py`` and should move there.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from billing_site import clock
from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record
from billing_site.services.records import record_create, record_update
from billing_site.services.validation import full_clean_or_raise
from catalog.admin.base import ServiceForm, ServiceModelAdmin, form_values, staff_actor
from invoicing.admin.common import DisplayOnlyFormSet
from invoicing.models import BillingEntity, CustomerEntity, Invoice, NumberReset, NumberSeries
from invoicing.services.invoices import format_number
from subscriptions.admin.customers import country_choices
from subscriptions.domain.vat import normalize_vat_id
from subscriptions.models import Customer
from subscriptions.services.customers import country_codes

ENTITY_FIELDS = {
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
    "iban",
    "bic",
    "logo",
    "brand_color",
    "invoice_footer",
    "payment_terms_days",
    "time_zone",
    "invoice_prefix",
    "credit_note_prefix",
    "number_reset",
    "credit_note_approval_above",
    "is_default",
    "active",
}
LOGO_MAX_BYTES = 1024 * 1024
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


def _fail(code: str, field: str, message: str) -> DomainError:
    return DomainError(code, message, fields={field: message})


# --- the writes (to move to invoicing/services/entities.py) ---------------------------------------------


def logo_check(logo: Any) -> None:
    """A PNG or JPEG of at most 1 MB: what the PDF renderer prints. Checked by content, not by name."""
    if not logo:
        return
    size = getattr(logo, "size", None)
    if size is not None and size > LOGO_MAX_BYTES:
        raise _fail("logo_too_large", "logo", "The logo is larger than 1 MB: use a smaller PNG or JPEG.")
    handle = logo.file if hasattr(logo, "file") else logo
    handle.seek(0)
    head = handle.read(8)
    handle.seek(0)
    if not (head.startswith(_PNG) or head.startswith(_JPEG)):
        raise _fail("logo_not_an_image", "logo", "The logo must be a PNG or JPEG image.")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(handle) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _fail("logo_not_an_image", "logo", "The logo file is damaged: save it again as PNG or JPEG.") from None
    finally:
        handle.seek(0)


def _iban_ok(iban: str) -> bool:
    if not _IBAN.fullmatch(iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def billing_entity_validate(entity: BillingEntity) -> None:
    """Normalise and check an entity: country, VAT id, bank details, time zone, one default."""
    entity.country = (entity.country or "").strip().upper()
    if entity.country not in country_codes():
        raise _fail("invalid_country", "country", "Use the two-letter ISO code of a country, e.g. NL, SE or DE.")
    if entity.vat_id:
        try:
            entity.vat_id = normalize_vat_id(entity.vat_id, entity.country)
        except DomainError as error:
            if error.code != "vat_id_not_supported":
                raise
            entity.vat_id = re.sub(r"[\s.\-/]+", "", entity.vat_id).upper()
    entity.iban = re.sub(r"\s+", "", entity.iban or "").upper()
    if entity.iban and not _iban_ok(entity.iban):
        raise _fail("invalid_iban", "iban", "This IBAN is not valid: check for a typing error (e.g. NL91ABNA0417164300).")
    entity.bic = re.sub(r"\s+", "", entity.bic or "").upper()
    if entity.bic and not _BIC.fullmatch(entity.bic):
        raise _fail("invalid_bic", "bic", "A BIC has 8 or 11 letters and digits, e.g. ABNANL2A.")
    try:
        zoneinfo.ZoneInfo(entity.time_zone or "")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _fail("invalid_time_zone", "time_zone", "Choose a time zone such as Europe/Amsterdam.") from None
    limit = entity.credit_note_approval_above
    if limit is not None and Decimal(limit) < 0:
        raise _fail(
            "invalid_approval_limit",
            "credit_note_approval_above",
            "The approval limit cannot be negative. Leave it empty when no approval is needed.",
        )
    if entity.is_default and not entity.active:
        raise _fail("default_inactive", "active", "The default entity must stay active: make another entity the default first.")
    others = BillingEntity.objects.filter(is_default=True).exclude(pk=entity.pk)
    if entity.is_default and others.exists():
        raise _fail(
            "second_default",
            "is_default",
            f"“{others.first()}” is already the default entity, and there is only one. Save this entity without "
            "“default”, then use “Make this the default entity” on its page to switch.",
        )
    full_clean_or_raise(entity, exclude=["logo"])


def _check_change(entity: BillingEntity, changed: list[str]) -> None:
    if "is_default" in changed and not entity.is_default:
        raise _fail(
            "default_required",
            "is_default",
            "Customers without an entity of their own are billed by the default entity, so there must always be "
            "one. Open the entity that should take over and use “Make this the default entity”.",
        )
    if "number_reset" in changed and Invoice.objects.filter(entity=entity).exclude(number="").exists():
        raise _fail(
            "numbering_fixed",
            "number_reset",
            "This entity has issued invoices, so its numbering cannot switch between yearly and continuous.",
        )


def _fields(fields: dict[str, Any]) -> dict[str, Any]:
    if "logo" in fields:
        logo_check(fields["logo"])
        if fields["logo"] is False or fields["logo"] is None:
            fields["logo"] = ""
    return fields


@transaction.atomic
def billing_entity_create(*, actor: Actor, now: dt.datetime, **fields: Any) -> BillingEntity:
    return record_create(
        BillingEntity(created_at=now, updated_at=now),
        fields=_fields(fields),
        allowed=ENTITY_FIELDS,
        actor=actor,
        now=now,
        action="billing_entity.created",
        validate=billing_entity_validate,
    )


@transaction.atomic
def billing_entity_update(*, entity: BillingEntity, actor: Actor, now: dt.datetime, **changes: Any) -> BillingEntity:
    """Invoices already finalized keep the seller details they were issued with (their snapshot)."""
    return record_update(
        BillingEntity.objects.select_for_update().get(pk=entity.pk),
        changes=_fields(changes),
        allowed=ENTITY_FIELDS,
        actor=actor,
        now=now,
        action="billing_entity.updated",
        validate=billing_entity_validate,
        check=_check_change,
    )


@transaction.atomic
def billing_entity_make_default(*, entity: BillingEntity, actor: Actor, now: dt.datetime) -> BillingEntity:
    """Move "default" to ``entity`` in one step: customers without an entity of their own are billed by it."""
    locked = BillingEntity.objects.select_for_update().filter(Q(is_default=True) | Q(pk=entity.pk)).order_by("pk")
    rows = {e.pk: e for e in locked}
    target = rows[entity.pk]
    if target.is_default:
        return target
    if not target.active:
        raise _fail("default_inactive", "active", f"“{target}” is not active: activate it before making it the default.")
    for previous in (e for e in rows.values() if e.is_default):
        previous.is_default, previous.updated_at = False, now
        previous.save(update_fields=["is_default", "updated_at"])
        audit_record(actor=actor, action="billing_entity.updated", obj=previous, now=now, before={"is_default": True}, after={"is_default": False})
    target.is_default, target.updated_at = True, now
    target.save(update_fields=["is_default", "updated_at"])
    audit_record(actor=actor, action="billing_entity.made_default", obj=target, now=now, before={"is_default": False}, after={"is_default": True})
    return target


@transaction.atomic
def customer_entity_set(*, customer: Customer, entity: BillingEntity, actor: Actor, now: dt.datetime) -> CustomerEntity:
    """Bill ``customer`` from ``entity`` from now on; invoices already made keep their entity."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if not entity.active:
        raise _fail("entity_inactive", "entity", f"“{entity}” is not active: choose an active legal entity.")
    link = CustomerEntity.objects.filter(customer=customer).first()
    before = {"entity": link.entity_id} if link else {"entity": None}
    if link is None:
        link = CustomerEntity.objects.create(customer=customer, entity=entity)
    elif link.entity_id != entity.pk:
        link.entity = entity
        link.save(update_fields=["entity"])
    else:
        return link
    audit_record(actor=actor, action="customer.billing_entity_set", obj=customer, now=now, before=before, after={"entity": entity.pk})
    return link


@transaction.atomic
def customer_entity_remove(*, customer: Customer, actor: Actor, now: dt.datetime) -> None:
    """The customer is billed by the default entity again."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    link = CustomerEntity.objects.filter(customer=customer).first()
    if link is None:
        return
    before = {"entity": link.entity_id}
    link.delete()
    audit_record(actor=actor, action="customer.billing_entity_set", obj=customer, now=now, before=before, after={"entity": None})


# --- legal entities ---------------------------------------------------------------------------------


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name and not name.startswith("Etc/")] + [("UTC", "UTC")]


class BillingEntityForm(ServiceForm):
    country = forms.ChoiceField(label=_("Country"), choices=country_choices, help_text=_("Where the company is registered."))
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
                "description": _("Printed as the seller on every invoice. Invoices already issued keep what they said."),
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
        if obj is not None and obj.is_default and "is_default" not in readonly:
            readonly.append("is_default")  # moved with "Make this the default entity" on another entity
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

    def service_save(self, request, form, formsets, *, change):
        fields = form_values(form, ENTITY_FIELDS, change=change)
        if not getattr(request, "_entity_save_for_real", False) and isinstance(fields.get("logo"), UploadedFile):
            logo_check(fields.pop("logo"))  # checked now, stored once, when saving for real
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
                billing_entity_make_default(entity=entity, actor=staff_actor(request), now=clock.now())
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
        return customer_entity_set(
            customer=customer,
            entity=form.cleaned_data["entity"],
            actor=staff_actor(request),
            now=clock.now(customer),
        )

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("invoicing.delete_customerentity")

    def delete_model(self, request, obj):
        customer_entity_remove(customer=obj.customer, actor=staff_actor(request), now=clock.now(obj.customer))

    def delete_queryset(self, request, queryset):
        for link in queryset.select_related("customer"):
            self.delete_model(request, link)

    def _back_to_customer(self, request, obj):
        if "_continue" in request.POST or "_addanother" in request.POST:
            return None
        return HttpResponseRedirect(reverse("admin:subscriptions_customer_change", args=[obj.customer_id]))

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, _("%(customer)s is now billed by %(entity)s.") % {"customer": obj.customer, "entity": obj.entity}, messages.SUCCESS)
        return self._back_to_customer(request, obj) or super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        self.message_user(request, _("%(customer)s is now billed by %(entity)s.") % {"customer": obj.customer, "entity": obj.entity}, messages.SUCCESS)
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
