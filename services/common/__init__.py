"""Small, generic kernel shared by all services: settings, logging, ids, the event envelope,
the Store and Bus ports with their adapters, the outbox relay and the idempotent-consumer helper.

No domain rules live here."""
