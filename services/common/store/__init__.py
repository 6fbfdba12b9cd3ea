"""Store port and adapters. `open_store(settings)` picks MongoDB when MONGODB_URL is set,
otherwise the embedded SQLite file `<TURNKEY_DATA_DIR>/<service>.sqlite3`."""

from ..settings import Settings
from .base import Store
from .documents import MAX_PAGE, Doc, Filter, Page

__all__ = ["MAX_PAGE", "Doc", "Filter", "Page", "Store", "open_store"]


async def open_store(settings: Settings) -> Store:
    if settings.mongodb_url:
        from .mongo import MongoStore

        store: Store = MongoStore(settings.mongodb_url, settings.db_name)
    else:
        from .sqlite import SqliteStore

        store = SqliteStore(settings.data_dir / f"{settings.service}.sqlite3")
    await store.connect()
    return store
