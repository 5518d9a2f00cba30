"""Who did it: every money- or state-changing service takes an ``Actor``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ActorKind(StrEnum):
    STAFF = "staff"
    CUSTOMER = "customer"
    API_KEY = "api_key"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str
    label: str
    user_id: int | None = None

    @classmethod
    def staff(cls, user) -> Actor:
        return cls(ActorKind.STAFF, str(user.pk), user.get_username(), user_id=user.pk)

    @classmethod
    def customer(cls, user) -> Actor:
        return cls(ActorKind.CUSTOMER, str(user.pk), user.get_username(), user_id=user.pk)

    @classmethod
    def api_key(cls, key) -> Actor:
        return cls(ActorKind.API_KEY, str(key.pk), f"API key “{key.name}” ({key.prefix})")

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(ActorKind.SYSTEM, job, f"System job: {job}")

    def __str__(self) -> str:
        return self.label
