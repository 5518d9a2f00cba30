"""The API router: each app contributes its resources under /api/v1/."""

from django.urls import include, path, re_path

from billing_site.api.errors import api_not_found

urlpatterns = [
    path("", include("catalog.api.urls")),
    path("", include("subscriptions.api.urls")),
    path("", include("invoicing.api.urls")),
    re_path(r"^.*$", api_not_found),
]
