from billing_site.models.api_key import ApiKey, ApiScope
from billing_site.models.approval import ApprovalRequest, ApprovalStatus
from billing_site.models.audit import AuditEvent

__all__ = ["ApiKey", "ApiScope", "ApprovalRequest", "ApprovalStatus", "AuditEvent"]
