"""The e-mail log in the admin: browsable and searchable, read-only for everyone, listed on the customer's page.

The tests run on an admin site of their own (a copy of the project's, plus ``register``), so they do not
depend on where the project wires the e-mail admin in.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.urls import path, reverse

from billing_site.admin.site import BillingAdminSite
from invoicing.admin.emails import EmailLogAdmin, EmailLogInline, register
from invoicing.models import EmailKind, EmailLog, EmailStatus
from subscriptions.models import Customer
from subscriptions.tests.customers.test_admin import change_data
from subscriptions.tests.factories import make_customer


def _site() -> BillingAdminSite:
    site = BillingAdminSite(name="admin")
    for model, model_admin in admin.site._registry.items():
        site.register(model, type(model_admin))
    register(site)
    return site


site = _site()
urlpatterns = [path("admin/", site.urls)]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

CHANGELIST = "admin:invoicing_emaillog_changelist"
CHANGE = "admin:invoicing_emaillog_change"
CUSTOMER = "admin:subscriptions_customer_change"


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")


@pytest.fixture
def globex(db) -> Customer:
    return make_customer(name="Globex B.V.", email="finance@globex.example")


@pytest.fixture
def logs(globex):
    initech = make_customer(name="Initech AB", email="ap@initech.example")
    return {
        "invoice": EmailLog.objects.create(
            customer=globex,
            kind=EmailKind.INVOICE_ISSUED,
            to=["finance@globex.example", "ap@globex.example"],
            subject="Invoice INV-2026-00042 from Acme Billing B.V.",
            language="en",
            body_text="Dear Globex B.V.,\n\nYour invoice INV-2026-00042 for €121.00 is attached as a PDF.\n",
            attachments=["INV-2026-00042.pdf"],
            status=EmailStatus.SENT,
            dedupe_key="invoice_issued:1",
            sent_at=datetime(2026, 1, 15, 9, 30, tzinfo=UTC),
        ),
        "failed": EmailLog.objects.create(
            customer=initech,
            kind=EmailKind.UPCOMING_RENEWAL,
            to=["ap@initech.example"],
            subject="Ditt abonnemang Team förnyas den 10 februari 2026",
            language="sv",
            body_text="Hej Initech AB,\n",
            status=EmailStatus.FAILED,
            error="SMTPServerDisconnected: Connection unexpectedly closed",
            sent_at=datetime(2026, 2, 3, 8, 0, tzinfo=UTC),
        ),
    }


def staff(username: str, *permissions: str) -> User:
    user = User.objects.create_user(username=username, password="pw-for-tests-only", is_staff=True)
    for label in permissions:
        app_label, codename = label.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def listed(response) -> set[int]:
    assert response.status_code == 200
    return {log.pk for log in response.context["cl"].result_list}


# --- the log --------------------------------------------------------------------------------------


def test_the_log_lists_every_e_mail_with_its_recipients_and_status(client, superuser, logs):
    client.force_login(superuser)

    response = client.get(reverse(CHANGELIST))

    assert listed(response) == {logs["invoice"].pk, logs["failed"].pk}
    page = response.content.decode()
    assert "Invoice INV-2026-00042 from Acme Billing B.V." in page
    assert "finance@globex.example, ap@globex.example" in page
    assert "Globex B.V." in page
    assert '<strong style="color: #ba2121">Failed</strong>' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status__exact": "failed"}, {"failed"}),
        ({"kind__exact": "invoice_issued"}, {"invoice"}),
        ({"q": "globex"}, {"invoice"}),
        ({"q": "ap@initech.example"}, {"failed"}),
        ({"q": "förnyas"}, {"failed"}),
    ],
)
def test_the_log_filters_by_kind_and_status_and_searches_subject_and_customer(client, superuser, logs, query, expected):
    client.force_login(superuser)

    assert listed(client.get(reverse(CHANGELIST), query)) == {logs[name].pk for name in expected}


def test_an_e_mail_shows_its_text_and_what_it_was_about(client, superuser, logs):
    client.force_login(superuser)

    page = client.get(reverse(CHANGE, args=[logs["invoice"].pk])).content.decode()

    assert (
        '<pre style="margin: 0; white-space: pre-wrap; font-family: inherit">Dear Globex B.V.,\n\n'
        "Your invoice INV-2026-00042 for €121.00 is attached as a PDF.\n</pre>"
    ) in page
    assert "INV-2026-00042.pdf" in page
    assert "invoice_issued:1" in page
    assert 'name="_save"' not in page
    assert "SMTPServerDisconnected" not in page


def test_a_failed_e_mail_shows_the_error(client, superuser, logs):
    client.force_login(superuser)

    page = client.get(reverse(CHANGE, args=[logs["failed"].pk])).content.decode()

    assert "SMTPServerDisconnected: Connection unexpectedly closed" in page


def test_nobody_adds_changes_or_deletes_a_logged_e_mail_not_even_a_superuser(client, superuser, logs):
    client.force_login(superuser)
    log = logs["invoice"]

    assert client.get(reverse("admin:invoicing_emaillog_add")).status_code == 403
    assert client.post(reverse(CHANGE, args=[log.pk]), {"subject": "Edited"}).status_code == 403
    assert client.post(reverse("admin:invoicing_emaillog_delete", args=[log.pk]), {"post": "yes"}).status_code == 403
    log.refresh_from_db()
    assert log.subject == "Invoice INV-2026-00042 from Acme Billing B.V."
    assert EmailLog.objects.count() == 2


def test_staff_see_the_log_with_the_view_permission_only(client, logs):
    client.force_login(staff("support", "invoicing.view_emaillog"))
    assert client.get(reverse(CHANGELIST)).status_code == 200
    assert client.get(reverse(CHANGE, args=[logs["invoice"].pk])).status_code == 200

    client.force_login(staff("pricing"))
    assert client.get(reverse(CHANGELIST)).status_code == 403


# --- the customer's page ------------------------------------------------------------------------


def test_the_customers_page_lists_the_e_mails_sent_with_a_link_to_each(client, globex, logs):
    client.force_login(staff("support", "subscriptions.view_customer", "invoicing.view_emaillog"))

    response = client.get(reverse(CUSTOMER, args=[globex.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "E-mails sent" in page
    assert "Invoice INV-2026-00042 from Acme Billing B.V." in page
    assert f'<a href="{reverse(CHANGE, args=[logs["invoice"].pk])}">Read the e-mail</a>' in page
    assert "Ditt abonnemang" not in page  # another customer's e-mail


def test_staff_without_the_permission_do_not_see_the_e_mails_on_the_customers_page(client, globex, logs):
    client.force_login(staff("pricing", "subscriptions.view_customer"))

    page = client.get(reverse(CUSTOMER, args=[globex.pk])).content.decode()

    assert "E-mails sent" not in page
    assert "Invoice INV-2026-00042" not in page


def test_saving_a_customer_ignores_the_e_mails_shown_on_its_page(client, superuser, globex, logs):
    client.force_login(superuser)

    response = client.post(reverse(CUSTOMER, args=[globex.pk]), change_data(globex, city="Utrecht"))

    assert response.status_code == 302
    globex.refresh_from_db()
    assert globex.city == "Utrecht"
    assert EmailLog.objects.filter(customer=globex).count() == 1


# --- wiring -------------------------------------------------------------------------------------


def test_register_is_safe_to_call_twice():
    register(site)

    assert isinstance(site._registry[EmailLog], EmailLogAdmin)
    assert site._registry[Customer].inlines.count(EmailLogInline) == 1
