"""`python -m devtools <command>`:

run                       the whole CRM on embedded defaults (make run)
sdl DIR                   write each subgraph's SDL to DIR (make supergraph)
token --role R --sub S …  mint a token with the local key (make token)
rolematrix                print the role tables of docs/security.md"""

from __future__ import annotations

import sys

USAGE = __doc__ or ""


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "run" and not rest:
        from .run import serve

        return serve()
    if command == "sdl" and len(rest) == 1:
        from .run import sdl

        return sdl(rest[0])
    if command == "token":
        from .token import main as token

        return token(rest)
    if command == "rolematrix" and not rest:
        from .rolematrix import main as rolematrix

        return rolematrix()
    print(f"unknown command or arguments: {' '.join(argv)}\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
