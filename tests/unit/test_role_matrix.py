"""The role matrix: every field's rule in code (services/common/authz.py) is the row documented in
docs/security.md (printed by `python -m devtools rolematrix`), a field without a rule cannot be
built, and row scopes match documents as the store filters them. No servers."""

from __future__ import annotations

from pathlib import Path

import pytest
import strawberry

from devtools.rolematrix import matrix, parse_markdown
from services.common.authz import ADMIN, STAFF, allow, matches
from services.common.schema import build_schema

ROOT = Path(__file__).resolve().parents[2]


def test_documented_matrix_is_the_code():
    documented = parse_markdown((ROOT / "docs" / "security.md").read_text())
    code = matrix()
    assert set(code) - set(documented) == set(), "fields with a rule but no row in docs/security.md"
    assert set(documented) - set(code) == set(), "rows in docs/security.md for fields that have no rule"
    wrong = {f: (documented[f], code[f]) for f in code if documented[f] != code[f]}
    assert not wrong, f"docs/security.md disagrees with the code: {wrong}"


@strawberry.type
class Thing:
    id: int

    @strawberry.field
    def computed(self) -> int:
        return 3


@strawberry.type
class Query2:
    @strawberry.field(extensions=allow(ADMIN))
    def thing(self) -> Thing:
        return Thing(id=1)


def test_a_field_without_a_rule_is_refused():
    @strawberry.type
    class Query:
        @strawberry.field(extensions=allow(STAFF))
        def fine(self) -> int:
            return 1

        @strawberry.field
        def forgotten(self) -> int:
            return 2

    with pytest.raises(AssertionError, match=r"Query\.forgotten"):
        build_schema(Query)

    with pytest.raises(AssertionError, match=r"Thing\.computed"):
        build_schema(Query2)


def test_scope_matching():
    doc = {"id": "a", "partner_id": "P", "company_id": "C", "internal": False}
    assert matches(doc, {})
    assert matches(doc, {"$or": [{"id": "P"}, {"partner_id": "P"}]})
    assert not matches(doc, {"$or": [{"id": "Q"}, {"partner_id": "Q"}]})
    assert matches(doc, {"$and": [{"company_id": "C"}, {"internal": False}]})
    assert not matches(doc, {"id": {"$in": []}})
    assert not matches(None, {})
    assert not matches({"id": "a"}, {"partner_id": "P"})  # a missing field is not a match
