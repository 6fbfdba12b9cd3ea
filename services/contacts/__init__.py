"""The contacts service (a GraphQL subgraph)."""
