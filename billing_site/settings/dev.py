"""Development settings: what `make run` uses."""

from .base import *  # noqa: F403
