"""API keys in the admin: superusers only; the secret is shown once; keys are revoked, never edited."""

import re

import pytest
from django.contrib.auth.models import Group, Permission, User

from billing_site.models import ApiKey, AuditEvent
from billing_site.services.api_keys import api_key_authenticate

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/billing_site/apikey/"
ADD = f"{CHANGELIST}add/"
SECRET = re.compile(r"bk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def change_url(key: ApiKey) -> str:
    return f"{CHANGELIST}{key.pk}/change/"


def test_add_form_asks_for_a_name_and_scope_checkboxes(admin_client):
    page = admin_client.get(ADD).content.decode()

    assert 'name="name"' in page
    assert re.search(r'<input type="checkbox" name="scopes" value="read"[^>]*checked', page)
    assert re.search(r'<input type="checkbox" name="scopes" value="write"', page)
    assert "hashed_secret" not in page
    assert 'name="_save"' in page
    assert 'name="_addanother"' not in page
    assert 'name="_continue"' not in page


def test_superuser_creates_a_key_and_sees_the_secret_once(admin_client, superuser):
    response = admin_client.post(ADD, {"name": "Salesforce sync", "scopes": ["read", "write"]}, follow=True)

    key = ApiKey.objects.get()
    assert response.redirect_chain == [(change_url(key), 302)]
    page = response.content.decode()
    secrets = SECRET.findall(page)
    assert len(secrets) == 1
    secret = secrets[0]
    assert api_key_authenticate(secret) == key
    assert "it is shown only this once and cannot be recovered" in page
    assert (key.name, key.scopes, key.created_by) == ("Salesforce sync", ["read", "write"], superuser)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor_kind, event.actor_id) == ("api_key.created", "staff", str(superuser.pk))

    again = admin_client.get(change_url(key)).content.decode()
    assert secret not in again
    assert not SECRET.search(again)
    assert key.hashed_secret not in again
    assert f"bk_{key.prefix}_…" in again
    for label in ["Scopes", "Read, Write", "Created", "Last used", "Revoked", "Active"]:
        assert label in again


def test_the_secret_is_in_no_other_page(admin_client):
    admin_client.post(ADD, {"name": "CRM", "scopes": ["read"]})
    admin_client.get(CHANGELIST)  # the one page that shows the message

    key = ApiKey.objects.get()
    for url in [CHANGELIST, change_url(key), f"{change_url(key).removesuffix('change/')}history/", "/admin/"]:
        page = admin_client.get(url).content.decode()
        assert not SECRET.search(page), url
        assert key.hashed_secret not in page, url


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "CRM"}, "scopes", "Choose at least one scope: read, write or both."),
        (
            {"name": "CRM", "scopes": ["admin"]},
            "scopes",
            "Select a valid choice. admin is not one of the available choices.",
        ),
        ({"name": "", "scopes": ["read"]}, "name", "This field is required."),
        ({"name": "   ", "scopes": ["read"]}, "name", "This field is required."),
        ({"name": "x" * 101, "scopes": ["read"]}, "name", "Ensure this value has at most 100 characters (it has 101)."),
    ],
)
def test_bad_input_is_a_form_error_and_creates_nothing(admin_client, data, field, message):
    response = admin_client.post(ADD, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert ApiKey.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_a_key_cannot_be_edited(admin_client, api_key):
    key, _ = api_key

    page = admin_client.get(change_url(key)).content.decode()
    response = admin_client.post(change_url(key), {"name": "Renamed", "scopes": ["read"], "hashed_secret": "0" * 64})

    assert 'name="_save"' not in page
    for editable in ['type="text"', 'type="checkbox"', "<textarea", "<select"]:
        assert editable not in page, editable
    assert response.status_code == 403
    stored = ApiKey.objects.get(pk=key.pk)
    assert (stored.name, stored.scopes, stored.hashed_secret) == ("CRM", ["read", "write"], key.hashed_secret)


def test_a_key_cannot_be_deleted(admin_client, api_key):
    key, _ = api_key

    assert admin_client.post(f"{CHANGELIST}{key.pk}/delete/", {"post": "yes"}).status_code == 403
    response = admin_client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [key.pk], "post": "yes"})

    assert "delete_selected" not in response.content.decode()
    assert ApiKey.objects.filter(pk=key.pk).exists()


