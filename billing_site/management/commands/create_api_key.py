"""Create an API key from the shell; scripts take the secret from the last line (``| tail -1``)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from billing_site import clock
from billing_site.actors import Actor
from billing_site.errors import DomainError
from billing_site.services.api_keys import KEY_PREFIX, api_key_create


class Command(BaseCommand):
    help = (
        "Create an API key for another system (a CRM, a data warehouse). Prints what was created, then the "
        "secret key alone on the last line. The secret is shown only this once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Which system uses the key, e.g. “Salesforce sync”.")
        parser.add_argument("--scopes", required=True, help="What the key may do: read, write, or read,write.")

    def handle(self, *args, name: str, scopes: str, **options) -> None:
        try:
            key, secret = api_key_create(
                name=name, scopes=scopes, actor=Actor.system("create_api_key"), now=clock.now()
            )
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            f"Created API key “{key.name}” ({KEY_PREFIX}{key.prefix}_…, scopes: {', '.join(key.scopes)}). "
            "Store the secret below now: it is shown only this once."
        )
        self.stdout.write(secret)
