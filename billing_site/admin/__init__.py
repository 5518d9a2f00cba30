"""The platform's admin: the audit trail, API keys and approvals (the site itself lives in ``site``)."""

from billing_site.admin import api_keys, approvals, audit

__all__ = ["api_keys", "approvals", "audit"]
