"""The support service (a GraphQL subgraph)."""
