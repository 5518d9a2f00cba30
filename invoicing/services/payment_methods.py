"""A customer's payment methods: added through the provider's page (or a test token), kept as references.

Only the provider's id, brand, last four digits and expiry are stored. A new default payment method
retries at once what is waiting to be paid (``collection_on_new_payment_method``).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.audit import audit_record
from invoicing.gateways import GatewayError, MethodDetails, SetupSession, default_provider, gateway_for
from invoicing.models import PaymentMethod, PaymentMethodStatus, Provider
from invoicing.services.collection import default_payment_method
from subscriptions.models import Customer

ACTIVE = PaymentMethodStatus.ACTIVE


def _gateway_error(error: GatewayError) -> DomainError:
    return DomainError(error.code, error.message)


def _lock_customer(customer: Customer) -> Customer:
    return Customer.objects.select_for_update().get(pk=customer.pk)


def _provider_for_new_methods() -> str:
    provider = default_provider()
    if provider == Provider.MANUAL:
        raise DomainError(
            "payment_methods_unavailable",
            "Payments are by bank transfer only (PAYMENT_GATEWAY=manual): no card can be added.",
        )
    return provider


def customer_provider_id(customer: Customer, provider: str) -> str:
    """The customer's id at the provider, created there on first use (Stripe); stored on the customer."""
    if provider != Provider.STRIPE:
        return ""
    if customer.stripe_id:
        return customer.stripe_id
    try:
        stripe_id = gateway_for(provider).customer_sync(customer)
    except GatewayError as error:
        raise _gateway_error(error) from error
    Customer.objects.filter(pk=customer.pk, stripe_id="").update(stripe_id=stripe_id)
    customer.refresh_from_db(fields=["stripe_id"])
    return customer.stripe_id


def _make_default(method: PaymentMethod) -> None:
    PaymentMethod.objects.filter(customer_id=method.customer_id, is_default=True).exclude(pk=method.pk).update(
        is_default=False
    )
    method.is_default = True


def payment_method_record(
    *,
    customer: Customer,
    provider: str,
    details: MethodDetails,
    actor: Actor,
    now: dt.datetime,
    make_default: bool = True,
    provider_time: int = 0,
) -> PaymentMethod:
    """Store (or refresh) a payment method the provider told us about; newer facts only (``provider_time``)."""
    new_default = False
    with transaction.atomic():
        _lock_customer(customer)
        method = (
            PaymentMethod.objects.select_for_update().filter(provider=provider, provider_id=details.provider_id).first()
        )
        if method is not None and method.customer_id != customer.pk:
            raise DomainError("payment_method_other_customer", "This payment method belongs to another customer.")
        if method is not None and provider_time and provider_time < method.provider_updated:
            return method
        created = method is None
        if method is None:
            method = PaymentMethod(
                customer=customer, provider=provider, provider_id=details.provider_id, created_at=now
            )
        before = {"card": str(method), "status": method.status, "default": method.is_default} if not created else None
        method.kind = details.kind or "card"
        method.brand = details.brand[:30]
        method.last4 = (details.last4 or "")[-4:]
        method.exp_month, method.exp_year = details.exp_month, details.exp_year
        method.provider_updated = max(provider_time, method.provider_updated)
        if method.status != ACTIVE and not created and provider_time:
            pass  # a detached method stays detached: a late "updated" event does not bring it back
        elif make_default and method.status == ACTIVE and not method.is_default:
            _make_default(method)
            new_default = True
        method.save()
        audit_record(
            actor=actor,
            action="payment_method.added" if created else "payment_method.updated",
            obj=customer,
            now=now,
            before=before,
            after={"card": str(method), "status": method.status, "default": method.is_default},
        )
    if new_default:
        from invoicing.services.dunning import collection_on_new_payment_method

        collection_on_new_payment_method(customer=customer, actor=actor, now=now)
    return method


def payment_method_add(
    *, customer: Customer, token: str, actor: Actor, now: dt.datetime, make_default: bool = True
) -> PaymentMethod:
    """Attach a tokenised payment method (a test token, or a Stripe ``pm_…`` from Stripe's page)."""
    token = (token or "").strip()
    if not token:
        raise DomainError("token_required", "Choose a payment method.", fields={"token": "Required."})
    provider = _provider_for_new_methods()
    customer_provider_id(customer, provider)
    try:
        details = gateway_for(provider).method_attach(customer=customer, token=token)
    except GatewayError as error:
        raise _gateway_error(error) from error
    return payment_method_record(
        customer=customer, provider=provider, details=details, actor=actor, now=now, make_default=make_default
    )


def payment_method_set_default(*, method: PaymentMethod, actor: Actor, now: dt.datetime) -> PaymentMethod:
    with transaction.atomic():
        _lock_customer(method.customer)
        method = PaymentMethod.objects.select_for_update().get(pk=method.pk)
        if method.status != ACTIVE:
            raise DomainError("payment_method_removed", f"{method} was removed: it cannot be the default.")
        if method.is_default:
            return method
        _make_default(method)
        method.save(update_fields=["is_default"])
        audit_record(
            actor=actor, action="payment_method.default", obj=method.customer, now=now, after={"card": str(method)}
        )
    from invoicing.services.dunning import collection_on_new_payment_method

    collection_on_new_payment_method(customer=method.customer, actor=actor, now=now)
    return method


def payment_method_detach(
    *, method: PaymentMethod, actor: Actor, now: dt.datetime, at_provider: bool = True, provider_time: int = 0
) -> PaymentMethod:
    """Remove a payment method (here, and at the provider unless the provider told us it is gone)."""
    with transaction.atomic():
        _lock_customer(method.customer)
        method = PaymentMethod.objects.select_for_update().get(pk=method.pk)
        if method.status != ACTIVE:
            return method
        if provider_time and provider_time < method.provider_updated:
            return method
        if at_provider and method.provider != Provider.MANUAL:
            try:
                gateway_for(method.provider).method_detach(method=method)
            except GatewayError as error:
                raise _gateway_error(error) from error
        method.status = PaymentMethodStatus.DETACHED
        method.is_default = False
        method.detached_at = now
        method.provider_updated = max(provider_time, method.provider_updated)
        method.save()
        audit_record(
            actor=actor, action="payment_method.removed", obj=method.customer, now=now, after={"card": str(method)}
        )
        return method


def payment_method_setup_session(
    *, customer: Customer, actor: Actor, now: dt.datetime, success_url: str, cancel_url: str
) -> SetupSession:
    """A page of the provider's where the customer enters a new card (Stripe Checkout in setup mode)."""
    provider = _provider_for_new_methods()
    customer_provider_id(customer, provider)
    try:
        session = gateway_for(provider).setup_session(customer=customer, success_url=success_url, cancel_url=cancel_url)
    except GatewayError as error:
        raise _gateway_error(error) from error
    audit_record(
        actor=actor,
        action="payment_method.setup_started",
        obj=customer,
        now=now,
        after={"session": session.provider_id},
    )
    return session


def customer_has_payment_method(customer: Customer) -> bool:
    return default_payment_method(customer) is not None


def provider_customer_sync(*, customer: Customer) -> str:
    """Send the customer's current details to Stripe (only for customers Stripe knows). Safe to repeat."""
    if not customer.stripe_id:
        return ""
    try:
        return gateway_for(Provider.STRIPE).customer_sync(customer)
    except GatewayError as error:
        raise _gateway_error(error) from error
