"""``POST /webhooks/stripe``: Stripe's deliveries, answered at once; the work is done by a job.

The answer is 200 ``{"received": true}`` for a genuine event, new or repeated (Stripe then stops
sending it), and 400 ``{"error": {"code", "message"}}`` when the signature is missing or wrong, its
timestamp too old, or the body is not an event: nothing is stored then. The payload is never logged.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from billing_site import clock
from billing_site.errors import DomainError
from invoicing.services.webhooks import webhook_receive

logger = logging.getLogger(__name__)


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@csrf_exempt  # Stripe cannot send our CSRF token: the signature is what proves the sender
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        response = _error("method_not_allowed", "Stripe webhooks are delivered with POST.", 405)
        response["Allow"] = "POST"
        return response
    try:
        event, created = webhook_receive(
            payload=request.body, signature=request.META.get("HTTP_STRIPE_SIGNATURE", ""), now=clock.now()
        )
    except DomainError as error:
        logger.warning("Stripe webhook refused: %s", error.code)
        return _error(error.code, error.message, 400)
    logger.info("Stripe event %s (%s) %s", event.event_id, event.type, "stored" if created else "already stored")
    return JsonResponse({"received": True})
