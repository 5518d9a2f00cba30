"""API: test_clocks (see subscriptions/api/urls.py)."""

urlpatterns: list = []
