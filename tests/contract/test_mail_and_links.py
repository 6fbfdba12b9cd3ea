"""Outbound mail through a real SMTP server on loopback, and signed links."""

from __future__ import annotations

import dataclasses

import pytest

from services.common.mail import Mailer, MailError, make_message
from services.common.settings import Settings
from services.common.signing import BadSignature, LinkSecretMissing, sign, verify


async def test_message_arrives_with_headers_and_unicode(smtp_server):
    mailer = Mailer(smtp_server.url)
    msg = make_message(
        sender="CRM <crm@example.com>",
        to="Zoë Müller <zoe@example.com>",
        subject="Erinnerung: Geburtstag — Žofie",
        text="Привет",
        html="<p>Привет</p>",
        headers={"List-Unsubscribe": "<https://crm.example.com/m/u/x>"},
        message_id="<r1@example.com>",
    )
    await mailer.send(msg)
    [got] = await smtp_server.wait_for(1)
    assert got["Subject"] == "Erinnerung: Geburtstag — Žofie"
    assert got["Message-ID"] == "<r1@example.com>"
    assert got["List-Unsubscribe"] == "<https://crm.example.com/m/u/x>"
    assert got.get_body(("plain",)).get_content().strip() == "Привет"
    assert smtp_server.envelopes[0][1] == ["zoe@example.com"]


async def test_refused_recipient_is_permanent(smtp_server):
    smtp_server.refuse.add("gone@example.com")
    with pytest.raises(MailError) as exc:
        await Mailer(smtp_server.url).send(
            make_message(sender="a@example.com", to="gone@example.com", subject="s", text="t")
        )
    assert exc.value.permanent
    assert smtp_server.messages == []


async def test_unreachable_server_is_temporary():
    from devtools.stack import free_port

    with pytest.raises(MailError) as exc:
        await Mailer(f"smtp://127.0.0.1:{free_port()}", timeout=2).send(
            make_message(sender="a@example.com", to="b@example.com", subject="s", text="t")
        )
    assert not exc.value.permanent


def test_disabled_and_bad_urls():
    assert not Mailer(None).enabled
    with pytest.raises(ValueError):
        Mailer("http://example.com")


def test_links_roundtrip_and_refuse_tampering(tmp_path):
    s = Settings(service="marketing", data_dir=tmp_path)
    token = sign(s, "unsubscribe", {"contact": "c1", "channel": "email"})
    assert verify(s, "unsubscribe", token) == {"contact": "c1", "channel": "email"}
    with pytest.raises(BadSignature):
        verify(s, "survey", token)  # another purpose
    with pytest.raises(BadSignature):
        verify(s, "unsubscribe", token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    with pytest.raises(BadSignature):
        verify(s, "unsubscribe", "garbage")
    other = dataclasses.replace(s, link_secret="another secret")
    with pytest.raises(BadSignature):
        verify(other, "unsubscribe", token)


def test_links_expire(tmp_path):
    s = Settings(service="support", data_dir=tmp_path, link_secret="k" * 40)
    token = sign(s, "survey", {"ticket": "t1"}, ttl_seconds=-1)
    with pytest.raises(BadSignature):
        verify(s, "survey", token)


def test_production_needs_a_secret(tmp_path):
    s = Settings(service="support", data_dir=tmp_path, env="production")
    with pytest.raises(LinkSecretMissing):
        sign(s, "survey", {"ticket": "t1"})
