"""``python manage.py bill [--now 2026-03-01T00:00:00Z]``: run the billing run by hand."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from billing_site import clock
from billing_site.actors import Actor
from billing_site.errors import DomainError
from invoicing.services.billing import billing_run


class Command(BaseCommand):
    help = "Bill everything due: renewals, usage, pending lines; finalize drafts whose review window ended."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="Bill as of this moment (ISO 8601 with a time zone). Default: now.")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, **options):
        now = clock.now()
        if options["now"]:
            try:
                now = dt.datetime.fromisoformat(options["now"].replace("Z", "+00:00"))
            except ValueError:
                raise CommandError(f"--now: “{options['now']}” is not an ISO 8601 date and time.") from None
            if now.tzinfo is None:
                raise CommandError("--now needs a time zone, e.g. 2026-03-01T00:00:00Z.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            result = billing_run(now=now, actor=Actor.system("manage.py bill"), batch_size=options["batch_size"])
        except DomainError as error:
            raise CommandError(error.message) from error
        for name, count in result.as_dict().items():
            self.stdout.write(f"{name.replace('_', ' ')}: {count}")
