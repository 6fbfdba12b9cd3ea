"""The layout of docs/architecture.md holds: the plain-rule modules of every service import no
GraphQL library (they are unit-tested without it), and imports point one way (domain imports no
other layer of its service), and no service imports another service's code (each is deployed on its
own; what they share lives in services/common)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "services"
PLAIN = [
    "services.contacts.domain",
    "services.contacts.timeline",
    "services.contacts.day",
    "services.deals.domain",
    "services.marketing.domain",
    "services.marketing.attribution",
    "services.support.domain",
    "services.common.money",
    "services.common.values",
    "services.common.errors",
    "services.common.matchkeys",
    "services.common.duprules",
    "services.common.registration",
]
LAYERS = {"service", "queries", "mutations", "events", "policy", "inputs", "types", "audit", "timeline", "attribution"}


def test_plain_rules_import_no_graphql_library():
    code = f"import sys; import {', '.join(PLAIN)}; bad = {{'strawberry', 'graphql'}} & set(sys.modules); assert not bad, bad"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("service", ["contacts", "deals", "marketing", "support"])
def test_domain_imports_no_other_layer(service):
    tree = ast.parse((SERVICES / service / "domain.py").read_text())
    imported = {
        (node.module or "").split(".")[-1]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith(f"services.{service}"))
    }
    assert not imported & LAYERS, f"services/{service}/domain.py imports {imported & LAYERS}"


@pytest.mark.parametrize("service", ["contacts", "deals", "marketing", "support"])
def test_a_service_imports_only_its_own_code_and_the_common_package(service):
    others = {"contacts", "deals", "marketing", "support"} - {service}
    found = []
    for path in sorted((SERVICES / service).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            found += [f"{path.name}: {n}" for n in names if n.split(".")[:2] in (["services", o] for o in others)]
    assert not found, f"services/{service} imports other services' code: {found}"
