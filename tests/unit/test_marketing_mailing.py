"""Marketing's plain rules for e-mail: sandboxed templates (an attack template is refused), message
ids, unsubscribe headers, tracking links, consent decisions, call outcomes, forms, attribution models."""

from __future__ import annotations

import datetime as dt

import pytest

from services.common.errors import InputError
from services.marketing import attribution, calls, consent, forms, mailing
from services.marketing.attribution import Model


# ---- templates ------------------------------------------------------------------------------------
def test_merge_fields_render():
    ctx = mailing.merge_context(
        {"name": "Ingrid Solberg", "email": "i@x.test"}, {"name": "Nordhaven"}, {"name": "W"}, "U"
    )
    out = mailing.render("Dear {{ contact.first_name }} of {{ company.name }}: {{ unsubscribe_url }}", ctx)
    assert out == "Dear Ingrid of Nordhaven: U"
    assert mailing.render("<b>{{ contact.name }}</b>", {**ctx, "contact": {"name": "<script>"}}, html=True) == (
        "<b>&lt;script&gt;</b>"
    )


@pytest.mark.parametrize(
    "attack",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact.__class__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ lipsum.__globals__['os'] }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
        "{{ contact.update({'name': 'x'}) }}",
        "{{ range(10**9)|list }}",
        "{% include '/etc/passwd' %}",
        "{{ unclosed",
    ],
)
def test_a_template_cannot_reach_python_objects(attack):
    with pytest.raises(InputError):
        mailing.check_templates("Hello", attack, None)


def test_message_id_is_deterministic_per_recipient():
    a = mailing.message_id("S1", "C1", mailing.sender_domain("Turnkey <crm@example.com>"))
    assert a == "<S1.C1@example.com>" == mailing.message_id("S1", "C1", "example.com")
    assert a != mailing.message_id("S1", "C2", "example.com")


