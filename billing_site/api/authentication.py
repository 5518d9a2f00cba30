from __future__ import annotations

from rest_framework import authentication, exceptions

from billing_site.services.api_keys import api_key_authenticate


class ApiKeyPrincipal:
    """What ``request.user`` is for an API call: the key, dressed as an authenticated user."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    def __init__(self, key):
        self.key = key
        self.pk = None

    def __str__(self) -> str:
        return str(self.key)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0] != self.keyword:
            raise exceptions.AuthenticationFailed("Send the API key as “Authorization: Bearer <key>”.")
        key = api_key_authenticate(parts[1])
        if key is None:
            raise exceptions.AuthenticationFailed("This API key is not valid or has been revoked.")
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
