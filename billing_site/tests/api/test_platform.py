"""The API platform: authentication, scopes, one error shape, decimal parsing, rollback on errors."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from billing_site import clock
from billing_site.actors import Actor
from billing_site.models import ApiKey, AuditEvent
from billing_site.services.api_keys import api_key_revoke

pytestmark = [pytest.mark.django_db, pytest.mark.urls("billing_site.tests.api.urls")]

ECHO = "/api/v1/test/echo"


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


# --- authentication ------------------------------------------------------------------------------


def test_a_valid_key_is_accepted(api_client):
    response = api_client.get(ECHO)

    assert response.status_code == 200
    assert response.json() == {"key": "CRM"}


def test_missing_key_is_401():
    response = APIClient().get(ECHO)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert error_of(response) == {
        "code": "not_authenticated",
        "message": "Authentication credentials were not provided.",
        "fields": {},
    }


@pytest.mark.parametrize(
    "header",
    ["Token {secret}", "Basic {secret}", "bearer {secret}", "Bearer", "Bearer {secret} extra", "{secret}"],
)
def test_wrong_scheme_is_401(api_key, header):
    _, secret = api_key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.format(secret=secret))

    response = client.get(ECHO)

    assert response.status_code == 401
    assert error_of(response) == {
        "code": "authentication_failed",
        "message": "Send the API key as “Authorization: Bearer <key>”.",
        "fields": {},
    }


def test_unknown_key_is_401(api_key):
    _, secret = api_key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret[:-1]}X")

    response = client.get(ECHO)

    assert response.status_code == 401
    assert error_of(response)["message"] == "This API key is not valid or has been revoked."


def test_revoked_key_is_401(api_key, api_client, now):
    key, _ = api_key
    api_key_revoke(key=key, actor=Actor.system("tests"), now=now)

    response = api_client.get(ECHO)

    assert response.status_code == 401
    assert error_of(response) == {
        "code": "authentication_failed",
        "message": "This API key is not valid or has been revoked.",
        "fields": {},
    }


def test_read_key_may_read(read_only_client):
    response = read_only_client.get(ECHO)

    assert response.status_code == 200
    assert response.json() == {"key": "Reporting"}


def test_read_key_cannot_write(read_only_client):
    response = read_only_client.post(ECHO, {"name": "x"}, format="json")

    assert response.status_code == 403
    assert error_of(response) == {
        "code": "permission_denied",
        "message": "This API key does not have the “write” scope this request needs.",
        "fields": {},
    }


def test_write_only_key_cannot_read(now):
    from billing_site.services.api_keys import api_key_create

    _, secret = api_key_create(name="Importer", scopes=["write"], actor=Actor.system("tests"), now=now)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert client.get(ECHO).status_code == 403
    assert client.post(ECHO, {}, format="json").status_code == 201


def test_a_staff_session_is_not_an_api_key(client, support_user):
    """Admin logins do not open the API: it is for systems with keys."""
    client.force_login(support_user)

    response = client.get(ECHO)

    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


# --- last used ------------------------------------------------------------------------------------


def test_successful_requests_record_last_used_at_most_once_a_minute(
    api_key, api_client, now, django_capture_on_commit_callbacks
):
    key, _ = api_key

    with clock.frozen_at(now), django_capture_on_commit_callbacks(execute=True):
        assert api_client.get(ECHO).status_code == 200
    assert ApiKey.objects.get(pk=key.pk).last_used_at == now

    with clock.frozen_at(now + timedelta(seconds=59)), django_capture_on_commit_callbacks(execute=True):
        assert api_client.get(ECHO).status_code == 200
    assert ApiKey.objects.get(pk=key.pk).last_used_at == now

    with clock.frozen_at(now + timedelta(minutes=5)), django_capture_on_commit_callbacks(execute=True):
        assert api_client.get(ECHO).status_code == 200
    assert ApiKey.objects.get(pk=key.pk).last_used_at == now + timedelta(minutes=5)


def test_refused_requests_do_not_touch_last_used(read_only_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert read_only_client.post(ECHO, {}, format="json").status_code == 403

    assert callbacks == []
    assert ApiKey.objects.get().last_used_at is None


# --- the error shape ------------------------------------------------------------------------------


def test_unknown_api_url_is_a_json_404(api_client):
    response = api_client.get("/api/v1/nope")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert error_of(response) == {"code": "not_found", "message": "Nothing was found at this address.", "fields": {}}


def test_unknown_api_url_is_a_json_404_even_without_a_key():
    response = APIClient().post("/api/v1/nope/deeper?x=1", {}, format="json")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_malformed_json_is_400(api_client):
    response = api_client.post(ECHO, data='{"amount": 79.50,', content_type="application/json")

    assert response.status_code == 400
    assert error_of(response) == {"code": "parse_error", "message": "The request body is not valid JSON.", "fields": {}}


def test_unsupported_media_type_is_415_in_the_error_shape(api_client):
    response = api_client.post(ECHO, data="amount=79.50", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_method_not_allowed_is_405_in_the_error_shape(api_client):
    response = api_client.delete(ECHO)

    assert response.status_code == 405
    assert error_of(response) == {"code": "method_not_allowed", "message": 'Method "DELETE" not allowed.', "fields": {}}


def test_domain_error_is_400_with_its_code_message_and_fields_and_rolls_back(api_client):
    groups_before = set(Group.objects.values_list("name", flat=True))

    response = api_client.post("/api/v1/test/domain-error", {}, format="json")

    assert response.status_code == 400
    assert error_of(response) == {
        "code": "plan_not_active",
        "message": "The plan “Team” is no longer sold. Choose another plan.",
        "fields": {"plan": ["Choose an active plan."]},
    }
    assert set(Group.objects.values_list("name", flat=True)) == groups_before


def test_validation_error_is_400_invalid_with_fields(api_client):
    response = api_client.post(
        "/api/v1/test/validation-error",
        {"quantity": "1,5", "budget": {"amount": "10.001", "currency": "EUR"}},
        format="json",
    )

    assert response.status_code == 400
    assert error_of(response) == {
        "code": "invalid",
        "message": "Some fields are not valid: quantity, budget.",
        "fields": {
            "quantity": [
                "Quantity contains a comma: use a dot for decimals and no thousands separator, such as 1234.50."
            ],
            "budget": ["Budget has too many decimal places. Use at most 2 decimal places."],
        },
    }


def test_missing_fields_are_named(api_client):
    response = api_client.post("/api/v1/test/validation-error", {}, format="json")

    assert response.status_code == 400
    assert error_of(response)["fields"] == {
        "quantity": ["This field is required."],
        "budget": ["This field is required."],
    }


def test_unexpected_exception_is_500_json_and_rolls_back(api_client, caplog):
    audit_before = AuditEvent.objects.count()

    response = api_client.post("/api/v1/test/crash", {}, format="json")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert error_of(response) == {
        "code": "server_error",
        "message": "Something went wrong on our side. Nothing was changed; please try again.",
        "fields": {},
    }
    assert not Group.objects.filter(name="written before the crash").exists()
    assert AuditEvent.objects.count() == audit_before
    assert "a bug" not in response.content.decode()
    assert any("Unhandled error in API view" in record.message for record in caplog.records)


# --- parsing --------------------------------------------------------------------------------------


def test_json_numbers_parse_as_decimal(api_client):
    response = api_client.post(
        ECHO,
        data='{"amount": 79.50, "tiny": 0.000125, "count": 3, "text": "79.50"}',
        content_type="application/json",
    )

    assert response.status_code == 201
    assert response.json() == {
        "amount": ["Decimal", "79.50"],
        "tiny": ["Decimal", "0.000125"],
        "count": ["int", "3"],
        "text": ["str", "79.50"],
    }


def test_a_large_json_number_keeps_every_digit(api_client):
    body = json.dumps({"amount": "x"}).replace('"x"', "123456789012345.123456789012")

    response = api_client.post(ECHO, data=body, content_type="application/json")

    assert response.json()["amount"] == ["Decimal", "123456789012345.123456789012"]
