"""Each module of the subscriptions API contributes its own urlpatterns."""

from subscriptions.api import customers, subscriptions, test_clocks, usage

urlpatterns = [*customers.urlpatterns, *test_clocks.urlpatterns, *subscriptions.urlpatterns, *usage.urlpatterns]
