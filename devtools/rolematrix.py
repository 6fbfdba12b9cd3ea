"""The role matrix of the supergraph, from the field rules in the code (services/common/authz.py).

    python -m devtools rolematrix      # print the Markdown tables of docs/security.md

docs/security.md holds these tables; tests/unit/test_role_matrix.py fails when the code and the
document disagree, and tests/gateway/test_security.py runs every root field with every role through
the real gateway and checks the answer against the document."""

from __future__ import annotations

from services.common.auth import ROLES
from services.common.authz import field_rules
from services.common.settings import Settings

YES, OWN, NO = "yes", "own", "—"


def matrix() -> dict[str, dict[str, str]]:
    """`{"Query.deals": {"admin": "yes", ..., "partner": "own", "customer": "—"}, ...}`"""
    from devtools.stack import SERVICE_CLASSES

    out: dict[str, dict[str, str]] = {}
    for name, cls in SERVICE_CLASSES.items():
        schema = cls(Settings(service=name)).graphql_schema
        for field, rule in field_rules(schema).items():
            cells = {r: (OWN if r in rule.scoped else YES) if r in rule.roles else NO for r in ROLES}
            if field in out and out[field] != cells:
                raise AssertionError(f"{field} has different rules in two subgraphs")
            out[field] = cells
    return dict(sorted(out.items(), key=lambda kv: (not kv[0].startswith(("Query.", "Mutation.")), kv[0])))


def to_markdown(rows: dict[str, dict[str, str]]) -> str:
    lines = ["| field | " + " | ".join(ROLES) + " |", "|---|" + "---|" * len(ROLES)]
    lines += [f"| `{f}` | " + " | ".join(cells[r] for r in ROLES) + " |" for f, cells in rows.items()]
    return "\n".join(lines)


def parse_markdown(text: str) -> dict[str, dict[str, str]]:
    """The rows of every role table in a Markdown document (lines like "| `Type.field` | yes | …")."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == len(ROLES) + 1 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows[cells[0].strip("`")] = dict(zip(ROLES, cells[1:], strict=True))
    return rows


def main() -> int:
    m = matrix()
    print("### Root fields\n")
    print(to_markdown({k: v for k, v in m.items() if k.startswith(("Query.", "Mutation."))}))
    print("\n### Fields of records\n")
    print(to_markdown({k: v for k, v in m.items() if not k.startswith(("Query.", "Mutation."))}))
    return 0
