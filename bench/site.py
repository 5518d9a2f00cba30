"""A throwaway Django site for benchmarks: its own database, migrated, with development settings.

SQLite in a temporary directory by default. When ``DATABASE_URL`` names a PostgreSQL server, a
throwaway database is created on that server instead (and dropped afterwards), so that a
benchmark never writes its prices and API keys into a database someone uses.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.registry import BenchError

BASE_DIR = Path(__file__).resolve().parent.parent
SETTINGS_MODULE = "billing_site.settings.dev"
POSTGRES_SCHEMES = ("postgres", "postgresql")


@dataclass(frozen=True)
class Site:
    vendor: str
    workdir: Path
    #: The environment that points a server process at this site (settings, database, DEBUG off).
    env: dict[str, str]


def _with_database(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


@contextmanager
def _throwaway_postgres(server_url: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    name = f"bench_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        admin = psycopg.connect(server_url, autocommit=True)
    except psycopg.Error as exc:
        raise BenchError(f"Cannot connect to the PostgreSQL server of DATABASE_URL: {exc}") from exc
    with admin:
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise BenchError(f"Cannot create the throwaway database {name} (CREATEDB needed): {exc}") from exc
        try:
            yield _with_database(server_url, name)
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def throwaway_site() -> Iterator[Site]:
    """Set up Django on a fresh, migrated database. Once per process: settings cannot be swapped later."""
    if "django.conf" in sys.modules:
        from django.conf import settings

        if settings.configured:
            raise BenchError("Django is already set up in this process; run the benchmarks with `python -m bench`.")
    with ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="bench-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        server_url = os.environ.get("DATABASE_URL", "")
        if urlsplit(server_url).scheme in POSTGRES_SCHEMES:
            url, vendor = stack.enter_context(_throwaway_postgres(server_url)), "postgresql"
        else:
            url, vendor = f"sqlite:///{workdir / 'bench.sqlite3'}", "sqlite"
        env = {"DJANGO_SETTINGS_MODULE": SETTINGS_MODULE, "DATABASE_URL": url, "DEBUG": "False"}
        os.environ.update(env)  # before django.setup(): settings read the environment once

        import django
        from django.core.management import call_command
        from django.db import connections

        django.setup()
        stack.callback(connections.close_all)  # before the database is dropped
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        yield Site(vendor=vendor, workdir=workdir, env=env)
