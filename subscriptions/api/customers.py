"""API: customers (see subscriptions/api/urls.py)."""

urlpatterns: list = []
