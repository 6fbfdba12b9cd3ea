"""The web client's GraphQL operations (web/src/**/*.graphql) against the committed supergraph, and
the portal operations against gateway/persisted-documents.json. A field renamed or removed in a
subgraph, or a portal operation added without rebuilding, fails here before a browser notices."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from graphql import FieldNode, OperationDefinitionNode, build_schema, parse, print_ast, validate

ROOT = Path(__file__).resolve().parents[2]
WEB_SRC = ROOT / "web" / "src"
SUPERGRAPH = ROOT / "gateway" / "supergraph.graphql"
PERSISTED = ROOT / "gateway" / "persisted-documents.json"


def _documents() -> list[Path]:
    return sorted(p for p in WEB_SRC.rglob("*.graphql") if "gql" not in p.relative_to(WEB_SRC).parts)


def _operations(text: str) -> dict[str, OperationDefinitionNode]:
    return {d.name.value: d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode) and d.name}


def test_there_are_web_operations():
    names = {n for p in _documents() for n in _operations(p.read_text())}
    # one per screen at least: a glob that found nothing would make the checks below vacuous
    assert {"Company360", "Board", "MoveDeal", "TicketQueue", "CustomerTickets", "PartnerRegisterLead"} <= names


def test_every_operation_validates_against_the_committed_supergraph():
    schema = build_schema(SUPERGRAPH.read_text())
    # all files together: a fragment may be used by another file's operation
    document = parse("\n".join(p.read_text() for p in _documents()))
    errors = validate(schema, document)
    assert not errors, "\n".join(str(e) for e in errors)


def test_an_invalid_operation_is_caught():
    schema = build_schema(SUPERGRAPH.read_text())
    assert validate(schema, parse("query X { companies { edges { node { noSuchField } } } }"))


def _persisted() -> dict[str, str]:
    return json.loads(PERSISTED.read_text())


def portal_problems(persisted: dict[str, str]) -> list[str]:
    """What is wrong with `persisted` for the web client's portal operations (empty: nothing)."""
    problems = []
    by_name: dict[str, OperationDefinitionNode] = {}
    for doc_id, text in persisted.items():
        if hashlib.sha256(text.encode()).hexdigest() != doc_id:
            problems.append(f"{doc_id} is not the sha256 of its text")
        by_name.update(_operations(text))
    for path in _portal_documents():
        for name, op in _operations(path.read_text()).items():
            if name not in by_name:
                problems.append(f"portal operation {name} ({path.name}) is missing: rebuild the web client")
            elif _shape(by_name[name]) != _shape(op):
                problems.append(f"the persisted {name} differs from {path.name}: rebuild the web client")
    return problems


def _portal_documents() -> list[Path]:
    return [p for p in _documents() if p.relative_to(WEB_SRC).parts[0] == "portal"]


def _shape(node: OperationDefinitionNode) -> object:
    """An operation as a comparable value, independent of field order (codegen prints fields sorted)."""

    def sel(s):
        if s is None:
            return frozenset()
        out = set()
        for f in s.selections:
            if isinstance(f, FieldNode):
                args = tuple(sorted((a.name.value, print_ast(a.value)) for a in f.arguments or ()))
                alias = f.alias.value if f.alias else None
                out.add((alias, f.name.value, args, sel(f.selection_set)))
            else:
                out.add(print_ast(f))
        return frozenset(out)

    variables = frozenset(print_ast(v) for v in node.variable_definitions or ())
    return (node.operation, node.name.value, variables, sel(node.selection_set))


def test_every_portal_operation_is_persisted_under_its_hash():
    assert _portal_documents(), "no portal operations found"
    assert portal_problems(_persisted()) == []


def test_a_missing_or_changed_portal_operation_is_detected():
    persisted = _persisted()
    dropped = {k: v for k, v in persisted.items() if "CustomerTickets" not in v}
    assert len(dropped) == len(persisted) - 1
    assert [p for p in portal_problems(dropped) if "CustomerTickets" in p and "missing" in p]
    changed = {}
    for k, v in dropped.items():
        if "query KnowledgeSearch" in v:
            v = v.replace("title", "title updatedAt", 1)
            k = hashlib.sha256(v.encode()).hexdigest()
        changed[k] = v
    assert [p for p in portal_problems(changed) if "KnowledgeSearch" in p and "differs" in p]
