"""What every adapter of an outside system (the Store, the Bus) has: a connection to open and
close, and a ping that `/readyz` asks."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Port(ABC):
    @abstractmethod
    async def connect(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> bool:
        """True while the server answers (readiness)."""