def test_revoke_action(admin_client, api_key, superuser, now):
    key, secret = api_key

    response = admin_client.post(CHANGELIST, {"action": "revoke_selected", "_selected_action": [key.pk]}, follow=True)

    assert "Revoked 1 API key." in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api_key_authenticate(secret) is None
    event = AuditEvent.objects.get(action="api_key.revoked")
    assert (event.actor_kind, event.actor_id, event.object_id) == ("staff", str(superuser.pk), str(key.pk))


def test_revoke_action_skips_keys_already_revoked(admin_client, api_key):
    key, _ = api_key
    admin_client.post(CHANGELIST, {"action": "revoke_selected", "_selected_action": [key.pk]})
    revoked_at = ApiKey.objects.get(pk=key.pk).revoked_at

    response = admin_client.post(CHANGELIST, {"action": "revoke_selected", "_selected_action": [key.pk]}, follow=True)

    assert "1 key was already revoked." in response.content.decode()
    assert ApiKey.objects.get(pk=key.pk).revoked_at == revoked_at
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_revoke_button_asks_for_confirmation_and_a_reason(admin_client, api_key):
    key, secret = api_key
    revoke_url = f"{CHANGELIST}{key.pk}/revoke/"

    assert f'href="{revoke_url}"' in admin_client.get(change_url(key)).content.decode()
    confirm = admin_client.get(revoke_url)
    assert confirm.status_code == 200
    assert "loses access to the API at once" in confirm.content.decode()
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None

    response = admin_client.post(revoke_url, {"reason": "CRM contract ended"}, follow=True)

    assert response.redirect_chain == [(change_url(key), 302)]
    assert "is revoked: requests with it are refused from now on." in response.content.decode()
    assert f'href="{revoke_url}"' not in response.content.decode()
    assert api_key_authenticate(secret) is None
    assert AuditEvent.objects.get(action="api_key.revoked").reason == "CRM contract ended"


def test_revoking_a_revoked_key_again_changes_nothing(admin_client, api_key):
    key, _ = api_key
    revoke_url = f"{CHANGELIST}{key.pk}/revoke/"
    admin_client.post(revoke_url, {"reason": "first"})
    revoked_at = ApiKey.objects.get(pk=key.pk).revoked_at

    assert "was already revoked" in admin_client.get(revoke_url).content.decode()
    response = admin_client.post(revoke_url, {"reason": "second"}, follow=True)

    assert "was already revoked" in response.content.decode()
    assert ApiKey.objects.get(pk=key.pk).revoked_at == revoked_at
    assert list(AuditEvent.objects.filter(action="api_key.revoked").values_list("reason", flat=True)) == ["first"]


def test_filter_active_and_revoked(admin_client, api_key, read_only_client):
    key, _ = api_key
    admin_client.post(CHANGELIST, {"action": "revoke_selected", "_selected_action": [key.pk]})
    reporting = ApiKey.objects.get(name="Reporting")

    active = admin_client.get(CHANGELIST, {"status": "active"}).context["cl"].result_list
    revoked = admin_client.get(CHANGELIST, {"status": "revoked"}).context["cl"].result_list

    assert list(active) == [reporting]
    assert list(revoked) == [key]


@pytest.mark.parametrize("role_fixture", ["pricing_user", "finance_user", "support_user", "approver_user"])
def test_roles_cannot_reach_api_keys(client, request, role_fixture, api_key):
    key, _ = api_key
    client.force_login(request.getfixturevalue(role_fixture))

    assert client.get(CHANGELIST).status_code == 403
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {"name": "Sneaky", "scopes": ["write"]}).status_code == 403
    assert client.get(change_url(key)).status_code == 403
    assert client.post(f"{CHANGELIST}{key.pk}/revoke/", {"reason": "x"}).status_code == 403
    assert CHANGELIST not in client.get("/admin/").content.decode()
    assert ApiKey.objects.count() == 1
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


def test_even_explicit_permissions_do_not_open_api_keys_to_staff(client, pricing_user, api_key):
    """The admin is for superusers only: a group that was given the model permissions by hand gets nothing."""
    group = Group.objects.get(name="Pricing")
    group.permissions.add(*Permission.objects.filter(content_type__model="apikey"))
    client.force_login(pricing_user)

    assert client.get(CHANGELIST).status_code == 403
    assert client.get(ADD).status_code == 403
