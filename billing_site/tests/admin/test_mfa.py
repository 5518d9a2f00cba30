"""Staff two-factor login: optional by default, required with STAFF_MFA_REQUIRED, self-service set-up."""

import base64
import re

import pytest
from django.contrib.auth.models import User
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from billing_site.models import AuditEvent

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
SETUP = "/admin/mfa/setup/"
PASSWORD = "pw-for-tests-only"


def code_for(device: TOTPDevice, *, offset: int = 0) -> str:
    return str(totp(device.bin_key, device.step, device.t0, device.digits, device.drift + offset)).zfill(device.digits)


def wrong_code_for(device: TOTPDevice) -> str:
    valid = {code_for(device, offset=offset) for offset in range(-3, 4)}
    return next(code for code in (f"{n:06d}" for n in range(1000000)) if code not in valid)


def log_in(client, username: str, otp_token: str = ""):
    return client.post(LOGIN, {"username": username, "password": PASSWORD, "otp_token": otp_token, "next": "/admin/"})


@pytest.fixture
def device(support_user):
    return TOTPDevice.objects.create(user=support_user, name="Authenticator app", confirmed=True)


@pytest.fixture
def mfa_required(settings):
    settings.STAFF_MFA_REQUIRED = True


@pytest.fixture
def no_throttling(settings):
    """django-otp slows down guessing after a wrong code; these tests give a right code straight after."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


# --- login ------------------------------------------------------------------------------------------


def test_staff_without_a_device_logs_in_with_username_and_password(client, support_user):
    response = log_in(client, "support")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_login_page_offers_the_code_field(client):
    page = client.get(LOGIN).content.decode()

    assert 'name="otp_token"' in page
    assert 'autocomplete="one-time-code"' in page
    assert "Authenticator code" in page


def test_staff_with_a_device_must_give_a_code(client, device):
    response = log_in(client, "support")

    assert response.status_code == 200
    assert "Enter the 6-digit code from your authenticator app." in response.content.decode()
    assert client.get("/admin/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_wrong_code_is_refused(client, device):
    response = log_in(client, "support", wrong_code_for(device))

    assert response.status_code == 200
    assert "That code is not right." in response.content.decode()
    assert client.get("/admin/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_valid_code_logs_in_and_verifies(client, device, support_user):
    response = log_in(client, "support", code_for(device))

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(support_user.pk)
    assert client.session["otp_device_id"] == device.persistent_id
    assert client.get("/admin/").status_code == 200


def test_a_code_cannot_be_used_twice(client, device):
    code = code_for(device)
    assert log_in(client, "support", code).status_code == 302
    client.logout()

    response = log_in(client, "support", code)

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_is_refused_even_with_a_valid_code(client, device):
    response = client.post(LOGIN, {"username": "support", "password": "nope", "otp_token": code_for(device)})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    device.refresh_from_db()
    assert device.last_t == -1  # the code was not spent


def test_an_unconfirmed_device_does_not_demand_a_code(client, support_user):
    TOTPDevice.objects.create(user=support_user, name="Half set up", confirmed=False)

    assert log_in(client, "support").status_code == 302


# --- required two-factor login ------------------------------------------------------------------------


def test_required_mfa_sends_unverified_staff_to_set_up(client, support_user, mfa_required):
    client.force_login(support_user)

    response = client.get("/admin/", follow=True)

    assert response.redirect_chain == [(f"{LOGIN}?next=/admin/", 302), (SETUP, 302)]
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/billing_site/auditevent/").status_code == 302


def test_required_mfa_password_login_without_a_device_lands_on_set_up(client, support_user, mfa_required):
    response = log_in(client, "support")

    assert response.status_code == 302
    assert client.get("/admin/", follow=True).redirect_chain[-1] == (SETUP, 302)


def test_set_up_page_shows_a_qr_code_and_the_key(client, support_user, mfa_required):
    client.force_login(support_user)

    response = client.get(SETUP)

    assert response.status_code == 200
    page = response.content.decode()
    device = TOTPDevice.objects.get(user=support_user)
    assert device.confirmed is False
    svg = re.search(r"<svg[^>]*>", page).group(0)
    assert 'width="200"' in svg
    assert 'height="200"' in svg
    assert 'role="img"' in svg
    assert "<?xml" not in page
    key = re.search(r'data-testid="totp-secret"[^>]*>([A-Z2-7 ]+)</code>', page).group(1)
    assert base64.b32decode(key.replace(" ", "")) == device.bin_key
    assert 'name="token"' in page
    assert 'action="/admin/logout/"' in page


def test_set_up_page_reuses_the_pending_device(client, support_user, mfa_required):
    client.force_login(support_user)

    client.get(SETUP)
    client.get(SETUP)

    assert TOTPDevice.objects.filter(user=support_user).count() == 1


def test_a_valid_code_confirms_the_device_and_opens_the_admin(client, support_user, mfa_required):
    client.force_login(support_user)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=support_user)

    response = client.post(SETUP, {"token": code_for(device)})

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get("/admin/").status_code == 200
    event = AuditEvent.objects.get()
    assert (event.action, event.actor_id, event.object_type) == ("staff.mfa_enabled", str(support_user.pk), "auth.user")


def test_a_wrong_code_on_set_up_shows_an_error_and_confirms_nothing(client, support_user, mfa_required):
    client.force_login(support_user)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=support_user)

    response = client.post(SETUP, {"token": wrong_code_for(device)})

    assert response.status_code == 200
    assert "That code is not right. Check the time on your phone and try the newest code." in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False
    assert client.get("/admin/").status_code == 302
    assert AuditEvent.objects.count() == 0


def test_after_a_wrong_code_the_right_one_still_works(client, support_user, mfa_required, no_throttling):
    client.force_login(support_user)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=support_user)
    client.post(SETUP, {"token": wrong_code_for(device)})

    assert client.post(SETUP, {"token": code_for(device)}).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_required_mfa_login_with_a_device_and_code_opens_the_admin(client, device, mfa_required):
    assert log_in(client, "support", code_for(device)).status_code == 302

    assert client.get("/admin/").status_code == 200


def test_a_password_only_session_cannot_replace_a_confirmed_device(client, device, support_user, mfa_required):
    client.force_login(support_user)  # e.g. a session from before the device was set up

    login_page = client.get("/admin/", follow=True)
    response = client.get(SETUP, follow=True)

    assert login_page.redirect_chain[-1] == (f"{LOGIN}?next=/admin/", 302)
    assert "Sign in again with the code from your authenticator app." in login_page.content.decode()
    assert response.redirect_chain[0] == (LOGIN, 302)
    assert "To replace your authenticator app, sign in again" in response.content.decode()
    assert list(TOTPDevice.objects.filter(user=support_user)) == [device]


def test_unverified_staff_can_sign_out(client, support_user, mfa_required):
    client.force_login(support_user)

    response = client.post("/admin/logout/")

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_set_up_needs_a_staff_login(client):
    customer = User.objects.create_user("customer", password=PASSWORD)

    assert client.get(SETUP)["Location"] == f"{LOGIN}?next={SETUP}"
    client.force_login(customer)
    assert client.get(SETUP)["Location"] == LOGIN
    assert TOTPDevice.objects.count() == 0


def test_optional_mfa_staff_can_set_up_from_the_admin(client, support_user):
    client.force_login(support_user)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=support_user)

    assert client.post(SETUP, {"token": code_for(device)}).status_code == 302

    client.logout()
    assert log_in(client, "support").status_code == 200  # from now on the code is needed
