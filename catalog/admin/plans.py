"""Plans and plan versions: drafts are edited, published versions are frozen, archived ones retired."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from billing_site.errors import DomainError
from catalog.admin.base import ReadOnlyInline, ServiceModelAdmin, form_values, now, staff_actor
from catalog.admin.formatting import interval_text, price_summary, status_badge
from catalog.models import Plan, PlanVersion, PlanVersionStatus, Price
from catalog.services.plans import (
    PLAN_FIELDS,
    plan_create,
    plan_update,
    plan_version_archive,
    plan_version_delete_draft,
    plan_version_new_draft,
    plan_version_publish,
    plan_version_update,
)

# --- plans ---------------------------------------------------------------------------------


class VersionInline(ReadOnlyInline):
    model = PlanVersion
    fields = ["version", "status_shown", "price_count", "published_at", "notes"]
    readonly_fields = fields
    verbose_name_plural = _("versions (open one to see or change its prices)")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_prices=Count("prices"))

    @admin.display(description=_("version"))
    def version(self, version: PlanVersion) -> str:
        return f"v{version.number}"

    @admin.display(description=_("status"))
    def status_shown(self, version: PlanVersion):
        return status_badge(version)

    @admin.display(description=_("prices"))
    def price_count(self, version: PlanVersion) -> int:
        return version.n_prices


@admin.register(Plan)
class PlanAdmin(ServiceModelAdmin):
    fields = ["name", "code", "description", "active"]
    help_texts = {"description": _("Optional. What the plan is for; shown to customers in the portal.")}
    list_display = ["name", "code", "published_version", "draft_version", "active"]
    list_filter = ["active"]
    search_fields = ["name", "code", "description"]

    def get_inlines(self, request, obj):
        return [VersionInline] if obj is not None else []

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("versions")

    def _versions(self, plan: Plan, status: str) -> list[PlanVersion]:
        return sorted((v for v in plan.versions.all() if v.status == status), key=lambda v: -v.number)

    @admin.display(description=_("published version"))
    def published_version(self, plan: Plan):
        versions = self._versions(plan, PlanVersionStatus.PUBLISHED)
        if not versions:
            return "—"
        url = reverse("admin:catalog_planversion_change", args=[versions[0].pk])
        return format_html('<a href="{}">v{}</a>', url, versions[0].number)

    @admin.display(description=_("draft"))
    def draft_version(self, plan: Plan):
        versions = self._versions(plan, PlanVersionStatus.DRAFT)
        if not versions:
            return "—"
        url = reverse("admin:catalog_planversion_change", args=[versions[0].pk])
        return format_html('<a href="{}">v{}</a>', url, versions[0].number)

    def service_save(self, request, form, formsets, *, change):
        fields = form_values(form, PLAN_FIELDS, change=change)
        if change:
            return plan_update(plan=form.instance, actor=staff_actor(request), now=now(), **fields)
        return plan_create(actor=staff_actor(request), now=now(), **fields)

    def response_add(self, request, obj, post_url_continue=None):
        draft = obj.versions.filter(status=PlanVersionStatus.DRAFT).first()
        if draft is not None and "_addanother" not in request.POST and "_continue" not in request.POST:
            messages.info(
                request,
                _("%(plan)s comes with a first draft, %(draft)s: add its prices here.")
                % {
                    "plan": obj,
                    "draft": draft,
                },
            )
            return HttpResponseRedirect(reverse("admin:catalog_planversion_change", args=[draft.pk]))
        return super().response_add(request, obj, post_url_continue)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        plan = self.get_object(request, unquote(object_id))
        extra: dict[str, Any] = {}
        if plan is not None:
            versions = list(plan.versions.order_by("-number"))
            extra = {
                "plan_draft": next((v for v in versions if v.status == PlanVersionStatus.DRAFT), None),
                "plan_published": next((v for v in versions if v.status == PlanVersionStatus.PUBLISHED), None),
                "plan_latest": versions[0] if versions else None,
                "can_start_draft": request.user.has_perm("catalog.add_planversion"),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


# --- plan versions -------------------------------------------------------------------------


class PriceListInline(ReadOnlyInline):
    model = Price
    fk_name = "plan_version"
    fields = ["product", "nickname", "currency", "summary", "billing", "usage_type", "active"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product").prefetch_related("tiers", "rate_windows")

    @admin.display(description=_("price"))
    def summary(self, price: Price) -> str:
        return price_summary(price)

    @admin.display(description=_("billed"))
    def billing(self, price: Price) -> str:
        return interval_text(price)


@admin.register(PlanVersion)
class PlanVersionAdmin(ServiceModelAdmin):
    inlines = [PriceListInline]
    readonly_fields = ["number", "status_shown", "created_at", "published_at", "archived_at"]
    list_display = ["__str__", "plan", "status_shown", "price_count", "created_at", "published_at"]
    list_filter = ["status", "plan"]
    search_fields = ["plan__name", "plan__code", "notes"]
    list_select_related = ["plan"]
    actions = ["publish_selected", "archive_selected", "new_draft_selected", "delete_selected_drafts"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            fields = ["plan", "notes"]
        else:
            fields = ["plan", "number", "status_shown", "notes", "created_at", "published_at", "archived_at"]
        return [(None, {"fields": fields})]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and "plan" not in readonly:
            readonly.append("plan")
        return readonly

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "plan":
            kwargs["help_text"] = _(
                "The new draft starts as a copy of the plan's current published version, prices and all. "
                "A plan can have only one draft at a time."
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_prices=Count("prices"))

    @admin.display(description=_("status"), ordering="status")
    def status_shown(self, version: PlanVersion):
        return status_badge(version)

    @admin.display(description=_("prices"), ordering="n_prices")
    def price_count(self, version: PlanVersion) -> int:
        return getattr(version, "n_prices", None) or version.prices.count()

    # Permissions: only drafts change or go away; publishing and archiving need "change".

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.is_editable)

    def has_delete_permission(self, request, obj=None):
        perm = self.opts.app_label + ".delete_planversion"
        return request.user.has_perm(perm) and (obj is None or obj.status == PlanVersionStatus.DRAFT)

    def has_transition_permission(self, request) -> bool:
        return request.user.has_perm(self.opts.app_label + ".change_planversion")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # replaced by "delete_selected_drafts", through the service
        return actions

    # Saving through the service

    def service_save(self, request, form, formsets, *, change):
        if change:
            if "notes" not in form.changed_data:
                return form.instance
            return plan_version_update(
                version=form.instance, actor=staff_actor(request), now=now(), notes=form.cleaned_data["notes"]
            )
        values = form_values(form, {"plan", "notes"}, change=False)
        return plan_version_new_draft(actor=staff_actor(request), now=now(), **values)

    def get_deleted_objects(self, objs, request):
        """What deleting drafts takes with it: their prices (the service deletes them)."""
        listed: list[Any] = []
        prices = 0
        for version in objs:
            version_prices = list(version.prices.select_related("product"))
            prices += len(version_prices)
            listed.append(format_html("{} {}", _("Draft"), version))
            listed.append([format_html("{} {}", _("Price"), price) for price in version_prices])
        counts = {PlanVersion._meta.verbose_name_plural: len(objs), Price._meta.verbose_name_plural: prices}
        return listed, counts, set(), []

    def delete_model(self, request, obj):
        plan_version_delete_draft(version=obj, actor=staff_actor(request), now=now())

    def delete_queryset(self, request, queryset):
        for version in queryset:
            self.delete_model(request, version)

    # The change page: status banner and buttons

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, unquote(object_id))
        extra: dict[str, Any] = {}
        if version is not None:
            extra = self._version_context(request, version)
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _version_context(self, request, version: PlanVersion) -> dict[str, Any]:
        draft = None
        if version.status != PlanVersionStatus.DRAFT:
            draft = version.plan.versions.filter(status=PlanVersionStatus.DRAFT).first()
        can_transition = self.has_transition_permission(request)
        return {
            "version": version,
            "open_draft": draft,
            "can_start_draft": self.has_add_permission(request),
            "can_publish": can_transition and version.status == PlanVersionStatus.DRAFT,
            "can_archive": can_transition and version.status == PlanVersionStatus.PUBLISHED,
            "can_add_price": version.is_editable and request.user.has_perm("catalog.add_price"),
            "add_price_url": reverse("admin:catalog_price_add") + f"?plan_version={version.pk}",
            "publish_url": reverse("admin:catalog_planversion_publish", args=[version.pk]),
            "archive_url": reverse("admin:catalog_planversion_archive", args=[version.pk]),
            "new_draft_url": reverse("admin:catalog_planversion_new_draft", args=[version.pk]),
        }

    # Publish, archive, new draft: one page each, and the same as list actions

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name

        def view(func, name):
            return path(
                f"<path:object_id>/{name}/",
                self.admin_site.admin_view(func),
                name="{}_{}_{}".format(*info, name.replace("-", "_")),
            )

        return [
            view(self.publish_view, "publish"),
            view(self.archive_view, "archive"),
            view(self.new_draft_view, "new-draft"),
            *super().get_urls(),
        ]

    def _get_version(self, request, object_id) -> PlanVersion:
        version = self.get_object(request, unquote(object_id))
        if version is None:
            raise Http404(_("This plan version does not exist (any more)."))
        if not self.has_view_or_change_permission(request, version):
            raise PermissionDenied
        return version

    def _change_url(self, version: PlanVersion) -> str:
        return reverse("admin:catalog_planversion_change", args=[version.pk])

    def publish_view(self, request, object_id):
        version = self._get_version(request, object_id)
        if not self.has_transition_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            self._run(request, [version], self._publish)
            return HttpResponseRedirect(self._change_url(version))
        return self._confirm_page(request, "publish", [version])

    def archive_view(self, request, object_id):
        version = self._get_version(request, object_id)
        if not self.has_transition_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            self._run(request, [version], self._archive)
            return HttpResponseRedirect(self._change_url(version))
        return self._confirm_page(request, "archive", [version])

    def new_draft_view(self, request, object_id):
        version = self._get_version(request, object_id)
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            drafts = self._run(request, [version], self._new_draft)
            return HttpResponseRedirect(self._change_url(drafts[0] if drafts else version))
        return self._confirm_page(request, "new_draft", [version])

    @admin.action(description=_("Publish the selected drafts…"), permissions=["transition"])
    def publish_selected(self, request, queryset):
        if request.POST.get("confirm") == "yes":
            self._run(request, queryset, self._publish)
            return None
        return self._confirm_page(request, "publish", list(queryset), action="publish_selected")

    @admin.action(description=_("Archive the selected published versions…"), permissions=["transition"])
    def archive_selected(self, request, queryset):
        if request.POST.get("confirm") == "yes":
            self._run(request, queryset, self._archive)
            return None
        return self._confirm_page(request, "archive", list(queryset), action="archive_selected")

    @admin.action(description=_("Start a new draft from the selected version"), permissions=["add"])
    def new_draft_selected(self, request, queryset):
        drafts = self._run(request, queryset, self._new_draft)
        if len(drafts) == 1:
            return HttpResponseRedirect(self._change_url(drafts[0]))
        return None

    @admin.action(description=_("Delete the selected drafts…"), permissions=["delete"])
    def delete_selected_drafts(self, request, queryset):
        if request.POST.get("confirm") == "yes":
            self._run(request, queryset, self._delete_draft)
            return None
        return self._confirm_page(request, "delete", list(queryset), action="delete_selected_drafts")

    def _publish(self, request, version: PlanVersion) -> PlanVersion:
        version = plan_version_publish(version=version, actor=staff_actor(request), now=now())
        count = version.prices.count()
        messages.success(
            request,
            ngettext(
                "%(version)s is published. Its %(count)d price is now frozen.",
                "%(version)s is published. Its %(count)d prices are now frozen.",
                count,
            )
            % {"version": version, "count": count},
        )
        return version

    def _archive(self, request, version: PlanVersion) -> PlanVersion:
        version = plan_version_archive(version=version, actor=staff_actor(request), now=now())
        messages.success(
            request, _("%(version)s is archived: no new subscriptions; existing ones keep it.") % {"version": version}
        )
        return version

    def _new_draft(self, request, version: PlanVersion) -> PlanVersion:
        draft = plan_version_new_draft(plan=version.plan, from_version=version, actor=staff_actor(request), now=now())
        messages.success(
            request,
            _("%(draft)s is a new draft with the prices of v%(number)s. Change them here, then publish.")
            % {"draft": draft, "number": version.number},
        )
        return draft

    def _delete_draft(self, request, version: PlanVersion) -> None:
        name = str(version)
        plan_version_delete_draft(version=version, actor=staff_actor(request), now=now())
        messages.success(request, _("The draft %(version)s and its prices are deleted.") % {"version": name})

    def _run(
        self, request, versions: Iterable[PlanVersion], step: Callable[[Any, PlanVersion], PlanVersion | None]
    ) -> list[PlanVersion]:
        """Each version on its own (each service call is one transaction); refusals become messages."""
        done = []
        for version in versions:
            try:
                result = step(request, version)
            except DomainError as error:
                messages.error(request, error.message)
            else:
                if result is not None:
                    done.append(result)
        return done

    CONFIRM_TEXTS = {
        "publish": (
            _("Publish"),
            _(
                "Publishing freezes every price listed below: customers who subscribe to a published version keep "
                "exactly these prices, and nobody can change them afterwards. To change a price later, you start a "
                "new draft. Every price is checked once more before the version is published."
            ),
            _("Yes, publish"),
        ),
        "archive": (
            _("Archive"),
            _(
                "An archived version accepts no new subscriptions. Customers already on it keep it and keep paying "
                "these prices. Archiving cannot be undone."
            ),
            _("Yes, archive"),
        ),
        "new_draft": (
            _("Start a new draft"),
            _(
                "The new draft is a copy of this version with all the prices below. You can change the copy freely; "
                "nothing changes for customers until you publish it."
            ),
            _("Start the new draft"),
        ),
        "delete": (
            _("Delete draft"),
            _("The drafts below and their prices will be deleted. They were never published, so no customer has them."),
            _("Yes, delete"),
        ),
    }

    def _confirm_page(self, request, kind: str, versions: list[PlanVersion], *, action: str | None = None):
        verb, explanation, button = self.CONFIRM_TEXTS[kind]
        rows = []
        for version in versions:
            prices = list(version.prices.select_related("product").prefetch_related("tiers", "rate_windows"))
            rows.append(
                {
                    "version": version,
                    "url": self._change_url(version),
                    "prices": [
                        {
                            "name": str(price),
                            "summary": price_summary(price),
                            "billing": interval_text(price),
                            "url": reverse("admin:catalog_price_change", args=[price.pk]),
                        }
                        for price in prices
                    ],
                }
            )
        title = format_html("{}: {}", verb, ", ".join(str(v) for v in versions))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "explanation": explanation,
            "button": button,
            "kind": kind,
            "rows": rows,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "cancel_url": self._change_url(versions[0])
            if action is None and versions
            else reverse("admin:catalog_planversion_changelist"),
        }
        return TemplateResponse(request, "admin/catalog/planversion/confirm.html", context)
