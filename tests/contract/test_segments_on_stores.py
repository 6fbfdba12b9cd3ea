"""Segment conditions over contact custom fields on both stores (SQLite; FerretDB with
MONGODB_URL): the Store filter of each condition, its negation and some combinations select exactly
the profiles the in-memory rule does (the cases of tests/unit/test_marketing_segments_custom.py)."""

from __future__ import annotations

import itertools

from tests.unit.test_marketing_segments_custom import CONDITIONS, agree, check, load


async def test_custom_field_conditions_agree_on_the_store(store):
    await load(store)
    for c in CONDITIONS:
        await agree(store, check(c))
    for a, b in itertools.islice(itertools.combinations(CONDITIONS, 2), 0, None, 11):
        await agree(store, check(a, b, match="all"))
        await agree(store, check(a, b, match="any"))
