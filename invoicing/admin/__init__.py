"""The invoicing admin: legal entities, invoices, credit notes, the customer balance, e-mails sent, dunning
and collection (payment methods, charge attempts, payments, refunds).

Each module puts its admin classes on the site with ``register(site)``; some also add a panel to the
customer's page (legal entity, invoices, credit balance, e-mails), in that order.
"""

from django.contrib import admin

from invoicing.admin import (
    balance,
    credit_notes,
    customer_payments,
    dunning,
    emails,
    entities,
    invoices,
    payments,
    webhooks,
)

for _module in (entities, invoices, credit_notes, balance, customer_payments, emails, dunning, payments, webhooks):
    _module.register(admin.site)

__all__ = [
    "balance",
    "credit_notes",
    "customer_payments",
    "dunning",
    "emails",
    "entities",
    "invoices",
    "payments",
    "webhooks",
]
