from __future__ import annotations

from functools import partial

from django.db import transaction
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from billing_site import clock
from billing_site.services.api_keys import api_key_authenticate, api_key_mark_used


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
        # After the request's transaction commits: the row is not locked for the whole request, and a
        # request that failed and was rolled back does not count as a use.
        transaction.on_commit(partial(api_key_mark_used, key=key, now=clock.now()), robust=True)
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents ``ApiKeyAuthentication`` in the OpenAPI schema as the "ApiKey" bearer scheme."""

    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "API key: `Authorization: Bearer <key>`."}
