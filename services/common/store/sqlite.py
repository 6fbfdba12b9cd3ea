"""SQLite adapter (aiosqlite): the embedded default. One table per collection holding the JSON
document; filters, sorts and indexes work on `json_extract` expressions.

Each store operation is one hop to aiosqlite's connection thread: the statement, the fetch, the
decoding of the rows and the commit run there together (a statement, its fetch and its commit
as separate aiosqlite calls cost a thread hand-over each, which dominated small queries).
Documents are encoded and decoded with orjson."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import orjson

from ..errors import DuplicateKeyError, InvalidFilterError
from .base import Store
from .documents import Doc, Filter, check_collection

PREFIX = "c_"


def _expr(field: str) -> str:
    if field == "_id":
        return "id"
    # field names are validated against FIELD_RE before they get here: no quoting issue
    return f"json_extract(doc, '$.{field}')"


def _dumps(doc: Doc) -> str:
    try:
        return orjson.dumps(doc).decode()
    except TypeError:  # an integer beyond 64 bits
        return json.dumps(doc)


def _loads(text: str) -> Doc:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN or Infinity written by the standard encoder
        return json.loads(text)


# ---- what runs on the connection's thread, one hop per store operation -----------------------------
def _all_docs(conn: sqlite3.Connection, sql: str, params: tuple) -> list[Doc]:
    return [_loads(r[0]) for r in conn.execute(sql, params).fetchall()]


def _rows(conn: sqlite3.Connection, sql: str, params: tuple) -> list[tuple]:
    return conn.execute(sql, params).fetchall()


def _write(conn: sqlite3.Connection, sql: str, params: tuple) -> int:
    """Run one statement and commit; the rows it changed. An integrity error rolls back."""
    try:
        cur = conn.execute(sql, params)
        conn.commit()
        return cur.rowcount
    except sqlite3.IntegrityError:
        conn.rollback()
        raise


def _script(conn: sqlite3.Connection, statements: list[str]) -> None:
    for sql in statements:
        conn.execute(sql)
    conn.commit()


def _param(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


class _Sql:
    def __init__(self) -> None:
        self.params: list[Any] = []

    def where(self, flt: Filter) -> str:
        parts = []
        for key, cond in flt.items():
            if key in ("$and", "$or"):
                sub = [self.where(c) for c in cond]
                joiner = " AND " if key == "$and" else " OR "
                parts.append("(" + joiner.join(s or "1" for s in sub) + ")")
            elif isinstance(cond, dict):
                parts.extend(self.cond(_expr(key), op, val) for op, val in cond.items())
            else:
                parts.append(self.cond(_expr(key), "$eq", cond))
        return " AND ".join(parts) if parts else "1"

    def cond(self, x: str, op: str, val: Any) -> str:
        if op == "$eq":
            if val is None:
                return f"{x} IS NULL"
            self.params.append(_param(val))
            return f"{x} = ?"
        if op == "$ne":
            if val is None:
                return f"{x} IS NOT NULL"
            self.params.append(_param(val))
            return f"({x} IS NULL OR {x} != ?)"
        if op in ("$gt", "$gte", "$lt", "$lte"):
            sym = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}[op]
            if val is None:
                return "0"
            self.params.append(_param(val))
            return f"{x} {sym} ?"
        if op in ("$in", "$nin"):
            vals = [v for v in val if v is not None]
            has_null = len(vals) != len(val)
            self.params.extend(_param(v) for v in vals)
            marks = ",".join("?" * len(vals))
            if op == "$in":
                terms = ([f"{x} IN ({marks})"] if vals else []) + ([f"{x} IS NULL"] if has_null else [])
                return "(" + " OR ".join(terms) + ")" if terms else "0"
            inner = f"{x} NOT IN ({marks})" if vals else "1"
            return f"({x} IS NOT NULL AND {inner})" if has_null else f"({x} IS NULL OR {inner})"
        if op == "$exists":
            path = "id" if x == "id" else x.replace("json_extract", "json_type")
            return f"{path} IS NOT NULL" if val else f"{path} IS NULL"
        raise InvalidFilterError(f"unsupported operator {op}")


class SqliteStore(Store):
    def __init__(self, path: str | Path):
        super().__init__()
        self.path = str(path)
        self.db: aiosqlite.Connection | None = None
        self._known: set[str] = set()

    async def connect(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.db = await aiosqlite.connect(self.path)
        await self.db.execute("PRAGMA journal_mode=WAL")
        await self.db.execute("PRAGMA synchronous=NORMAL")
        await self.db.execute("PRAGMA busy_timeout=5000")
        async with self.db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'c\\_%' ESCAPE '\\'"
        ) as cur:
            self._known = {r[0][len(PREFIX) :] async for r in cur}

    async def close(self) -> None:
        if self.db is not None:
            await self.db.close()
            self.db = None

    def _run(self, fn, *args):
        """`fn(connection, *args)` on aiosqlite's connection thread: one hand-over."""
        return self.db._execute(fn, self.db._conn, *args)  # aiosqlite's own queueing (pinned 0.22)

    async def ping(self) -> bool:
        if self.db is None:
            return False
        return (await self._run(_rows, "SELECT 1", ()))[0][0] == 1

    async def _table(self, coll: str) -> str:
        check_collection(coll)
        if coll not in self._known:
            await self._run(
                _script,
                [
                    f'CREATE TABLE IF NOT EXISTS "{PREFIX}{coll}" '
                    "(id TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT NOT NULL)",
                    f'CREATE INDEX IF NOT EXISTS "{PREFIX}{coll}__pending" '
                    f"ON \"{PREFIX}{coll}\" (json_extract(doc, '$._pending'))",
                ],
            )
            self._known.add(coll)
        return f'"{PREFIX}{coll}"'

    async def _insert(self, coll: str, doc: Doc) -> None:
        t = await self._table(coll)
        try:
            await self._run(
                _write,
                f"INSERT INTO {t} (id, version, doc) VALUES (?, ?, ?)",
                (doc["_id"], doc["version"], _dumps(doc)),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateKeyError(coll, str(exc)) from exc

    async def _insert_many(self, coll: str, docs: list[Doc]) -> None:
        """One transaction (executemany): all or, on a duplicate id, none."""
        t = await self._table(coll)

        def write(conn: sqlite3.Connection) -> None:
            try:
                conn.executemany(
                    f"INSERT INTO {t} (id, version, doc) VALUES (?, ?, ?)",
                    [(d["_id"], d["version"], _dumps(d)) for d in docs],
                )
                conn.commit()
            except sqlite3.IntegrityError:
                conn.rollback()
                raise

        try:
            await self._run(write)
        except sqlite3.IntegrityError as exc:
            raise DuplicateKeyError(coll, str(exc)) from exc

    async def _get(self, coll: str, id: str) -> Doc | None:
        if coll not in self._known:
            return None
        rows = await self._run(_all_docs, f'SELECT doc FROM "{PREFIX}{coll}" WHERE id = ?', (id,))
        return rows[0] if rows else None

    async def _replace(self, coll: str, id: str, expected_version: int, doc: Doc) -> bool:
        t = await self._table(coll)
        try:
            changed = await self._run(
                _write,
                f"UPDATE {t} SET version = ?, doc = ? WHERE id = ? AND version = ?",
                (doc["version"], _dumps(doc), id, expected_version),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateKeyError(coll, str(exc)) from exc
        return changed == 1

    async def _delete(self, coll: str, id: str, expected_version: int) -> bool:
        t = await self._table(coll)
        return await self._run(_write, f"DELETE FROM {t} WHERE id = ? AND version = ?", (id, expected_version)) == 1

    async def _find(self, coll: str, flt: Filter, sort: list[tuple[str, int]], limit: int) -> list[Doc]:
        if coll not in self._known:
            return []
        q = _Sql()
        where = q.where(flt)
        order = ", ".join(f"{_expr(f)} {'ASC' if d > 0 else 'DESC'}" for f, d in sort) or "id"
        sql = f'SELECT doc FROM "{PREFIX}{coll}" WHERE {where} ORDER BY {order} LIMIT ?'
        return await self._run(_all_docs, sql, (*q.params, limit))

    async def _count(self, coll: str, flt: Filter) -> int:
        if coll not in self._known:
            return 0
        q = _Sql()
        where = q.where(flt)
        rows = await self._run(_rows, f'SELECT COUNT(*) FROM "{PREFIX}{coll}" WHERE {where}', tuple(q.params))
        return rows[0][0]

    async def _group(self, coll: str, flt: Filter, by: list[str], sums: list[str]) -> list[Doc]:
        if coll not in self._known:
            return []
        q = _Sql()
        where = q.where(flt)
        keys = [_expr(b) for b in by]
        cols = keys + ["COUNT(*)"] + [f"TOTAL({_expr(s)})" for s in sums]
        group = f" GROUP BY {', '.join(keys)}" if keys else ""
        sql = f'SELECT {", ".join(cols)} FROM "{PREFIX}{coll}" WHERE {where}{group}'
        out = []
        for r in await self._run(_rows, sql, tuple(q.params)):
            vals = list(r)
            key = {("id" if b == "_id" else b): vals[i] for i, b in enumerate(by)}
            n = vals[len(by)]
            if n == 0 and not by:
                continue
            total = {s: _num(vals[len(by) + 1 + i]) for i, s in enumerate(sums)}
            out.append({"key": key, "count": n, "sum": total})
        return out

    async def _ensure_index(self, coll: str, fields: list[tuple[str, int]], unique: bool, name: str) -> None:
        t = await self._table(coll)
        cols = ", ".join(f"{_expr(f)} {'ASC' if d > 0 else 'DESC'}" for f, d in fields)
        await self._run(
            _script,
            [f'CREATE {"UNIQUE " if unique else ""}INDEX IF NOT EXISTS "{PREFIX}{coll}_{name}" ON {t} ({cols})'],
        )

    async def collections(self) -> list[str]:
        return sorted(self._known)


def _num(v: Any) -> int | float:
    """SQLite's TOTAL() is always a float; give integers back as integers like MongoDB's $sum."""
    return int(v) if isinstance(v, float) and v.is_integer() else v
