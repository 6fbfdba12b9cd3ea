"""Developer and operator tooling around the services (not deployed with them): the whole CRM in
one process for `make run`, the gateway tests and the benchmarks; tokens from the local key; the
role matrix; each subgraph's SDL for composition. One entry point: `python -m devtools --help`."""
