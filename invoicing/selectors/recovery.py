"""The recovery report: how much money is being chased, and how much of it dunning brought back.

Per dunning policy and in total, for a period ``[start, end)``:

* in dunning now: cases still active (whatever the period) and what their invoices still ask
  (the invoices' ``amount_due`` today, not what was due when dunning started);
* cases started in the period;
* cases that ended in the period, by how: recovered (with the amount recovered), retries ran out
  (exhausted), or closed (voided, written off, credited);
* the recovery rate: recovered ÷ (recovered + exhausted + closed) of the cases that ended in the period.

Money is kept per currency and never added across currencies; amounts and rates are ``Decimal``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Sum

from invoicing.models import DunningCase, DunningPolicy, DunningStatus

ONE_DECIMAL = Decimal("0.1")


def _amount(value: Any) -> Decimal:
    """An SQL sum as a Decimal (a Money from django-money, a Decimal, or nothing)."""
    value = getattr(value, "amount", value)
    return Decimal(0) if value is None else Decimal(value)


@dataclass
class RecoveryRow:
    """One line of the report: a policy, or all policies (``policy`` None)."""

    label: str
    policy: DunningPolicy | None = None
    in_dunning: int = 0
    at_risk: dict[str, Decimal] = field(default_factory=dict)
    started: int = 0
    recovered: int = 0
    recovered_amount: dict[str, Decimal] = field(default_factory=dict)
    exhausted: int = 0
    closed: int = 0

    @property
    def ended(self) -> int:
        return self.recovered + self.exhausted + self.closed

    @property
    def recovery_rate(self) -> Decimal | None:
        """Percent of the cases that ended in the period which were recovered, one decimal; None when none ended."""
        if not self.ended:
            return None
        return (Decimal(self.recovered) * 100 / Decimal(self.ended)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)

    def add(self, other: RecoveryRow) -> None:
        self.in_dunning += other.in_dunning
        self.started += other.started
        self.recovered += other.recovered
        self.exhausted += other.exhausted
        self.closed += other.closed
        for mine, theirs in ((self.at_risk, other.at_risk), (self.recovered_amount, other.recovered_amount)):
            for currency, amount in theirs.items():
                mine[currency] = mine.get(currency, Decimal(0)) + amount


@dataclass
class RecoveryReport:
    start: dt.datetime
    end: dt.datetime
    rows: list[RecoveryRow]
    total: RecoveryRow
    #: Every currency that has money in the report, in alphabetical order (the money columns).
    currencies: list[str]


def recovery_report(*, start: dt.datetime, end: dt.datetime) -> RecoveryReport:
    """The report for cases started or ended in ``[start, end)``, one row per policy (all policies listed)."""
    rows: dict[int, RecoveryRow] = {
        policy.pk: RecoveryRow(label=policy.name, policy=policy) for policy in DunningPolicy.objects.all()
    }

    def row(policy_id: int) -> RecoveryRow:
        if policy_id not in rows:  # a policy created while the report is read
            rows[policy_id] = RecoveryRow(label=f"#{policy_id}")
        return rows[policy_id]

    active = (
        DunningCase.objects.filter(status=DunningStatus.ACTIVE)
        .values("policy_id", "invoice__currency")
        .annotate(n=Count("id"), due=Sum("invoice__amount_due"))
        .order_by()
    )
    for now_group in active:
        line = row(now_group["policy_id"])
        line.in_dunning += now_group["n"]
        currency = now_group["invoice__currency"]
        line.at_risk[currency] = line.at_risk.get(currency, Decimal(0)) + _amount(now_group["due"])

    started = (
        DunningCase.objects.filter(started_at__gte=start, started_at__lt=end)
        .values("policy_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for started_group in started:
        row(started_group["policy_id"]).started += started_group["n"]

    ended = (
        DunningCase.objects.filter(
            ended_at__gte=start,
            ended_at__lt=end,
            status__in=[DunningStatus.RECOVERED, DunningStatus.EXHAUSTED, DunningStatus.CLOSED],
        )
        .values("policy_id", "status", "currency")
        .annotate(n=Count("id"), recovered=Sum("amount_recovered"))
        .order_by()
    )
    for ended_group in ended:
        line = row(ended_group["policy_id"])
        if ended_group["status"] == DunningStatus.RECOVERED:
            line.recovered += ended_group["n"]
            currency = ended_group["currency"]
            line.recovered_amount[currency] = line.recovered_amount.get(currency, Decimal(0)) + _amount(
                ended_group["recovered"]
            )
        elif ended_group["status"] == DunningStatus.EXHAUSTED:
            line.exhausted += ended_group["n"]
        else:
            line.closed += ended_group["n"]

    total = RecoveryRow(label="All policies")
    for line in rows.values():
        total.add(line)
    currencies: set[str] = set(total.at_risk) | set(total.recovered_amount)
    for line in rows.values():
        _fill(line, currencies)
    _fill(total, currencies)
    ordered = sorted(rows.values(), key=lambda r: (not (r.policy and r.policy.is_default), r.label.lower(), r.label))
    return RecoveryReport(start=start, end=end, rows=ordered, total=total, currencies=sorted(currencies))


def _fill(line: RecoveryRow, currencies: set[str]) -> None:
    """Every money column present in every row (zero where a policy has none of that currency)."""
    for amounts in (line.at_risk, line.recovered_amount):
        filled = {currency: amounts.get(currency, Decimal(0)) for currency in sorted(currencies)}
        amounts.clear()
        amounts.update(filled)
