"""The deals service (a GraphQL subgraph)."""
