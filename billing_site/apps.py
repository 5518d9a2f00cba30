from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class BillingSiteConfig(AppConfig):
    name = "billing_site"
    verbose_name = _("Platform")

    def ready(self) -> None:
        from billing_site.roles import sync_roles_after_migrate

        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="billing_site.sync_roles")


class BillingAdminConfig(AdminConfig):
    default_site = "billing_site.admin.site.BillingAdminSite"
