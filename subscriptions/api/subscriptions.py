"""API: subscriptions (see subscriptions/api/urls.py)."""

urlpatterns: list = []
