"""Bus port and adapters: RabbitMQ when AMQP_URL is set, else the in-process bus (which only
connects services that share one process: `make run` runs them so)."""

from ..settings import Settings
from .base import Bus, Handler, topic_matches
from .memory import InMemoryBus

__all__ = ["Bus", "Handler", "InMemoryBus", "open_bus", "topic_matches"]

_shared_memory_bus: InMemoryBus | None = None


def shared_memory_bus() -> InMemoryBus:
    """The one in-process bus all services of this process share."""
    global _shared_memory_bus
    if _shared_memory_bus is None:
        _shared_memory_bus = InMemoryBus()
    return _shared_memory_bus


async def open_bus(settings: Settings) -> Bus:
    if settings.amqp_url:
        from .rabbit import RabbitBus

        bus: Bus = RabbitBus(settings.amqp_url, settings.exchange)
        await bus.connect()
        return bus
    bus = shared_memory_bus()
    await bus.connect()
    return bus
