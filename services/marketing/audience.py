"""From a segment to its members, on the store: load what a definition refers to (static entries,
nested segments, the responders of named campaigns), then one Store filter over `ref_contacts`
(segments.py holds the rules)."""

from __future__ import annotations

import datetime as dt

from services.common.errors import ErrorCode, InputError
from services.common.store import Store

from . import segments

RESPONDED = "responded"


async def resolve(
    store: Store, definition: dict, segment_id: str | None = None, _path: tuple = ()
) -> segments.Resolved:
    """The definition with its static entries and nested segments loaded (cycles and nesting
    deeper than segments.MAX_NESTING are input errors)."""
    if len(_path) > segments.MAX_NESTING:
        raise InputError(ErrorCode.INVALID, "segments nest too deep", ["input", "definition"])
    include_ids: set[str] = set()
    exclude_ids: set[str] = set()
    if segment_id:
        for e in await store.find_all("segment_entries", {"segment_id": segment_id}):
            (include_ids if e["mode"] == "include" else exclude_ids).add(e["contact_id"])
    nested: dict[str, list[segments.Resolved]] = {"include_segments": [], "exclude_segments": []}
    for k in nested:
        for sid in definition.get(k) or []:
            if sid == segment_id or sid in _path:
                raise InputError(
                    ErrorCode.INVALID, "a segment cannot include or exclude itself", ["input", "definition"]
                )
            doc = await store.get("segments", sid)
            if doc is None:
                raise InputError(ErrorCode.UNKNOWN_REFERENCE, f"segment {sid} does not exist", ["input", "definition"])
            nested[k].append(await resolve(store, doc["definition"], sid, (*_path, segment_id or "")))
    return segments.Resolved(
        definition,
        frozenset(include_ids),
        frozenset(exclude_ids),
        tuple(nested["include_segments"]),
        tuple(nested["exclude_segments"]),
    )


async def responders(store: Store, campaign_ids: set[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cid in sorted(campaign_ids):
        rows = await store.find_all("members", {"campaign_id": cid, "status": RESPONDED})
        out[cid] = [r["contact_id"] for r in rows]
    return out


async def member_filter(store: Store, definition: dict, segment_id: str | None, now: dt.datetime) -> dict:
    seg = await resolve(store, definition, segment_id)
    return segments.segment_filter(seg, now, await responders(store, segments.campaigns_named(seg)))


async def segment_member_filter(store: Store, segment_id: str, now: dt.datetime) -> dict:
    doc = await store.get("segments", segment_id)
    if doc is None:
        return segments.NOTHING
    return await member_filter(store, doc["definition"], segment_id, now)
