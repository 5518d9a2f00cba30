"""The audit trail in the admin: every role can browse and filter it; nobody can change it."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group, User

from billing_site.actors import Actor
from billing_site.models import AuditEvent
from billing_site.services.audit import audit_record

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/billing_site/auditevent/"


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")


@pytest.fixture
def events(support_user):
    support = Group.objects.get(name="Support")
    finance = Group.objects.get(name="Finance")
    return {
        "renamed": audit_record(
            actor=Actor.staff(support_user),
            action="group.renamed",
            obj=support,
            now=datetime(2026, 1, 10, 8, 0, tzinfo=UTC),
            before={"name": "Helpdesk", "limits": {"credit": "50.00"}},
            after={"name": "Support", "limits": {"credit": "75.00"}},
            reason="Matches the org chart",
        ),
        "synced": audit_record(
            actor=Actor.system("nightly-sync"),
            action="group.synced",
            obj=finance,
            now=datetime(2026, 2, 3, 2, 0, tzinfo=UTC),
        ),
        "user": audit_record(
            actor=Actor.system("nightly-sync"),
            action="user.deactivated",
            obj=support_user,
            now=datetime(2025, 12, 31, 23, 0, tzinfo=UTC),
            after={"is_active": False},
        ),
    }


def listed(response) -> set[int]:
    assert response.status_code == 200
    return {event.pk for event in response.context["cl"].result_list}


@pytest.fixture
def support_client(client, support_user):
    client.force_login(support_user)
    return client


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client


def test_the_audit_trail_is_on_the_admin_index_for_a_support_user(support_client):
    response = support_client.get("/admin/")

    assert response.status_code == 200
    assert CHANGELIST in response.content.decode()


def test_support_user_browses_the_audit_trail(support_client, events):
    response = support_client.get(CHANGELIST)

    assert listed(response) == {event.pk for event in events.values()}
    page = response.content.decode()
    assert "group.renamed" in page
    assert "System job: nightly-sync" in page
    assert 'name="action"' not in page  # no actions at all, so no bulk delete


@pytest.mark.parametrize("role_fixture", ["pricing_user", "finance_user", "approver_user"])
def test_every_role_can_browse_the_audit_trail(client, request, role_fixture, events):
    client.force_login(request.getfixturevalue(role_fixture))

    assert listed(client.get(CHANGELIST)) == {event.pk for event in events.values()}


def test_staff_without_a_role_cannot_see_the_audit_trail(client, events):
    nobody = User.objects.create_user("nobody", password="pw-for-tests-only", is_staff=True)
    client.force_login(nobody)

    assert client.get(CHANGELIST).status_code == 403
    assert client.get(f"{CHANGELIST}{events['renamed'].pk}/change/").status_code == 403


def test_detail_shows_before_and_after_pretty_printed_and_read_only(support_client, events):
    event = events["renamed"]

    response = support_client.get(f"{CHANGELIST}{event.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert (
        '<pre style="margin: 0; white-space: pre-wrap">{\n'
        "  &quot;limits&quot;: {\n"
        "    &quot;credit&quot;: &quot;50.00&quot;\n"
        "  },\n"
        "  &quot;name&quot;: &quot;Helpdesk&quot;\n"
        "}</pre>"
    ) in page
    assert "&quot;credit&quot;: &quot;75.00&quot;" in page
    assert "Matches the org chart" in page
    assert "<textarea" not in page
    assert 'name="_save"' not in page
    assert f'href="{CHANGELIST}?object_type=auth.group&amp;object_id={event.object_id}"' in page


def test_detail_links_to_the_object_when_it_has_an_admin_page(superuser_client, events, support_user):
    page = superuser_client.get(f"{CHANGELIST}{events['user'].pk}/change/").content.decode()

    assert f'<a href="/admin/auth/user/{support_user.pk}/change/">support</a>' in page


def test_detail_shows_a_dash_for_a_missing_before(support_client, events):
    page = support_client.get(f"{CHANGELIST}{events['user'].pk}/change/").content.decode()

    assert "&quot;is_active&quot;: false" in page
    assert '<div class="readonly">—</div>' in page


@pytest.mark.parametrize("user_fixture", ["support_user", "superuser"])
def test_nobody_can_add_an_audit_event(client, request, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))

    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}add/", {"action": "forged", "actor_kind": "staff"}).status_code == 403
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize("user_fixture", ["support_user", "superuser"])
def test_nobody_can_change_an_audit_event(client, request, user_fixture, events):
    client.force_login(request.getfixturevalue(user_fixture))
    event = events["renamed"]

    response = client.post(f"{CHANGELIST}{event.pk}/change/", {"reason": "rewritten", "action": "nothing"})

    assert response.status_code == 403
    event = AuditEvent.objects.get(pk=event.pk)
    assert (event.action, event.reason) == ("group.renamed", "Matches the org chart")


@pytest.mark.parametrize("user_fixture", ["support_user", "superuser"])
def test_nobody_can_delete_an_audit_event(client, request, user_fixture, events):
    client.force_login(request.getfixturevalue(user_fixture))
    event = events["renamed"]

    assert client.get(f"{CHANGELIST}{event.pk}/delete/").status_code == 403
    assert client.post(f"{CHANGELIST}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.count() == 3


def test_superuser_has_no_bulk_delete_action(superuser_client, events):
    response = superuser_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [e.pk for e in events.values()], "post": "yes"},
    )

    assert response.status_code == 200
    assert "delete_selected" not in response.content.decode()
    assert AuditEvent.objects.count() == 3


def test_filter_by_actor_kind(support_client, events):
    assert listed(support_client.get(CHANGELIST, {"actor_kind": "staff"})) == {events["renamed"].pk}
    assert listed(support_client.get(CHANGELIST, {"actor_kind": "system"})) == {events["synced"].pk, events["user"].pk}


def test_filter_by_action(support_client, events):
    assert listed(support_client.get(CHANGELIST, {"action": "group.synced"})) == {events["synced"].pk}


def test_filter_by_object_type(support_client, events):
    assert listed(support_client.get(CHANGELIST, {"object_type": "auth.user"})) == {events["user"].pk}
    assert listed(support_client.get(CHANGELIST, {"object_type": "auth.group"})) == {
        events["renamed"].pk,
        events["synced"].pk,
    }


def test_history_of_one_object(support_client, events):
    event = events["renamed"]

    response = support_client.get(CHANGELIST, {"object_type": "auth.group", "object_id": event.object_id})

    assert listed(response) == {event.pk}


def test_date_hierarchy(support_client, events):
    assert listed(support_client.get(CHANGELIST, {"occurred_at__year": "2025"})) == {events["user"].pk}
    assert listed(support_client.get(CHANGELIST, {"occurred_at__year": "2026", "occurred_at__month": "1"})) == {
        events["renamed"].pk
    }
    assert listed(
        support_client.get(
            CHANGELIST, {"occurred_at__year": "2026", "occurred_at__month": "2", "occurred_at__day": "3"}
        )
    ) == {events["synced"].pk}


def test_search_by_object_actor_and_object_id(support_client, events, support_user):
    assert listed(support_client.get(CHANGELIST, {"q": "Finance"})) == {events["synced"].pk}
    assert listed(support_client.get(CHANGELIST, {"q": "nightly"})) == {events["synced"].pk, events["user"].pk}
    assert listed(support_client.get(CHANGELIST, {"q": events["renamed"].object_id})) == {events["renamed"].pk}


def test_search_by_object_id_is_exact(support_client, support_user, now):
    group = Group.objects.create(name="Temporary")
    group.pk = 1000
    audit_record(actor=Actor.system("tests"), action="a", obj=group, now=now)
    group.pk = 10001
    audit_record(actor=Actor.system("tests"), action="b", obj=group, now=now)

    response = support_client.get(CHANGELIST, {"q": "1000"})

    assert [event.action for event in response.context["cl"].result_list] == ["a"]


def test_filters_combine_with_search(support_client, events):
    response = support_client.get(CHANGELIST, {"actor_kind": "system", "q": "support"})

    assert listed(response) == {events["user"].pk}
