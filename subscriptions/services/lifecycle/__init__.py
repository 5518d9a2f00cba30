"""The subscription lifecycle, one module per kind of change.

Import the services from ``subscriptions.services.subscriptions`` (the public face); the modules
here are its implementation: ``transitions`` (the one status table), ``locks`` (customer, then
subscription), ``items`` (which prices a subscription may hold, what they bill per period),
``create``, ``change``, ``pause``, ``cancel``, ``trials`` and ``due`` (what time brings).
"""
