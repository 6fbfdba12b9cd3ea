"""The Store's value rules, shared by the port and its adapters: documents and their internal
fields, collection and field names, the filter subset (docs/store.md), sort specs, keyset cursors
and pages."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidFilterError

Doc = dict[str, Any]
Filter = dict[str, Any]
Sort = Sequence[tuple[str, int]]

FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
COLLECTION_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
COMPARISONS = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"}
INTERNAL = ("_id", "_outbox", "_pending", "_deleted", "_seen")
SEEN_KEEP = 200  # how many applied event ids a document remembers
OUTBOX_COLLECTION = "outbox"
MAX_PAGE = 500
MAX_RETRIES = 20


@dataclass
class Page:
    items: list[Doc]
    has_next: bool
    has_previous: bool
    start_cursor: str | None
    end_cursor: str | None
    cursors: list[str]


def check_collection(name: str) -> str:
    if not COLLECTION_RE.match(name):
        raise InvalidFilterError(f"invalid collection name {name!r}")
    return name


def check_field(name: str) -> str:
    if name == "id":
        return "_id"
    if not FIELD_RE.match(name):
        raise InvalidFilterError(f"invalid field name {name!r}")
    return name


def _check_scalar(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise InvalidFilterError(f"filter values must be scalars, got {type(value).__name__}")


def normalize_filter(flt: Filter | None) -> Filter:
    """Validate a filter against the documented subset and rename `id` to `_id`."""
    if not flt:
        return {}
    if not isinstance(flt, dict):
        raise InvalidFilterError("a filter is a mapping")
    out: Filter = {}
    for key, cond in flt.items():
        if key in ("$and", "$or"):
            if not isinstance(cond, list) or not cond:
                raise InvalidFilterError(f"{key} takes a non-empty list")
            out[key] = [normalize_filter(c) for c in cond]
            continue
        if key.startswith("$"):
            raise InvalidFilterError(f"unsupported operator {key}")
        fld = check_field(key)
        if isinstance(cond, dict):
            if not cond:
                raise InvalidFilterError(f"empty condition for {key}")
            ops: dict[str, Any] = {}
            for op, val in cond.items():
                if op not in COMPARISONS:
                    raise InvalidFilterError(f"unsupported operator {op}")
                if op in ("$in", "$nin"):
                    if not isinstance(val, (list, tuple)):
                        raise InvalidFilterError(f"{op} takes a list")
                    ops[op] = [_check_scalar(v) for v in val]
                elif op == "$exists":
                    ops[op] = bool(val)
                else:
                    ops[op] = _check_scalar(val)
            out[fld] = ops
        else:
            out[fld] = _check_scalar(cond)
    return out


def normalize_sort(sort: Sort | None) -> list[tuple[str, int]]:
    spec = [(check_field(f), 1 if d >= 0 else -1) for f, d in (sort or [])]
    if not any(f == "_id" for f, _ in spec):
        spec.append(("_id", spec[-1][1] if spec else 1))
    return spec


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str, n: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except Exception as exc:  # any malformed cursor is the caller's error, typed
        raise InvalidFilterError("invalid cursor") from exc
    if not isinstance(values, list) or len(values) != n:
        raise InvalidFilterError("invalid cursor")
    return [_check_scalar(v) for v in values]


def get_path(doc: Doc, path: str) -> Any:
    cur: Any = doc
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def keyset_filter(spec: list[tuple[str, int]], values: list[Any]) -> Filter:
    """(f1 > v1) OR (f1 = v1 AND f2 > v2) OR ... in each field's direction."""
    branches = []
    for i, (fld, direction) in enumerate(spec):
        branch: Filter = {f: {"$eq": values[j]} for j, (f, _) in enumerate(spec[:i])}
        branch[fld] = {"$gt" if direction > 0 else "$lt": values[i]}
        branches.append(branch)
    return {"$or": branches}


def public(doc: Doc | None) -> Doc | None:
    if doc is None or doc.get("_deleted"):
        return None
    out = {k: v for k, v in doc.items() if k not in INTERNAL}
    out["id"] = doc["_id"]
    return out


def _body(doc: Doc) -> Doc:
    """The caller-owned part of a public document (drops the fields the store manages)."""
    return {
        k: v for k, v in doc.items() if k not in ("id", "version", "created_at", "updated_at") and k not in INTERNAL
    }
