"""The platform's admin: the audit trail and API keys (the site itself lives in ``site``)."""

from billing_site.admin import api_keys, audit

__all__ = ["api_keys", "audit"]
