"""The deals subgraph: schema wiring, indexes and the seeded pipeline, event consumers, timers
and row scopes. What deals is about is told in `domain.py`; the pieces live in one module per
concern: domain (plain rules), estimates / payments / planning (plain rules of quotes, payment
schedules and the forecast), policy (row scopes), events, types, inputs, queries, mutations,
sales_types / sales_api (the GraphQL of quotes, payments and the forecast)."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.errors import DuplicateKeyError
from services.common.scheduler import Timer
from services.common.schema import build_schema
from services.common.service import Service, Subscription

from . import customfields, domain, events, handover, leads, partner_api, person_data, policy
from .config import DealsConfig
from .mutations import Mutation
from .queries import Query
from .sales_api import overdue_due, overdue_fire, snapshot_fire
from .types import Company, Contact, Deal

SNAPSHOT_SCHEDULE = "forecast-weekly"


class DealsService(Service):
    name = "deals"
    indexes = {
        # the deals of a company, a contact, a partner or an owner, newest first; open deals by currency (forecast)
        "deals": [
            *([(key, 1), ("created_at", -1)] for key in ("company_id", "contact_id", "partner_id", "owner")),
            [("status", 1), ("currency", 1)],
            # forecastByPeriod and snapshots: a covering index (SQLite answers the group from the index alone)
            [
                (f, 1)
                for f in (
                    "status",
                    "currency",
                    "close_month",
                    "forecast_category",
                    "amount_minor",
                    "weighted_minor",
                    "_deleted",
                )
            ],
        ],
        "estimates": [[("deal_id", 1), ("revision", -1)], [("company_id", 1), ("created_at", -1)]],
        "milestones": [
            # cashCurve and snapshots: covering, as above
            [
                (f, 1)
                for f in (
                    "currency",
                    "unpaid",
                    "due_month",
                    "deal_status",
                    "open_minor",
                    "weighted_open_minor",
                    "_deleted",
                )
            ],
            [("deal_id", 1), ("due_date", 1)],
            [("status", 1), ("due_date", 1)],
            [("company_id", 1), ("status", 1)],
        ],
        "forecast_snapshots": [[("currency", 1), ("taken_on", 1)]],
        **partner_api.INDEXES,
    }

    def __init__(self, *args, config: DealsConfig | None = None, **kw):
        self.config = config or DealsConfig.from_env()
        super().__init__(*args, **kw)

    def schema(self):
        return build_schema(
            Query, Mutation, types=[Company, Contact, Deal, person_data.PersonData], settings=self.settings
        )

    def row_scope(self, p: Principal, coll: str) -> dict:
        return policy.row_scope(self.settings, p, coll)

    async def setup(self) -> None:
        s = self.store
        await s.ensure_index("products", [("sku_key", 1)], unique=True)
        await s.ensure_index("estimates", [("deal_id", 1), ("revision", 1)], unique=True)
        await s.ensure_index("lost_reasons", [("name_key", 1)], unique=True)
        seeds = [
            ("pipelines", domain.default_pipeline()),
            ("forecast_schedule", {"id": SNAPSHOT_SCHEDULE, "next_at": ""}),
        ]
        if await s.count("lost_reasons", {}) == 0:
            seeds += [
                ("lost_reasons", {"id": f"lost-{i}", "name": n, "name_key": n.casefold(), "active": True})
                for i, n in enumerate(domain.DEFAULT_LOST_REASONS, 1)
            ]
        for coll, doc in seeds:
            if await s.get(coll, doc["id"]) is None:
                try:
                    await s.insert(coll, doc)
                except DuplicateKeyError:
                    pass

        await self.backfill_forecast_fields()

    async def backfill_forecast_fields(self) -> None:
        """Deals written before the forecast fields existed get them once (planning.derive)."""
        from . import planning

        pipelines: dict = {}
        for d in await self.store.find_all("deals", {"weighted_minor": {"$exists": False}}):
            pid = d["pipeline_id"]
            if pid not in pipelines:
                pipelines[pid] = await self.store.get("pipelines", pid)

            def fn(doc: dict, p=pipelines[pid]) -> dict | None:
                return None if "weighted_minor" in doc else planning.derive(doc, p)

            await self.store.mutate("deals", d["id"], fn)

    def subscriptions(self) -> list[Subscription]:
        return [
            *events.subscriptions(self),
            leads.subscription(self),
            handover.subscription(self),
            *partner_api.subscriptions(self),
            *person_data.person_subscriptions(self),
            customfields.subscription(self),
        ]

    def timers(self) -> list[Timer]:
        return [
            # a payment milestone past its due date turns overdue once (deals.payment.overdue + a notification)
            Timer(
                name="payment-overdue",
                coll="milestones",
                due=overdue_due,
                fire=overdue_fire,
                sort=(("due_date", 1), ("id", 1)),
            ),
            # the forecast snapshotted every `snapshot_days` (the snapshot itself is taken by the consumer of the event)
            Timer(
                name="forecast-snapshot",
                coll="forecast_schedule",
                due=lambda now: {"next_at": {"$lte": now}},
                fire=lambda doc, now: snapshot_fire(doc, now, self.config.snapshot_days),
            ),
            # an approved deal registration not won by the end of its protection period expires
            Timer(
                name="registration-expiry",
                coll="registrations",
                due=partner_api.R.expiry_due,
                fire=partner_api.expiry_fire,
                sort=(("expires_at", 1), ("id", 1)),
            ),
        ]
