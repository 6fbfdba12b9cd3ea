"""E-mail to ticket rules (services/support/mail.py), without servers."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from services.support import mail

OWN = "Turnkey Support <support@turnkey.test>"


def message(**headers) -> EmailMessage:
    m = EmailMessage()
    m["From"] = headers.pop("From", "Mats <mats@nordhaven.test>")
    m["Subject"] = headers.pop("Subject", "Plotter down")
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content("Hello")
    return m


def test_a_person_is_not_auto_generated():
    assert mail.auto_generated(message(Auto_Submitted="no"), "mats@nordhaven.test", OWN) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"Precedence": "list"},
        {"X_Auto_Response_Suppress": "All"},
        {"X_Autoreply": "yes"},
        {"List_Id": "<news.example.com>"},
        {"From": "support@turnkey.test"},
    ],
)
def test_auto_replies_bulk_and_own_mail_are_detected(headers):
    assert mail.auto_generated(message(**headers), "x@y.test", OWN)


def test_bounces_are_detected():
    assert mail.auto_generated(message(), "", OWN) == "bounce (empty envelope sender)"


def test_thread_references_nearest_first():
    m = message(In_Reply_To="<B@x>", References="<A@x> <B@x>")
    assert mail.thread_refs(m) == ["b@x", "a@x"]
    assert mail.subject_token("Re: Plotter [#01J9ZQ4T3K5V6W7X8Y9Z0ABCDE]") == "01J9ZQ4T3K5V6W7X8Y9Z0ABCDE"
    assert mail.subject_token("no token [#123]") is None


def test_attachments_keep_content_within_the_limit():
    m = message()
    m.add_attachment(b"x" * 10, maintype="application", subtype="pdf", filename="small.pdf")
    m.add_attachment(b"y" * 100, maintype="image", subtype="png", filename="big.png")
    files = mail.attachments(m, limit=50)
    assert [(f["filename"], f["size"], f["content_b64"] is not None) for f in files] == [
        ("small.pdf", 10, True),
        ("big.png", 100, False),
    ]
    assert mail.body_text(m) == "Hello"