def test_unsubscribe_headers_are_one_click():
    h = mailing.unsubscribe_headers("https://crm.example.com/m/u/T")
    assert h == {
        "List-Unsubscribe": "<https://crm.example.com/m/u/T>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_tracking_rewrites_links_and_adds_a_pixel():
    html = '<html><body><a href="https://example.com/a?x=1&amp;y=2">A</a> <a href="mailto:x@y">m</a></body></html>'
    out = mailing.track_links(html, lambda u: f"https://t/c?{len(u)}")
    assert 'href="https://t/c?' in out and 'href="mailto:x@y"' in out
    assert mailing.add_pixel(out, "https://t/o").count('<img src="https://t/o"') == 1


def test_status_only_moves_forward():
    assert mailing.advance("sent", "opened") == "opened"
    assert mailing.advance("opened", "clicked") == "clicked"
    assert mailing.advance("clicked", "opened") is None
    assert mailing.advance("bounced", "opened") is None


# ---- consent ---------------------------------------------------------------------------------------
def test_consent_decides_who_is_skipped():
    grant = consent.changed(
        None,
        channel=consent.ConsentChannel.EMAIL,
        status=consent.ConsentStatus.GRANTED,
        source=consent.ConsentSource.IMPORT,
        at="2026-01-01T00:00:00.000000Z",
        proof="import file",
        contact_id="c1",
        address="a@example.com",
    )
    assert consent.skip_reason("a@example.com", grant) is None
    assert consent.skip_reason(None, grant) is consent.SkipReason.NO_EMAIL
    assert consent.skip_reason("a@example.com", None) is consent.SkipReason.NO_CONSENT
    # a pending request does not downgrade a granted consent; a withdrawal wins and keeps history
    pending = dict(grant, status="pending")
    assert consent.skip_reason("a@example.com", pending) is consent.SkipReason.CONSENT_PENDING
    assert (
        consent.changed(
            grant,
            channel=consent.ConsentChannel.EMAIL,
            status=consent.ConsentStatus.PENDING,
            source=consent.ConsentSource.WEB_FORM,
            at="x",
            proof=None,
            contact_id=None,
            address="a@example.com",
        )
        is None
    )
    out = consent.changed(
        grant,
        channel=consent.ConsentChannel.EMAIL,
        status=consent.ConsentStatus.WITHDRAWN,
        source=consent.ConsentSource.UNSUBSCRIBE_LINK,
        at="2026-02-01T00:00:00.000000Z",
        proof="link",
        contact_id=None,
        address="a@example.com",
    )
    assert out["status"] == "withdrawn" and out["contact_id"] == "c1"
    assert out["history"] == [{"status": "granted", "source": "import", "at": grant["at"], "proof": "import file"}]
    assert consent.skip_reason("a@example.com", out) is consent.SkipReason.CONSENT_WITHDRAWN
    assert consent.address_key(consent.ConsentChannel.EMAIL, email=" A@example.com ") == "email:a@example.com"


# ---- calls -----------------------------------------------------------------------------------------
NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


def test_call_outcomes():
    item = {"status": "open", "attempts": 0}
    busy = calls.after_call(item, calls.Outcome.BUSY, callback_at=None, now=NOW, notes=None)
    assert busy["status"] == "open" and busy["callback_at"] == "2026-06-01T09:15:00.000000Z"
    later = "2026-06-02T10:00:00.000000Z"
    cb = calls.after_call(item, calls.Outcome.CALLBACK, callback_at=later, now=NOW, notes="call Tuesday")
    assert cb["callback_at"] == later and cb["status"] == "open" and cb["notes"] == "call Tuesday"
    done = calls.after_call(item, calls.Outcome.INTERESTED, callback_at=None, now=NOW, notes="wants a quote")
    assert done["status"] == "done" and done["attempts"] == 1
    with pytest.raises(InputError):
        calls.after_call(done, calls.Outcome.REACHED, callback_at=None, now=NOW, notes=None)
    with pytest.raises(InputError):
        calls.after_call(item, calls.Outcome.CALLBACK, callback_at=None, now=NOW, notes=None)
    with pytest.raises(InputError):
        calls.after_call(item, calls.Outcome.CALLBACK, callback_at="2026-01-01T00:00:00.000000Z", now=NOW, notes=None)
    spent = calls.after_call(
        {"status": "open", "attempts": 4}, calls.Outcome.NO_ANSWER, callback_at=None, now=NOW, notes=None
    )
    assert spent["status"] == "done"


def test_call_assignment_and_priority():
    assert calls.assign(["a", "b", "c"], ["x", "y"]) == [("a", "x"), ("b", "y"), ("c", "x")]
    assert [calls.priority({"tier": t}) for t in ("A", "b", "C", None)] == [30, 20, 10, 0]
    lead = calls.lead_from_call(
        {"id": "L", "campaign_id": "C"},
        {"contact_id": "p", "company_id": "co"},
        {"name": "Kari Nordmann", "email": "k@x.test"},
        "call me",
    )
    assert lead["source"] == "telemarketing" and lead["first_name"] == "Kari" and lead["notes"] == "call me"


# ---- forms -----------------------------------------------------------------------------------------
FORM = {
    "id": "demo",
    "key": "demo",
    "campaign_id": "C",
    "consent_text": "Send me news",
    "min_fill_seconds": 3,
    **forms.check_form(
        key="demo",
        name="Demo",
        fields=[
            {"name": "email", "maps_to": "email", "required": True},
            {"name": "name", "maps_to": "first_name"},
            {"name": "size", "maps_to": "custom", "label": "Team size", "max_length": 10},
        ],
        thank_you_url="https://example.com/thanks",
        consent_text="Send me news",
        min_fill_seconds=3,
    ),
}


def test_a_good_submission_becomes_a_lead_request():
    sub = forms.check_submission(
        FORM,
        {"email": "Kari@Example.com", "name": "Kari", "size": "12", "utm_source": "news", "consent": "on", "_ts": "t"},
        now=100.0,
        rendered_at=90.0,
    )
    lead = forms.lead_request(FORM, sub, contact=None)
    assert lead["email"] == "kari@example.com" and lead["first_name"] == "Kari" and lead["notes"] == "Team size: 12"
    assert lead["utm"]["source"] == "news" and lead["consent"] is True and lead["source"] == "web_form"


@pytest.mark.parametrize(
    "data, rendered, status",
    [
        ({"email": "a@example.com", "website": "http://spam"}, 90.0, 400),  # honeypot
        ({"email": "a@example.com"}, 99.0, 400),  # too fast
        ({"email": "a@example.com"}, None, 400),  # no render token
        ({"email": "a@example.com"}, 100.0 - 2 * 86400, 400),  # stale
        ({"email": "not an address"}, 90.0, 422),
        ({}, 90.0, 422),  # required
        ({"email": "a@example.com", "size": "x" * 11}, 90.0, 422),  # too long
        ({"email": "a@example.com", "admin": "1"}, 90.0, 422),  # unknown field
        ({"email": "a@example.com", "name": "a\u202eb"}, 90.0, 422),  # bidi override
        ({"email": ["a@example.com"]}, 90.0, 422),  # not text
        ({f"f{i}": "x" for i in range(40)}, 90.0, 413),
    ],
)
def test_bad_submissions_are_rejected(data, rendered, status):
    with pytest.raises(forms.Rejected) as exc:
        forms.check_submission(FORM, data, now=100.0, rendered_at=rendered)
    assert exc.value.status == status


def test_form_definitions_are_checked():
    with pytest.raises(InputError):
        forms.check_form(
            key="Bad Key",
            name="x",
            fields=[{"name": "e", "maps_to": "email"}],
            thank_you_url=None,
            consent_text=None,
            min_fill_seconds=3,
        )
    with pytest.raises(InputError):  # unreachable lead
        forms.check_form(
            key="ok",
            name="x",
            fields=[{"name": "n", "maps_to": "first_name"}],
            thank_you_url=None,
            consent_text=None,
            min_fill_seconds=3,
        )
    with pytest.raises(InputError):
        forms.check_form(
            key="ok",
            name="x",
            fields=[{"name": "e", "maps_to": "email"}],
            thank_you_url="javascript:alert(1)",
            consent_text=None,
            min_fill_seconds=3,
        )
    snippet = forms.embed_snippet(FORM, "https://crm.example.com")
    assert 'action="https://crm.example.com/forms/demo"' in snippet and 'name="website"' in snippet
    assert "https://crm.example.com/forms/demo/token" in snippet


# ---- attribution models ------------------------------------------------------------------------------
T = [{"campaign_id": c, "responded_at": f"2026-0{i + 1}-01", "contact_id": "p"} for i, c in enumerate("ABCD")]


@pytest.mark.parametrize(
    "model, n, shares",
    [
        (Model.FIRST_TOUCH, 4, [1001]),
        (Model.LAST_TOUCH, 4, [1001]),
        (Model.LINEAR, 4, [251, 250, 250, 250]),
        (Model.LINEAR, 3, [335, 333, 333]),
        (Model.U_SHAPED, 4, [400, 101, 100, 400]),
        (Model.U_SHAPED, 3, [400, 201, 400]),
        (Model.U_SHAPED, 2, [501, 500]),
        (Model.U_SHAPED, 1, [1001]),
    ],
)
def test_models_split_exactly(model, n, shares):
    out = attribution.credit(model, 1001, T[:n])
    assert [s for _, s in out] == shares and sum(shares) == 1001
    if model is Model.LAST_TOUCH:
        assert out[0][0]["campaign_id"] == T[n - 1]["campaign_id"]


def test_linear_model_is_todays_rule():
    assert [s for _, s in attribution.credit(Model.LINEAR, 1000, T[:3])] == [
        s for _, s in attribution.split_equally(1000, ["A", "B", "C"])
    ]
    assert attribution.DEFAULT_MODEL is Model.LINEAR


def test_touches_count_once_per_campaign_and_only_before_the_revenue():
    rs = [*T, {"campaign_id": "A", "responded_at": "2026-01-15", "contact_id": "q"}]
    got = attribution.touches_before(rs, "2026-03-15")
    assert [t["campaign_id"] for t in got] == ["A", "B", "C"]


def test_revenue_records_count_a_deal_once():
    est = attribution.revenue_record("estimate", {"deal_id": "D", "amount_minor": 500, "currency": "EUR"}, "t")
    won = attribution.revenue_record("won", {"id": "D", "amount_minor": 700, "currency": "EUR"}, "t")
    assert est["id"] == won["id"] == "deal:D"
    assert attribution.roi_row(100, 250) == {"cost_minor": 100, "revenue_minor": 250, "profit_minor": 150, "roi": 1.5}
