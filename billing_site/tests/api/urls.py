"""A test-only URL configuration: tiny API views in front of the real project URLs.

Lets the API platform (authentication, scopes, errors, parsing) be tested without depending on
any app's resources.
"""

from django.contrib.auth.models import Group
from django.urls import include, path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_site.api.fields import DecimalStringField, MoneyField
from billing_site.errors import DomainError


class EchoApi(APIView):
    """GET needs the read scope, POST the write scope; POST echoes what the parser made of the body."""

    def get(self, request):
        return Response({"key": request.auth.name})

    def post(self, request):
        return Response({name: [type(value).__name__, str(value)] for name, value in request.data.items()}, status=201)


class DomainErrorApi(APIView):
    def post(self, request):
        Group.objects.create(name="written before the error")
        raise DomainError(
            "plan_not_active",
            "The plan “Team” is no longer sold. Choose another plan.",
            fields={"plan": "Choose an active plan."},
        )


class QuoteInput(serializers.Serializer):
    quantity = DecimalStringField(max_decimal_places=4)
    budget = MoneyField(max_decimal_places=2)


class ValidationErrorApi(APIView):
    def post(self, request):
        data = QuoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"quantity": str(data.validated_data["quantity"])})


class CrashApi(APIView):
    def post(self, request):
        Group.objects.create(name="written before the crash")
        raise RuntimeError("a bug")


urlpatterns = [
    path("api/v1/test/echo", EchoApi.as_view()),
    path("api/v1/test/domain-error", DomainErrorApi.as_view()),
    path("api/v1/test/validation-error", ValidationErrorApi.as_view()),
    path("api/v1/test/crash", CrashApi.as_view()),
    path("", include("billing_site.urls")),
]
