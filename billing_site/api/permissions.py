from __future__ import annotations

from rest_framework import permissions

from billing_site.models import ApiKey


class HasApiKeyScope(permissions.BasePermission):
    """Reads need the ``read`` scope, everything else ``write``."""

    message = "This API key does not have the scope this request needs."

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        needed = "read" if request.method in permissions.SAFE_METHODS else "write"
        if not key.has_scope(needed):
            self.message = f"This API key does not have the “{needed}” scope this request needs."
            return False
        return True
