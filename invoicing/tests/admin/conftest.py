"""Every admin test runs at the same wall-clock time, with PDFs and logos stored in a temporary folder."""

import pytest

from billing_site import clock
from invoicing.tests.admin import WALL


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen_at(WALL):
        yield WALL


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
