"""The marketing service (a GraphQL subgraph)."""
