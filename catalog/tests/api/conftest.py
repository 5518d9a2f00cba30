from __future__ import annotations

import pytest

from billing_site import clock


@pytest.fixture
def frozen(now):
    """The clock the views read, frozen at the test's ``now``."""
    with clock.frozen_at(now):
        yield now
