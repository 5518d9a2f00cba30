"""API: usage (see subscriptions/api/urls.py)."""

urlpatterns: list = []
