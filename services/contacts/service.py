"""Contacts: companies, people and the unified timeline of every interaction; the manager's day
(leads, activities, reminders and notifications, tiers, hand-over: docs/day.md).

Owns `Company` and `Contact` (federation entities). The timeline is a projection: the service
consumes the events of all four services and stores one `interactions` row per event (the row id
is the event id, so a redelivered event cannot add a second row), plus interactions logged by
hand (calls, e-mails, meetings, notes) and one row per activity."""

from __future__ import annotations

import asyncio
import contextlib

from services.common.auth import Principal
from services.common.ids import new_id
from services.common.person_data import ERASED_CONTACT, MERGED_COMPANY, MERGED_CONTACT
from services.common.schema import build_schema
from services.common.service import Service, Subscription

from . import audit, day_events, events, handover, import_http, import_job, merge, policy, privacy, timeline
from .data_types import PersonData
from .mutations import Mutation
from .queries import Query
from .types import Company, Contact


class ContactsService(Service):
    name = "contacts"
    indexes = {
        "companies": [
            [("name_key", 1)],
            [("kind", 1), ("name_key", 1)],
            [("partner_id", 1), ("name_key", 1)],
            [("owner", 1), ("kind", 1)],
            [("tier_check_at", 1)],
            [("dup_block_key", 1)],
            *([(k, 1), ("_id", 1)] for k in ("domain_key", "dup_name_key", "name_search_key")),
        ],
        "contacts": [
            [("company_id", 1), ("last_name_key", 1)],
            [("email_key", 1)],
            [("partner_id", 1), ("last_name_key", 1)],
            # duplicates and search (docs/data.md)
            [("dup_block_key", 1)],
            # search: a prefix range read in index order, `_id` breaking ties as the Store's sort does
            *(
                [(k, 1), ("_id", 1)]
                for k in (
                    "email_key",
                    "phone_key",
                    "domain_key",
                    "first_search_key",
                    "last_search_key",
                    "full_search_key",
                    "rfull_search_key",
                    "dup_name_key",
                )
            ),
        ],
        "interactions": [
            [("company_id", 1), ("occurred_at", -1)],
            [("contact_id", 1), ("occurred_at", -1)],
            [("lead_id", 1)],
            [("kind", 1), ("occurred_at", 1)],
        ],
        "audit_log": [[("at", -1)], [("entity_id", 1), ("at", -1)], [("actor.sub", 1), ("at", -1)]],
        **{k: v for k, v in import_job.INDEXES.items() if k not in ("companies", "contacts")},
    }
    indexes["custom_field_defs"] = [[("entity", 1), ("position", 1)]]
    indexes["companies"] = indexes["companies"] + import_job.INDEXES["companies"]
    indexes["contacts"] = indexes["contacts"] + import_job.INDEXES["contacts"]

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.holder = new_id()  # this replica, for the leases of hand-over jobs
        self.jobs: dict[str, asyncio.Task] = {}

    def schema(self):
        return build_schema(Query, Mutation, types=[Company, Contact, PersonData], settings=self.settings)

    def row_scope(self, p: Principal, coll: str) -> dict:
        return policy.row_scope(self.settings, p, coll)

    def subscriptions(self) -> list[Subscription]:
        # the store is looked up per event: it exists only once the service has started
        return [
            Subscription("timeline", timeline.PATTERNS, lambda e: timeline.on_event(self.store, e)),
            Subscription("deal-won", [events.DEAL_WON], lambda e: events.on_deal_won(self.store, e)),
            Subscription("audit", audit.PATTERNS, lambda e: audit.on_event(self.store, e)),
            Subscription(
                "lead-requests", [day_events.LEAD_REQUESTED], lambda e: day_events.on_lead_requested(self.store, e)
            ),
            Subscription(
                "notifications",
                [day_events.NOTIFICATION_REQUESTED],
                lambda e: day_events.on_notification_requested(self, e),
            ),
            Subscription("reminders", [day_events.REMINDER_DUE], lambda e: day_events.on_reminder_due(self, e)),
            Subscription("deals", [day_events.DEAL_EVENTS], lambda e: day_events.on_deal_event(self.store, e)),
            Subscription("handover", handover.OWNER_CHANGED, lambda e: handover.on_owner_changed(self.store, e)),
            Subscription("merged", [MERGED_COMPANY, MERGED_CONTACT], lambda e: merge.on_merged(self.store, e)),
            Subscription("erased", [ERASED_CONTACT], lambda e: privacy.on_erased(self.store, e)),
        ]

    def public_routes(self) -> list:
        return import_http.routes()  # token-checked by their handlers (docs/import.md)

    def timers(self) -> list:
        return day_events.timers(self)

    # ---- hand-over jobs run in the background of the replica that holds their lease ----------------
    def spawn_transfer(self, job_id: str) -> None:
        task = self.jobs.get(job_id)
        if task is None or task.done():
            self.jobs[job_id] = asyncio.create_task(handover.run_guarded(self.store, job_id, self.holder))

    async def start(self) -> None:
        await super().start()
        await handover.resume_all(self.store, self.spawn_transfer)
        await import_job.resume_all(self)

    async def stop(self) -> None:
        for task in self.jobs.values():
            task.cancel()
        for task in self.jobs.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.jobs.clear()
        await super().stop()
