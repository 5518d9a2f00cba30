"""Signed links for customers in e-mails: authenticate a payment (SCA), add or replace a payment method.

A link carries a signed, time-limited token instead of a login, as a provider's hosted invoice page
does: the customer follows it from the e-mail. The customer portal serves the pages behind these
addresses; the token only names the attempt or customer and cannot be forged or reused elsewhere.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

from billing_site.errors import DomainError

PAYMENT_ACTION = "invoicing.payment-action"
PAYMENT_METHOD = "invoicing.payment-method"
#: A link in an e-mail works for this long (seconds).
MAX_AGE = {PAYMENT_ACTION: 14 * 86400, PAYMENT_METHOD: 30 * 86400}
_PATHS = {PAYMENT_ACTION: "/portal/pay/{token}", PAYMENT_METHOD: "/portal/payment-method/{token}"}


def _link(purpose: str, pk: int) -> str:
    token = signing.dumps(pk, salt=purpose, compress=True)
    return settings.SITE_URL + _PATHS[purpose].format(token=token)


def payment_action_link(attempt_id: int) -> str:
    """Where the customer completes a payment their bank wants to confirm (3-D Secure)."""
    return _link(PAYMENT_ACTION, attempt_id)


def payment_method_link(customer_id: int) -> str:
    """Where the customer adds or replaces the card we charge."""
    return _link(PAYMENT_METHOD, customer_id)


def link_read(purpose: str, token: str) -> int:
    """The id a token names; a clear error when it was altered or is too old."""
    try:
        return int(signing.loads(token, salt=purpose, max_age=MAX_AGE[purpose]))
    except signing.SignatureExpired as error:
        raise DomainError("link_expired", "This link has expired: ask us for a new one.") from error
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise DomainError("link_invalid", "This link is not valid: check that it was copied whole.") from error
