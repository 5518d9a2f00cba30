import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from billing_site.models import ApiKey, AuditEvent
from billing_site.services.api_keys import api_key_authenticate

pytestmark = pytest.mark.django_db

PROJECT = Path(__file__).resolve().parents[3]


def create(*args: str) -> list[str]:
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue().splitlines()


def test_prints_what_it_created_and_the_secret_alone_on_the_last_line():
    lines = create("--name", "Salesforce sync", "--scopes", "read,write")

    key = ApiKey.objects.get()
    secret = lines[-1]
    assert len(lines) == 2
    assert lines[0] == (
        f"Created API key “Salesforce sync” (bk_{key.prefix}_…, scopes: read, write). "
        "Store the secret below now: it is shown only this once."
    )
    assert secret == secret.strip()
    assert secret.startswith(f"bk_{key.prefix}_")
    assert secret not in lines[0]
    assert key.name == "Salesforce sync"
    assert key.scopes == ["read", "write"]
    assert key.hashed_secret != secret
    assert secret not in key.hashed_secret


def test_the_printed_key_authenticates_with_its_scopes():
    secret = create("--name", "Reporting", "--scopes", "read")[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert api_key_authenticate(secret) == ApiKey.objects.get()
    assert client.get("/api/v1/nope").status_code == 404  # authenticated: past 401, to the JSON 404
    assert client.get("/api/v1/nope").json()["error"]["code"] == "not_found"


def test_the_key_is_created_by_the_system_job():
    create("--name", "CRM", "--scopes", "write")

    event = AuditEvent.objects.get()
    assert (event.action, event.actor_kind, event.actor_id) == ("api_key.created", "system", "create_api_key")
    assert event.after == {"name": "CRM", "scopes": ["write"]}
    assert ApiKey.objects.get().created_by is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "", "--scopes", "read"], "Give the key a name that says which system uses it."),
        (["--name", "   ", "--scopes", "read"], "Give the key a name that says which system uses it."),
        (["--name", "CRM", "--scopes", "read,admin"], "Unknown scope(s): admin. Choose from: read, write."),
        (["--name", "CRM", "--scopes", ""], "Give the key at least one scope: read, write."),
        (["--name", "x" * 101, "--scopes", "read"], "The name can have at most 100 characters."),
        (["--scopes", "read"], "Error: the following arguments are required: --name"),
        (["--name", "CRM"], "Error: the following arguments are required: --scopes"),
    ],
)
def test_bad_input_is_a_command_error_and_creates_nothing(args, message):
    with pytest.raises(CommandError) as caught:
        create(*args)

    assert str(caught.value) == message
    assert ApiKey.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def run_manage(*args: str, database: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "billing_site.settings.dev", "DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "manage.py", *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=180
    )


def test_from_the_shell_tail_gives_the_key_and_bad_input_exits_non_zero(tmp_path):
    database = tmp_path / "db.sqlite3"
    assert run_manage("migrate", "--no-input", "-v0", database=database).returncode == 0

    made = run_manage("create_api_key", "--name", "CRM", "--scopes", "read,write", database=database)
    refused = run_manage("create_api_key", "--name", "CRM", "--scopes", "admin", database=database)

    assert made.returncode == 0, made.stderr
    secret = made.stdout.splitlines()[-1]
    assert secret.startswith("bk_")
    assert len(secret) == len("bk_") + 8 + 1 + 43
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "CommandError: Unknown scope(s): admin. Choose from: read, write." in refused.stderr
