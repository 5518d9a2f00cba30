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

    def ready(self) -> None:
        # billing_site.admin holds the site class and also registers models on import. Imported first
        # here, it builds the default site once; looked up from inside the site's own lazy set-up
        # (autodiscovery), it would register on a site instance that is then thrown away.
        import billing_site.admin  # noqa: F401

        super().ready()
