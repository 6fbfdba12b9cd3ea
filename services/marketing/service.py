"""Marketing: campaigns on every channel, their members (contacts) and responses, segments,
consent, e-mail sends, call lists, web-to-lead forms, and the money: cost against the revenue the
campaigns produced (attribution.py). Public routes (no token): `/forms/...` and `/m/...`
(public.py)."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.schema import build_schema
from services.common.service import Service, Subscription

from . import events, person_data, policy, public
from .api_mailing import Consent, Delivery, EmailSend
from .mutations import Mutation
from .queries import Query
from .sender import Sender
from .types import Campaign, Contact


class MarketingService(Service):
    name = "marketing"
    indexes = {
        "members": [
            [("campaign_id", 1), ("created_at", 1)],
            [("contact_id", 1), ("created_at", -1)],
            [("company_id", 1)],
            [("campaign_id", 1), ("status", 1)],
        ],
        "attributions": [[("campaign_id", 1)]],
        "ref_contacts": [[("company_id", 1)], [("name", 1)], [("lifecycle", 1)], [("email", 1)]],
        "segment_entries": [[("segment_id", 1)]],
        "segments": [[("name", 1)]],
        "sends": [[("state", 1)]],
        "deliveries": [[("send_id", 1), ("status", 1), ("next_at", 1)], [("status", 1), ("lease_until", 1)]],
        "consents": [[("contact_id", 1)]],
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sender = Sender(self)

    def schema(self):
        return build_schema(
            Query,
            Mutation,
            types=[Campaign, Contact, EmailSend, Delivery, Consent, person_data.PersonData],
            settings=self.settings,
        )

    def row_scope(self, p: Principal, coll: str) -> dict:
        return policy.row_scope(self.settings, p, coll)

    def subscriptions(self) -> list[Subscription]:
        return [*events.subscriptions(self), *person_data.person_subscriptions(self)]

    def public_routes(self) -> list:
        return public.routes()

    async def start(self) -> None:
        was = self.started
        await super().start()
        if not was and self.settings.scheduler_enabled:
            self.sender.interval = self.settings.scheduler_interval
            self.sender.start()

    async def stop(self) -> None:
        await self.sender.stop()
        await super().stop()
