"""Sample operations of the partner-channel root fields (issue #16) for the role-matrix test in
test_security.py: queries any allowed role can run, mutations whose input the resolver rejects."""

from __future__ import annotations

PARTNER_SAMPLES: dict[str, tuple[str, dict]] = {
    "Query.partnerProgramme": ("query($id: ID) { partnerProgramme(companyId: $id) { tier } }", {"id": "@kestrel"}),
    "Query.partnerProgrammes": ("{ partnerProgrammes(first: 1) { totalCount } }", {}),
    "Query.partnerTierDefs": ("{ partnerTierDefs { id } }", {}),
    "Query.dealRegistration": ('{ dealRegistration(id: "nope") { id } }', {}),
    "Query.dealRegistrations": ("{ dealRegistrations(first: 1) { totalCount } }", {}),
    "Query.registrationReviewQueue": ("{ registrationReviewQueue(first: 1) { totalCount } }", {}),
    "Query.partnerTargets": ("query($p: ID) { partnerTargets(partnerId: $p) { period } }", {"p": "@kestrel"}),
    "Query.tierReview": ('{ tierReview(period: "2026") { partnerId } }', {}),
    "Query.partnerReport": (
        'query($p: ID) { partnerReport(period: "2026", partnerId: $p) { openDeals } }',
        {"p": "@kestrel"},
    ),
    "Query.partnerReports": ('{ partnerReports(period: "2026") { partnerId } }', {}),
    "Query.partnerChain": ("{ partnerChain { clientId } }", {}),
    "Query.partnerExportCsv": ('{ partnerExportCsv(kind: "report", period: "2026-05") }', {}),
    "Query.bundles": ("{ bundles { id } }", {}),
    "Query.partnerCareReport": ("{ partnerCareReport { partnerId } }", {}),
    "Mutation.savePartnerTier": ('mutation { savePartnerTier(input: {id: "", name: ""}) { errors { code } } }', {}),
    "Mutation.savePartnerProgramme": (
        'mutation { savePartnerProgramme(input: {companyId: "nope"}) { errors { code } } }',
        {},
    ),
    "Mutation.submitDealRegistration": (
        'mutation { submitDealRegistration(input: {clientName: "", project: "", estimatedValue: "1", currency: "EUR"}) '
        "{ errors { code } } }",
        {},
    ),
    "Mutation.decideDealRegistration": (
        'mutation { decideDealRegistration(input: {id: "nope", approve: true}) { errors { code } } }',
        {},
    ),
    "Mutation.setPartnerTarget": (
        'mutation { setPartnerTarget(input: {partnerId: "nope", period: "2026"}) { errors { code } } }',
        {},
    ),
    "Mutation.saveBundle": ('mutation { saveBundle(input: {name: ""}) { errors { code } } }', {}),
    "Mutation.startEstimateFromBundle": (
        'mutation { startEstimateFromBundle(input: {dealId: "nope", bundleId: "nope"}) { errors { code } } }',
        {},
    ),
}
