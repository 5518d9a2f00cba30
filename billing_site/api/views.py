"""The base of every API view, its error responses in the schema, and URL routes with and without a slash."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from billing_site.actors import Actor
from billing_site.api.serializers import ErrorOutput
from billing_site.models import ApiKey

_ERRORS = {
    400: OpenApiResponse(
        ErrorOutput,
        description="Bad input or a refused change: `error.code` says which, `error.fields` names what to fix. "
        "Nothing was saved.",
    ),
    401: OpenApiResponse(ErrorOutput, description="No API key, or a revoked one."),
    403: OpenApiResponse(ErrorOutput, description="The API key lacks the scope this request needs."),
    404: OpenApiResponse(ErrorOutput, description="Nothing with this id."),
}


def responses(ok: int, output: Any, *errors: int) -> dict[int, Any]:
    return {ok: output, **{code: _ERRORS[code] for code in (401, 403, *errors)}}


class ReadScope(permissions.BasePermission):
    """Needs only the ``read`` scope whatever the method: for POSTs that compute and store nothing."""

    message = "This API key does not have the “read” scope this request needs."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey) and request.auth.has_scope("read")


class ApiView(GenericAPIView):
    """Shared plumbing of API views: the acting API key, validated input, list pages."""

    output_serializer: type[serializers.BaseSerializer]

    def actor(self) -> Actor:
        return Actor.api_key(self.request.auth)

    def validated(self, input_serializer: type[serializers.Serializer], *, partial: bool = False) -> dict[str, Any]:
        serializer = input_serializer(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def output(self, obj: Any, *, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.output_serializer(obj).data, status=status_code)

    def list_page(self, queryset: QuerySet | None = None) -> Response:
        queryset = self.filter_queryset(self.get_queryset()) if queryset is None else queryset
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.output_serializer(page, many=True).data)


def route(pattern: str, view: type[ApiView], name: str) -> list[URLPattern]:
    """``pattern`` and ``pattern/``; only the first is documented (``schema = None`` hides the twin)."""
    twin = type(view.__name__, (view,), {"schema": None, "__doc__": view.__doc__})
    return [path(pattern, view.as_view(), name=name), path(f"{pattern}/", twin.as_view())]
