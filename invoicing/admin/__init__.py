"""The invoicing admin: legal entities, invoices, credit notes, the customer balance and e-mails sent.

Each module puts its admin classes on the site with ``register(site)``; some also add a panel to the
customer's page (legal entity, invoices, credit balance, e-mails), in that order.
"""

from django.contrib import admin

from invoicing.admin import balance, credit_notes, emails, entities, invoices

for _module in (entities, invoices, credit_notes, balance, emails):
    _module.register(admin.site)

__all__ = ["balance", "credit_notes", "emails", "entities", "invoices"]
