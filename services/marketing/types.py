"""Marketing's GraphQL types: campaigns with their money, members, and the `Contact` extension."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from services.common.authz import STAFF, allow
from services.common.graphql import Connection, EntityRef, FromDoc, Money
from services.common.values import all_of

from . import consent, domain
from .attribution import roi

Channel = strawberry.enum(domain.Channel)
MemberStatus = strawberry.enum(domain.MemberStatus)
ConsentChannel = strawberry.enum(consent.ConsentChannel)
ConsentStatus = strawberry.enum(consent.ConsentStatus)
ConsentSource = strawberry.enum(consent.ConsentSource)


@strawberry.type(description="A contact's consent on one channel, with its proof and history.")
class Consent(FromDoc):
    id: strawberry.ID
    channel: ConsentChannel
    address: str | None
    contact_id: strawberry.ID | None
    status: ConsentStatus
    source: ConsentSource
    at: dt.datetime
    proof: str | None
    version: int


def revenue_of(info: Info, campaign_id: str):
    """`{currency: minor units}` attributed to a campaign. One grouped query per request for all
    the campaigns asked for (DataLoader), shared by `revenue`, `revenueByCurrency` and `roi`."""
    c = info.context

    async def load(ids: list[str]) -> list[dict[str, int]]:
        rows = await c.store.group(
            "attributions",
            ["campaign_id", "currency"],
            sums=["amount_minor"],
            flt=c.scoped("attributions", {"campaign_id": {"$in": ids}}),
        )
        out: dict[str, dict[str, int]] = {i: {} for i in ids}
        for r in rows:
            out[r["key"]["campaign_id"]][r["key"]["currency"]] = int(r["sum"]["amount_minor"])
        return [out[i] for i in ids]

    return c.loader("revenue", lambda: DataLoader(load_fn=load)).load(campaign_id)


@strawberry.federation.type(keys=["id"])
class Campaign(FromDoc):
    id: strawberry.ID
    name: str
    channel: Channel
    currency: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    version: int
    created_at: dt.datetime
    budget_minor: strawberry.Private[int | None]
    cost_minor: strawberry.Private[int]

    @strawberry.field(extensions=allow(STAFF))
    def budget(self) -> Money | None:
        return Money.from_minor(self.budget_minor, self.currency)

    @strawberry.field(description="What the campaign has cost so far.", extensions=allow(STAFF))
    def cost(self) -> Money | None:
        return Money.from_minor(self.cost_minor, self.currency)

    @strawberry.field(
        description="Won-deal revenue attributed to this campaign, in the campaign's currency.", extensions=allow(STAFF)
    )
    async def revenue(self, info: Info) -> Money | None:
        return Money.from_minor((await revenue_of(info, str(self.id))).get(self.currency, 0), self.currency)

    @strawberry.field(extensions=allow(STAFF))
    async def revenue_by_currency(self, info: Info) -> list[Money] | None:
        rows = await revenue_of(info, str(self.id))
        return [m for k, v in sorted(rows.items()) if (m := Money.from_minor(v, k)) is not None]

    @strawberry.field(
        description="(revenue − cost) / cost; null while the campaign has no cost.", extensions=allow(STAFF)
    )
    async def roi(self, info: Info) -> float | None:
        if not self.cost_minor:
            return None
        return roi((await revenue_of(info, str(self.id))).get(self.currency, 0), self.cost_minor)

    @strawberry.field(extensions=allow(STAFF))
    async def members(
        self, info: Info, first: int | None = None, after: str | None = None, status: MemberStatus | None = None
    ) -> Connection[CampaignMember] | None:
        c = info.context
        flt = all_of({"campaign_id": str(self.id)}, {"status": status.value} if status else None)
        return await c.page("members", flt, [("created_at", 1)], first, after, CampaignMember.from_doc)

    @strawberry.field(extensions=allow(STAFF))
    async def response_count(self, info: Info) -> int | None:
        c = info.context
        responded = all_of({"campaign_id": str(self.id)}, {"status": domain.MemberStatus.RESPONDED.value})
        return await c.store.count("members", c.scoped("members", responded))

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {"cost_minor": doc.get("cost_minor") or 0}

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Campaign | None:
        return await info.context.one("campaigns", id, cls.from_doc)


@strawberry.type(description="A contact's place in a campaign.")
class CampaignMember(FromDoc):
    status: MemberStatus
    responded_at: dt.datetime | None
    response: str | None
    campaign_id: strawberry.ID
    contact_id: strawberry.ID

    @strawberry.field(extensions=allow(STAFF))
    async def campaign(self, info: Info) -> Campaign | None:
        return await info.context.one("campaigns", self.campaign_id, Campaign.from_doc)

    @strawberry.field(extensions=allow(STAFF))
    async def contact(self, info: Info) -> Contact | None:
        return await info.context.stub("ref_contacts", self.contact_id, Contact)


@strawberry.federation.type(keys=["id"])
class Contact(EntityRef):
    @strawberry.field(description="Campaigns this person was targeted by or responded to.", extensions=allow(STAFF))
    async def campaigns(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[CampaignMember] | None:
        flt = {"contact_id": str(self.id)}
        return await info.context.page("members", flt, [("created_at", -1)], first, after, CampaignMember.from_doc)

    @strawberry.field(description="E-mail and phone consent, with source, time and proof.", extensions=allow(STAFF))
    async def consents(self, info: Info) -> list[Consent] | None:
        from .consent import ConsentChannel, address_key

        c = info.context
        person = await c.get("ref_contacts", str(self.id))
        if person is None:
            return []
        keys = [address_key(ConsentChannel.PHONE, contact_id=person["id"])]
        if person.get("email"):
            keys.insert(0, address_key(ConsentChannel.EMAIL, email=person["email"]))
        found = await c.store.get_many("consents", keys)
        return [Consent.from_doc(found[k]) for k in keys if k in found]
