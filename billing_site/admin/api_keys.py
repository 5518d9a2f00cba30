"""API keys in the admin, for superusers only.

Creating a key goes through ``api_key_create``; its secret is shown once, in the message after
saving, and never again (only a hash is stored). Nothing on a key is edited: a key that is no
longer wanted, or that leaked, is revoked.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from billing_site import clock
from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.models import ApiKey, ApiScope
from billing_site.services.api_keys import KEY_PREFIX, api_key_create, api_key_revoke, parse_scopes


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=ApiScope.choices,
        initial=[ApiScope.READ],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Read lets the system fetch data; write lets it create and change data. Give only what it needs."),
        error_messages={"required": _("Choose at least one scope: read, write or both.")},
    )

    class Meta:
        model = ApiKey
        fields = ["name"]

    def clean_scopes(self) -> list[str]:
        try:
            return parse_scopes(self.cleaned_data["scopes"])
        except DomainError as error:
            raise forms.ValidationError(error.message) from error


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional, kept in the audit trail, e.g. “the CRM integration was switched off”."),
    )


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("revoked", _("Revoked"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "key_prefix", "scope_list", "status", "last_used_at"]
    list_filter = [StatusFilter]
    search_fields = ["name", "=prefix"]
    actions = ["revoke_selected"]
    change_form_template = "admin/billing_site/apikey/change_form.html"
    readonly_fields = [
        "name",
        "key_prefix",
        "scope_list",
        "status",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    ]

    # --- who may do what: superusers only, and nobody edits or deletes a key ---------------------

    def _is_superuser(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request) -> bool:
        return self._is_superuser(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._is_superuser(request)

    def has_add_permission(self, request) -> bool:
        return self._is_superuser(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the audit trail keeps pointing at the key

    def has_revoke_permission(self, request) -> bool:
        return self._is_superuser(request)

    # --- display ------------------------------------------------------------------------------------

    @admin.display(description=_("key"), ordering="prefix")
    def key_prefix(self, key: ApiKey) -> str:
        return f"{KEY_PREFIX}{key.prefix}_…"

    @admin.display(description=_("scopes"))
    def scope_list(self, key: ApiKey) -> str:
        labels = dict(ApiScope.choices)
        return ", ".join(str(labels.get(scope, scope)) for scope in key.scopes)

    @admin.display(description=_("status"), ordering="revoked_at")
    def status(self, key: ApiKey) -> str:
        return _("Active") if key.is_active else _("Revoked")

    # --- creating: through the service, the secret shown once ----------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        # Saving always leads to the new key's page, where the secret is shown: no "save and add another".
        extra_context = {**(extra_context or {}), "show_save_and_add_another": False, "show_save_and_continue": False}
        return super().add_view(request, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["name", "scopes"]})]
        return [
            (None, {"fields": ["name", "key_prefix", "scope_list", "status"]}),
            (_("History"), {"fields": ["created_at", "created_by", "last_used_at", "revoked_at"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        key, secret = api_key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            actor=Actor.staff(request.user),
            now=clock.now(),
        )
        # The admin goes on with ``obj`` (history entry, redirect): make it the key the service created.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(key, field.attname))
        obj._state.adding = False
        obj._state.db = key._state.db
        request._api_key_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_api_key_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        messages.success(
            request,
            format_html(
                '{}<br><code data-testid="api-key-secret" style="font-size: 1.1em; user-select: all">{}</code>',
                _(
                    "The API key “{name}” was created. Copy the secret below into the other system now: "
                    "it is shown only this once and cannot be recovered."
                ).format(name=obj.name),
                secret,
            ),
        )
        return HttpResponseRedirect(reverse(f"{self.admin_site.name}:billing_site_apikey_change", args=[obj.pk]))

    # --- revoking -------------------------------------------------------------------------------------

    @admin.action(description=_("Revoke selected API keys"), permissions=["revoke"])
    def revoke_selected(self, request, queryset) -> None:
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(key=key, actor=Actor.staff(request.user), now=clock.now())
            revoked += 1
        skipped = queryset.count() - revoked
        if revoked:
            self.message_user(
                request,
                ngettext("Revoked %(count)d API key.", "Revoked %(count)d API keys.", revoked) % {"count": revoked},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext("%(count)d key was already revoked.", "%(count)d keys were already revoked.", skipped)
                % {"count": skipped},
                messages.WARNING,
            )

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="billing_site_apikey_revoke",
            ),
        ]
        return custom + super().get_urls()

    def revoke_view(self, request, object_id):
        if not self.has_revoke_permission(request):
            raise PermissionDenied
        key = get_object_or_404(ApiKey, pk=object_id)
        change_url = reverse(f"{self.admin_site.name}:billing_site_apikey_change", args=[key.pk])
        form = RevokeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                api_key_revoke(
                    key=key, actor=Actor.staff(request.user), now=clock.now(), reason=form.cleaned_data["reason"]
                )
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("The API key “{name}” is revoked: requests with it are refused from now on.").format(
                        name=key.name
                    ),
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Revoke the API key “{name}”?").format(name=key.name),
            "opts": self.opts,
            "object": key,
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/billing_site/apikey/revoke_confirmation.html", context)
