from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = _("Customers and subscriptions")

    def ready(self) -> None:
        from billing_site import clock
        from subscriptions.selectors.test_clocks import test_clock_time_for

        clock.register_test_clock_resolver(test_clock_time_for)
