"""The staff admin: Django's admin with an optional authenticator code at login.

Two-factor login is always available to staff who set up an authenticator app; when the setting
``STAFF_MFA_REQUIRED`` is on, staff must have verified with one before they see anything.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from billing_site.admin.login import StaffLoginForm


class BillingAdminSite(admin.AdminSite):
    site_header = _("Billing back-office")
    site_title = _("Billing back-office")
    index_title = _("Billing back-office")
    login_form = StaffLoginForm
    login_template = "admin/billing_login.html"

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        if settings.STAFF_MFA_REQUIRED and not request.user.is_verified():
            # Signing out stays possible for staff who have not set up their authenticator yet.
            return request.path == reverse("admin:logout", current_app=self.name)
        return True

    def get_urls(self):
        from django.urls import path

        from billing_site.admin import mfa
        from invoicing.admin import bank_import

        custom = [
            path("mfa/setup/", mfa.mfa_setup_view(self), name="mfa_setup"),
            path("invoicing/bank-import/", bank_import.bank_import_view(self), name="invoicing_bank_import"),
        ]
        return custom + super().get_urls()

    def login(self, request, extra_context=None):
        from django.shortcuts import redirect

        # A staff member who must use two-factor login but has no authenticator yet goes to set one up.
        if (
            settings.STAFF_MFA_REQUIRED
            and request.method == "GET"
            and request.user.is_authenticated
            and request.user.is_staff
            and not request.user.is_verified()
        ):
            from django_otp import user_has_device

            if not user_has_device(request.user):
                return redirect("admin:mfa_setup")
        extra_context = {**(extra_context or {}), "mfa_required": settings.STAFF_MFA_REQUIRED}
        return super().login(request, extra_context)
