"""django-q2 jobs of the subscriptions app: load by id, call a service, nothing else."""

from __future__ import annotations

from billing_site import clock
from subscriptions.models import Customer
from subscriptions.services.usage import usage_alerts_check


def check_usage_alerts_task(customer_id: int) -> int:
    """After a usage batch: record (and e-mail) the customer's alerts that usage reached. Safe to run twice."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:  # deleted since the batch arrived
        return 0
    return len(usage_alerts_check(customer=customer, now=clock.now(customer)))
