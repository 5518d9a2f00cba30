"""Row locks in the house order: the customer, then the subscription (then, later, its invoices)."""

from __future__ import annotations

from django.db import transaction

from subscriptions.models import Customer, Subscription


def customer_lock(customer: Customer | int) -> Customer:
    pk = customer.pk if isinstance(customer, Customer) else customer
    return Customer.objects.select_for_update(of=("self",)).get(pk=pk)


def subscription_lock(subscription: Subscription | int, *, skip_locked: bool = False) -> Subscription | None:
    """Lock the customer, then the subscription, and return the subscription as stored now.

    With ``skip_locked`` a row another transaction holds is not waited for: ``None`` comes back
    (batch jobs move on; the next run picks the subscription up). Call inside a transaction.
    """
    assert transaction.get_connection().in_atomic_block, "lock rows inside the service's transaction"
    pk = subscription.pk if isinstance(subscription, Subscription) else subscription
    customer_id = Subscription.objects.values_list("customer_id", flat=True).get(pk=pk)
    customer = Customer.objects.select_for_update(of=("self",), skip_locked=skip_locked).filter(pk=customer_id).first()
    if customer is None:
        return None
    locked = (
        Subscription.objects.select_for_update(of=("self",), skip_locked=skip_locked)
        .select_related("plan_version__plan")
        .filter(pk=pk)
        .first()
    )
    if locked is None:
        return None
    locked.customer = customer
    return locked
