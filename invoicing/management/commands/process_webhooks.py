"""``python manage.py process_webhooks [--include-failed] [--limit N]``: process stored webhook events by hand.

For when the job worker was down: events are stored as they arrive, whatever the worker does, and
wait here as ``pending``. Each is processed as the job would (oldest provider time first); one that
ended meanwhile is left alone.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from billing_site import clock
from invoicing.services.webhooks import webhook_process_pending


class Command(BaseCommand):
    help = "Process the provider webhook events still waiting (pending); with --include-failed, failed ones too."

    def add_arguments(self, parser):
        parser.add_argument("--include-failed", action="store_true", help="Also try failed events again.")
        parser.add_argument("--limit", type=int, default=None, help="Process at most this many events.")

    def handle(self, *args, **options):
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        counts = webhook_process_pending(
            now=clock.now(), include_failed=options["include_failed"], limit=options["limit"]
        )
        for status in ("processed", "ignored", "failed"):
            self.stdout.write(f"{status}: {counts[status]}")
