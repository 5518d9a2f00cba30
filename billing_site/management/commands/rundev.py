"""Start the web app and the django-q2 worker together; Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

from billing_site.demo_logins import DEMO_LOGINS


def _stop(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the development web server and the job worker together (what `make run` starts)."

    def add_arguments(self, parser):
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))

    def handle(self, *args, port: str, host: str, **options):
        # A plain `kill` must stop the children too, as Ctrl-C does.
        signal.signal(signal.SIGTERM, _stop)
        base = f"http://{host}:{port}"
        manage = [sys.executable, "manage.py"]
        processes = [
            subprocess.Popen([*manage, "runserver", f"{host}:{port}", "--noreload"]),  # noqa: S603
            subprocess.Popen([*manage, "qcluster"]),  # noqa: S603
        ]
        self.stdout.write(self.style.SUCCESS("\nBilling back-office is starting.\n"))
        self.stdout.write(f"  Admin (staff):   {base}/admin/")
        self.stdout.write(f"  API docs:        {base}/api/docs/")
        self.stdout.write(f"  OpenAPI schema:  {base}/api/v1/schema/")
        self.stdout.write(f"  Health:          {base}/healthz\n")
        self.stdout.write("  Demo logins (username / password):")
        for username, password, role in DEMO_LOGINS:
            self.stdout.write(f"    {username:<10} {password:<16} {role}")
        self.stdout.write("\n  Press Ctrl-C to stop the web app and the worker.\n")
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for p in processes:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            for p in processes:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        failed = [p for p in processes if p.returncode not in (0, -signal.SIGINT, None)]
        if failed:
            self.stderr.write("A process stopped unexpectedly; see the messages above.")
