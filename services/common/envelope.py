"""The event envelope (docs/events.md): id, type, occurred_at, producer, subject, version, data.

Routing key = type = `<service>.<entity>.<verb>`. Consumers ignore unknown fields, so producers
may add fields without breaking anyone; a breaking change bumps `version`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .ids import new_id, now_iso


@dataclass(frozen=True)
class Envelope:
    type: str
    subject: str
    data: dict[str, Any]
    producer: str = ""
    version: int = 1
    id: str = field(default_factory=new_id)
    occurred_at: str = field(default_factory=now_iso)

    def __post_init__(self) -> None:
        parts = self.type.split(".")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"event type must be <service>.<entity>.<verb>, got {self.type!r}")
        if not self.producer:
            object.__setattr__(self, "producer", parts[0])

    @property
    def routing_key(self) -> str:
        return self.type

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Envelope:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})

    @classmethod
    def from_json(cls, body: bytes | str) -> Envelope:
        return cls.from_dict(json.loads(body))
