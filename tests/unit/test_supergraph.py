"""The committed supergraph (gateway/supergraph.graphql) must be what the subgraphs export now:
recompose with `make supergraph` and commit the result when this fails."""

from __future__ import annotations

import subprocess

import pytest

from devtools.stack import GATEWAY_DIR, compose, write_sdl
from tests.conftest import need_gateway


def test_committed_supergraph_matches_the_subgraphs(tmp_path):
    need_gateway()
    sdl = tmp_path / "subgraphs"
    write_sdl(sdl)
    for f in sorted(sdl.iterdir()):
        committed = GATEWAY_DIR / "subgraphs" / f.name
        assert committed.exists() and committed.read_text() == f.read_text(), (
            f"gateway/subgraphs/{f.name} is stale: run `make supergraph` and commit"
        )
    out = tmp_path / "supergraph.graphql"
    compose(out, sdl_dir=sdl)
    assert out.read_text() == (GATEWAY_DIR / "supergraph.graphql").read_text(), (
        "gateway/supergraph.graphql is stale: run `make supergraph` and commit"
    )


def test_composition_fails_loudly_on_a_broken_subgraph(tmp_path):
    need_gateway()
    sdl = tmp_path / "subgraphs"
    write_sdl(sdl)
    # two subgraphs defining the same non-shareable field cannot compose
    (sdl / "support.graphql").write_text(
        (sdl / "support.graphql").read_text().replace("type Query {", "type Query {\n  deal(id: ID!): String\n", 1)
    )
    with pytest.raises(subprocess.CalledProcessError):
        compose(tmp_path / "out.graphql", sdl_dir=sdl)
