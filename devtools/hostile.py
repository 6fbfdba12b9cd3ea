"""Documents of the outside attack review, shared by the tests and the benchmarks."""

from __future__ import annotations


def fragment_bomb(levels: int) -> str:
    """`{ me { ...Fn } }` where each fragment spreads the one below four times: 4^n fields once
    expanded, a few hundred bytes as written."""
    parts = [f"{{ me {{ ...F{levels} }} }}", "fragment F0 on Me { sub }"]
    parts += [f"fragment F{i} on Me {{ {' '.join([f'...F{i - 1}'] * 4)} }}" for i in range(1, levels + 1)]
    return " ".join(parts)
