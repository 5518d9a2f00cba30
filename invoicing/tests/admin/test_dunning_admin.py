"""Dunning in the admin: policies through the form (the services judge), read-only cases, the recovery report."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from billing_site.models import AuditEvent
from catalog.tests.factories import make_plan
from invoicing.models import CustomerDunningPolicy, DunningCase, DunningPolicy, PlanDunningPolicy
from invoicing.services.dunning_policies import (
    dunning_policy_assign_plan,
    dunning_policy_create,
    dunning_policy_update,
)
from invoicing.tests.admin import ACTOR, WALL, dutch_vat, make_customer, messages_of
from invoicing.tests.services.test_recovery_report import dunning, finalized_invoice, recovery_fixture

pytestmark = pytest.mark.django_db

ADD = reverse("admin:invoicing_dunningpolicy_add")
POLICIES = reverse("admin:invoicing_dunningpolicy_changelist")
CASES = reverse("admin:invoicing_dunningcase_changelist")
REPORT = reverse("admin:invoicing_dunningcase_recovery_report")
REPORT_CSV = reverse("admin:invoicing_dunningcase_recovery_report_csv")


def change(policy: DunningPolicy) -> str:
    return reverse("admin:invoicing_dunningpolicy_change", args=[policy.pk])


def standard() -> DunningPolicy:
    return DunningPolicy.objects.get(name="Standard")


def policy_form(**fields: Any) -> dict[str, Any]:
    data = {
        "name": "Patient",
        "retry_days": "2, 9, 16",
        "max_attempts": "4",
        "send_reminders": "on",
        "final_action": "leave_past_due",
        "suspend_after_days": "",
        "_save": "Save",
    }
    data.update(fields)
    return {name: value for name, value in data.items() if value is not None}


def change_data(policy: DunningPolicy, **changes: Any) -> dict[str, Any]:
    policy = DunningPolicy.objects.get(pk=policy.pk)
    data = policy_form(
        name=policy.name,
        retry_days=", ".join(map(str, policy.retry_days)),
        max_attempts=str(policy.max_attempts),
        send_reminders="on" if policy.send_reminders else None,
        final_action=policy.final_action,
        suspend_after_days="" if policy.suspend_after_days is None else str(policy.suspend_after_days),
        plans=[str(pk) for pk in PlanDunningPolicy.objects.filter(policy=policy).values_list("plan_id", flat=True)],
        customers=[
            str(pk) for pk in CustomerDunningPolicy.objects.filter(policy=policy).values_list("customer_id", flat=True)
        ],
    )
    if policy.is_default:
        data["is_default"] = "on"
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def form_errors(response) -> dict[str, list[str]]:
    assert response.status_code == 200
    return {name: list(errors) for name, errors in response.context["adminform"].form.errors.items()}


def policies() -> list[tuple]:
    return list(DunningPolicy.objects.order_by("name").values_list("name", "is_default", "retry_days", "max_attempts"))


@pytest.fixture
def finance(client, finance_user):
    client.force_login(finance_user)
    return client


@pytest.fixture
def support(client, support_user):
    client.force_login(support_user)
    return client


@pytest.fixture
def pricing(client, pricing_user):
    client.force_login(pricing_user)
    return client


# --- policies -------------------------------------------------------------------------------------------------


def test_finance_adds_a_policy_with_its_plans_and_customers(finance):
    team, slow = make_plan(name="Team"), make_customer("Slow Payer B.V.", "ap@slow.example")

    response = finance.post(
        ADD, policy_form(suspend_after_days="30", plans=[str(team.pk)], customers=[str(slow.pk)]), follow=True
    )

    assert response.status_code == 200
    policy = DunningPolicy.objects.get(name="Patient")
    assert (policy.retry_days, policy.max_attempts, policy.final_action, policy.suspend_after_days) == (
        [2, 9, 16],
        4,
        "leave_past_due",
        30,
    )
    assert (policy.send_reminders, policy.is_default) == (True, False)
    assert list(PlanDunningPolicy.objects.values_list("plan__name", "policy__name")) == [("Team", "Patient")]
    assert list(CustomerDunningPolicy.objects.values_list("customer__name", "policy__name")) == [
        ("Slow Payer B.V.", "Patient")
    ]
    created = AuditEvent.objects.get(action="dunning_policy.created")
    assert (created.object_id, created.actor_label) == (str(policy.pk), "finance")
    assert AuditEvent.objects.filter(action__in=["plan.dunning_policy_set", "customer.dunning_policy_set"]).count() == 2


def test_the_add_form_starts_from_the_standard_schedule(finance):
    response = finance.get(ADD)

    assert response.status_code == 200
    assert 'value="1, 3, 5, 7"' in response.content.decode()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            "1,,x",
            "There is nothing between two commas, and “x” is not a whole number. Write the retry days as whole "
            "numbers separated by commas, for example 1, 3, 5, 7.",
        ),
        (
            "1, 2.5",
            "“2.5” is not a whole number. Write the retry days as whole numbers separated by commas, "
            "for example 1, 3, 5, 7.",
        ),
        ("3, 1, 5", "Retry days must go up, each later than the one before (1, 3, 5, 7)."),
        ("0, 3, 5", "Retry days start at 1 (the day after the first failed payment)."),
    ],
)
def test_a_bad_schedule_shows_the_error_on_its_field_and_saves_nothing(finance, typed, message):
    before, events = policies(), AuditEvent.objects.count()

    response = finance.post(ADD, policy_form(retry_days=typed, max_attempts="3"))

    assert form_errors(response) == {"retry_days": [message]}
    assert 'value="' + typed + '"' in response.content.decode()  # what was typed stays in the box
    assert (policies(), AuditEvent.objects.count()) == (before, events)


def test_too_many_attempts_for_the_schedule_shows_the_service_error_on_the_maximum(finance):
    response = finance.post(ADD, policy_form(retry_days="2, 9", max_attempts="6"))

    assert form_errors(response) == {
        "max_attempts": [
            "The schedule has 2 retry day(s), so at most 3 attempts (the first one included): "
            "add retry days or lower the maximum."
        ]
    }
    assert not DunningPolicy.objects.filter(name="Patient").exists()


def test_suspension_after_more_than_a_year_is_refused(finance):
    response = finance.post(ADD, policy_form(suspend_after_days="400"))

    assert form_errors(response) == {
        "suspend_after_days": [
            "Suspend access between 0 and 365 days after the first failed payment, "
            "or leave it empty to never suspend it."
        ]
    }
    assert not DunningPolicy.objects.filter(name="Patient").exists()


def test_the_default_cannot_be_unticked_on_its_page(finance):
    policy = standard()
    events = AuditEvent.objects.count()

    response = finance.post(change(policy), change_data(policy, is_default=None, max_attempts="3"))

    assert form_errors(response) == {
        "is_default": [
            "“Standard” is the default policy: it chases every invoice whose plan and customer have none. "
            "Make another policy the default instead of unticking this one."
        ]
    }
    assert policies() == [("Standard", True, [1, 3, 5, 7], 5)]
    assert AuditEvent.objects.count() == events


def test_ticking_default_on_another_policy_moves_the_default(finance):
    policy = dunning_policy_create(actor=ACTOR, now=WALL, name="Patient", retry_days=[2, 9], max_attempts=3)

    response = finance.post(change(policy), change_data(policy, is_default="on"), follow=True)

    assert response.status_code == 200
    assert policies() == [("Patient", True, [2, 9], 3), ("Standard", False, [1, 3, 5, 7], 5)]


def test_changing_the_schedule_and_moving_plans_between_policies(finance):
    team, pro = make_plan(name="Team"), make_plan(name="Pro")
    policy = dunning_policy_create(actor=ACTOR, now=WALL, name="Patient", retry_days=[2, 9], max_attempts=3)
    dunning_policy_assign_plan(plan=team, policy=standard(), actor=ACTOR, now=WALL)
    dunning_policy_assign_plan(plan=pro, policy=policy, actor=ACTOR, now=WALL)

    response = finance.post(
        change(policy), change_data(policy, retry_days="2, 9, 30", max_attempts="4", plans=[str(team.pk)]), follow=True
    )

    assert response.status_code == 200
    assert policies() == [("Patient", False, [2, 9, 30], 4), ("Standard", True, [1, 3, 5, 7], 5)]
    assert list(PlanDunningPolicy.objects.values_list("plan__name", "policy__name")) == [("Team", "Patient")]
    assert "Moved to this policy: Team (from “Standard”)." in messages_of(response)


def test_the_policy_page_says_what_happens_in_plain_words(finance):
    dunning_policy_update(policy=standard(), actor=ACTOR, now=WALL, suspend_after_days=10)

    response = finance.get(change(standard()))

    assert response.status_code == 200
    assert response.context["summary"] == [
        "Retry 1, 3, 5 and 7 days after the first failed payment; 5 attempts in all; then mark the subscription "
        "unpaid; access suspended after 10 days.",
        "The customer gets a reminder e-mail after every failed attempt.",
        "Invoices paid by bank transfer get a reminder 1, 3, 5 and 7 days after their due date.",
        "A hard decline (a stolen or closed card) stops the retries until the customer adds a new card.",
    ]
    page = response.content.decode()
    assert "Retry 1, 3, 5 and 7 days after the first failed payment; 5 attempts in all;" in page
    assert "0 invoices are in dunning under this policy now." in page


def test_the_summary_of_a_short_policy_without_reminders(finance):
    policy = dunning_policy_create(
        actor=ACTOR,
        now=WALL,
        name="Strict",
        retry_days=[1, 3, 5],
        max_attempts=2,
        send_reminders=False,
        final_action="cancel",
        suspend_after_days=0,
    )

    response = finance.get(change(policy))

    assert response.context["summary"] == [
        "Retry 1 day after the first failed payment; 2 attempts in all; then cancel the subscription; "
        "access suspended at once.",
        "Days 3 and 5 of the schedule are never reached: the maximum of 2 attempts comes first.",
        "No reminder e-mails are sent.",
        "A hard decline (a stolen or closed card) stops the retries until the customer adds a new card.",
    ]


def test_a_policy_with_invoices_in_dunning_cannot_be_deleted(finance):
    recovery_fixture()
    patient = DunningPolicy.objects.get(name="Patient")

    response = finance.post(
        reverse("admin:invoicing_dunningpolicy_delete", args=[patient.pk]), {"post": "yes"}, follow=True
    )

    assert "1 invoice is being chased under “Patient”: the policy can be deleted once their dunning has ended." in (
        messages_of(response)
    )
    assert DunningPolicy.objects.filter(pk=patient.pk).exists()


def test_an_unused_policy_is_deleted_and_its_plans_go_back_to_the_default(finance):
    team = make_plan(name="Team")
    policy = dunning_policy_create(actor=ACTOR, now=WALL, name="Patient", retry_days=[2], max_attempts=2)
    dunning_policy_assign_plan(plan=team, policy=policy, actor=ACTOR, now=WALL)
    url = reverse("admin:invoicing_dunningpolicy_delete", args=[policy.pk])

    confirm = finance.get(url)
    assert "Plan “Team” follows the default policy again" in confirm.content.decode()
    response = finance.post(url, {"post": "yes"}, follow=True)

    assert response.status_code == 200
    assert policies() == [("Standard", True, [1, 3, 5, 7], 5)]
    assert not PlanDunningPolicy.objects.exists()
    assert AuditEvent.objects.filter(action="dunning_policy.deleted", object_id=str(policy.pk)).exists()


def test_the_default_policy_cannot_be_deleted(finance):
    assert 'class="deletelink"' not in finance.get(change(standard())).content.decode()
    response = finance.post(reverse("admin:invoicing_dunningpolicy_delete", args=[standard().pk]), {"post": "yes"})

    assert response.status_code == 403
    assert DunningPolicy.objects.filter(name="Standard").exists()


def test_the_policy_list_shows_counts_and_links_to_the_report(finance):
    recovery_fixture()

    response = finance.get(POLICIES)

    assert response.status_code == 200
    rows = {p.name: (p.plans_n, p.customers_n, p.active_n) for p in response.context["cl"].result_list}
    assert rows == {"Standard": (0, 0, 2), "Patient": (0, 0, 1), "Unused": (0, 0, 0)}
    assert f'href="{REPORT}"' in response.content.decode()


def test_pricing_and_support_cannot_open_policies(pricing, support):
    for client in (pricing, support):
        assert client.get(POLICIES).status_code == 403
        assert client.get(change(standard())).status_code == 403


# --- cases ----------------------------------------------------------------------------------------------------


def test_the_case_list_renders_for_finance_with_every_column(finance):
    recovery_fixture()

    response = finance.get(CASES + "?status__exact=active")

    assert response.status_code == 200
    cases = response.context["cl"].result_list
    assert sorted((c.policy.name, c.invoice.number) for c in cases) == [
        ("Patient", "INV-2025-00008"),
        ("Standard", "INV-2025-00001"),
        ("Standard", "INV-2025-00002"),
    ]
    page = response.content.decode()
    for header in [
        "Invoice",
        "Customer",
        "Policy",
        "Status",
        "Step",
        "Next step",
        "Amount at risk",
        "Recovered",
        "Waiting for a new payment method",
        "Started",
    ]:
        assert f">{header}<" in page, header
    assert "$242.00" in page and "€121.00" in page
    assert f'href="{REPORT}"' in page


def test_cases_are_filtered_and_searched(finance):
    recovery_fixture()
    hard = DunningCase.objects.filter(status="active", policy__name="Patient").get()
    DunningCase.objects.filter(pk=hard.pk).update(needs_payment_method=True)
    patient = DunningPolicy.objects.get(name="Patient")

    def listed(query: str) -> set[int]:
        response = finance.get(CASES + query)
        assert response.status_code == 200
        return {case.pk for case in response.context["cl"].result_list}

    assert listed("?needs_payment_method=yes") == {hard.pk}
    assert listed(f"?policy__id__exact={patient.pk}") == set(
        DunningCase.objects.filter(policy=patient).values_list("pk", flat=True)
    )
    assert listed("?status__exact=exhausted") == set(
        DunningCase.objects.filter(status="exhausted").values_list("pk", flat=True)
    )
    assert listed("?q=INV-2025-00008") == {hard.pk}
    assert listed("?q=Dollar") == set(
        DunningCase.objects.filter(customer__name="Dollar Customer Inc.").values_list("pk", flat=True)
    )


def test_a_case_page_is_read_only(finance):
    recovery_fixture()
    case = DunningCase.objects.get(status="active", policy__name="Patient")
    url = reverse("admin:invoicing_dunningcase_change", args=[case.pk])

    response = finance.get(url)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="_save"' not in page
    assert "€100.00" in page  # still due on the invoice after 21.00 was paid
    assert finance.post(url, {"status": "recovered"}).status_code == 403
    assert finance.get(reverse("admin:invoicing_dunningcase_add")).status_code == 403
    assert finance.post(reverse("admin:invoicing_dunningcase_delete", args=[case.pk]), {"post": "yes"}).status_code in (
        403,
        302,
    )
    assert DunningCase.objects.filter(pk=case.pk, status="active").exists()


def test_support_reads_cases_without_the_policy_link_or_the_report(support):
    recovery_fixture()

    response = support.get(CASES)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Standard" in page
    assert reverse("admin:invoicing_dunningpolicy_change", args=[standard().pk]) not in page
    assert REPORT not in page
    assert support.get(REPORT).status_code == 403
    assert support.get(REPORT_CSV).status_code == 403


def test_pricing_cannot_see_cases_or_the_report(pricing):
    assert pricing.get(CASES).status_code == 403
    assert pricing.get(REPORT).status_code == 403
    assert pricing.get(REPORT_CSV).status_code == 403


# --- the recovery report --------------------------------------------------------------------------------------


def test_the_report_defaults_to_this_month_and_shows_the_numbers(finance):
    recovery_fixture()

    response = finance.get(REPORT)

    assert response.status_code == 200
    table = response.context["table"]
    assert table["currencies"] == ["EUR", "USD"]
    shown = [
        (r["label"], r["in_dunning"], r["at_risk"], r["started"], r["recovered"], r["recovered_amount"])
        + (r["exhausted"], r["closed"], r["rate"])
        for r in [*table["rows"], table["total"]]
    ]
    assert shown == [
        ("Standard", 2, ["€121.00", "$242.00"], 3, 1, ["€121.00", "$0.00"], 1, 0, "50.0%"),
        ("Patient", 1, ["€100.00", "$0.00"], 3, 2, ["€121.00", "$60.50"], 0, 1, "66.7%"),
        ("Unused", 0, ["€0.00", "$0.00"], 0, 0, ["€0.00", "$0.00"], 0, 0, "—"),
        ("All policies", 3, ["€221.00", "$242.00"], 6, 3, ["€242.00", "$60.50"], 1, 1, "60.0%"),
    ]
    page = response.content.decode()
    assert "1 January 2026 – 31 January 2026" in page
    assert "66.7%" in page and "At risk (USD)" in page
    assert response.context["csv_url"] == REPORT_CSV + "?from=2026-01-01&to=2026-01-31"


def test_the_report_for_another_period(finance):
    recovery_fixture()

    response = finance.get(REPORT, {"from": "2025-12-01", "to": "2025-12-31"})

    total = response.context["table"]["total"]
    assert (total["started"], total["recovered"], total["recovered_amount"], total["rate"]) == (
        4,
        1,
        ["€0.00", "$121.00"],
        "100.0%",
    )


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ({"from": "2026-02-30", "to": "2026-03-01"}, {"from": ["Enter a date as YYYY-MM-DD, for example 2026-01-31."]}),
        ({"from": "01/02/2026", "to": "2026-03-01"}, {"from": ["Enter a date as YYYY-MM-DD, for example 2026-01-31."]}),
        ({"from": "2026-03-01"}, {"to": ["Give the last day of the period."]}),
        ({"from": "2026-03-31", "to": "2026-03-01"}, {"to": ["The last day (2026-03-01) is before the first day (2026-03-31): swap them."]}),
        ({"from": "1999-12-31", "to": "2026-03-01"}, {"from": ["Choose a day between 2000-01-01 and 2099-12-31."]}),
    ],
)  # fmt: skip
def test_a_bad_period_shows_clear_errors_and_no_numbers(finance, query, errors):
    response = finance.get(REPORT, query)

    assert response.status_code == 200
    assert {name: list(texts) for name, texts in response.context["form"].errors.items()} == errors
    assert response.context["report"] is None
    page = response.content.decode()
    for texts in errors.values():
        assert texts[0] in page


def test_the_csv_has_the_same_table(finance):
    recovery_fixture()

    response = finance.get(REPORT_CSV, {"from": "2026-01-01", "to": "2026-01-31"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="recovery-report-2026-01-01-to-2026-01-31.csv"'
    assert list(csv.reader(io.StringIO(response.content.decode()))) == [
        [
            "Policy",
            "In dunning now",
            "At risk now (EUR)",
            "At risk now (USD)",
            "Cases started",
            "Recovered",
            "Recovered amount (EUR)",
            "Recovered amount (USD)",
            "Retries ran out",
            "Closed",
            "Recovery rate (%)",
        ],
        ["Standard", "2", "121.00", "242.00", "3", "1", "121.00", "0.00", "1", "0", "50.0"],
        ["Patient", "1", "100.00", "0.00", "3", "2", "121.00", "60.50", "0", "1", "66.7"],
        ["Unused", "0", "0.00", "0.00", "0", "0", "0.00", "0.00", "0", "0", ""],
        ["All policies", "3", "221.00", "242.00", "6", "3", "242.00", "60.50", "1", "1", "60.0"],
    ]


def test_a_policy_name_never_becomes_a_formula_in_the_csv(finance):
    dunning_policy_create(actor=ACTOR, now=WALL, name="=HYPERLINK(1)", retry_days=[1], max_attempts=2)
    customer = make_customer("Alpha B.V.", "ap@alpha.example")
    dutch_vat()
    dunning(finalized_invoice(customer, "10.00"), DunningPolicy.objects.get(name="=HYPERLINK(1)"), "active", WALL)

    response = finance.get(REPORT_CSV)

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert [row[0] for row in rows] == ["Policy", "Standard", "'=HYPERLINK(1)", "All policies"]


def test_a_bad_period_in_the_csv_link_goes_back_to_the_report(finance):
    response = finance.get(REPORT_CSV, {"from": "2026-03-31", "to": "2026-03-01"})

    assert response.status_code == 302
    assert response["Location"] == REPORT + "?from=2026-03-31&to=2026-03-01"


# --- roles ----------------------------------------------------------------------------------------------------

NEW_MODELS = [
    "dunningpolicy",
    "plandunningpolicy",
    "customerdunningpolicy",
    "dunningcase",
    "paymentmethod",
    "paymentattempt",
    "payment",
    "refund",
    "webhookevent",
]


def new_permissions(role: str) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=role).permissions.select_related("content_type")
        if p.content_type.app_label == "invoicing" and p.content_type.model in NEW_MODELS
    }


def test_roles_see_collection_and_dunning_as_their_work_needs():
    view = {f"invoicing.view_{model}" for model in NEW_MODELS}
    # Finance may hold more (recording payments, retrying webhooks: other screens); these it needs here.
    assert new_permissions("Finance") >= view | {
        "invoicing.add_dunningpolicy",
        "invoicing.change_dunningpolicy",
        "invoicing.delete_dunningpolicy",
    }
    assert new_permissions("Support") == {
        "invoicing.view_dunningcase",
        "invoicing.view_paymentattempt",
        "invoicing.view_payment",
        "invoicing.view_paymentmethod",
    }
    assert new_permissions("Pricing") == set()
    assert new_permissions("Approver") == set()


def test_plans_and_customers_are_found_by_autocomplete(finance):
    team = make_plan(name="Team")
    make_plan(name="Enterprise")
    slow = make_customer("Slow Payer B.V.", "ap@slow.example")
    url = reverse("admin:autocomplete")

    plans = finance.get(
        url, {"app_label": "invoicing", "model_name": "plandunningpolicy", "field_name": "plan", "term": "Tea"}
    )
    customers = finance.get(
        url, {"app_label": "invoicing", "model_name": "customerdunningpolicy", "field_name": "customer", "term": "Slow"}
    )

    assert [(r["id"], r["text"]) for r in plans.json()["results"]] == [(str(team.pk), "Team")]
    assert [(r["id"], r["text"]) for r in customers.json()["results"]] == [(str(slow.pk), str(slow))]


def test_someone_who_may_only_read_policies_sees_them_without_inputs(client, django_user_model):
    reader = django_user_model.objects.create_user(username="reader", password="pw-for-tests-only", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_dunningpolicy"))
    client.force_login(reader)

    response = client.get(change(standard()))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="retry_days"' not in page and 'name="_save"' not in page
    assert "1, 3, 5, 7" in page
