"""Outbound e-mail through SMTP (`SMTP_URL`), with aiosmtplib.

`SMTP_URL` forms: `smtp://host:port` (STARTTLS when the server offers it; required with
`?starttls=1`), `smtps://host:port` (implicit TLS), with optional `user:password@`. Unset: the
mailer is disabled (`enabled` is False) and callers skip sending (notifications still land in the
CRM). Messages are built with the standard library's `EmailMessage` (headers encoded for
non-ASCII names and subjects); callers set a deterministic `Message-ID` when a retry must be
recognisable as the same message."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib


class MailError(RuntimeError):
    """The message was not accepted by the SMTP server (temporary or permanent: `permanent`)."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class Mailer:
    def __init__(self, smtp_url: str | None, *, timeout: float = 30.0):
        self.url = smtp_url or None
        self.timeout = timeout
        self._opts: dict = {}
        if self.url:
            parts = urlsplit(self.url)
            if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
                raise ValueError("SMTP_URL must be smtp://host:port or smtps://host:port")
            query = parse_qs(parts.query)
            self._opts = {
                "hostname": parts.hostname,
                "port": parts.port or (465 if parts.scheme == "smtps" else 25),
                "use_tls": parts.scheme == "smtps",
                # required with ?starttls=1, else used when the server offers it (aiosmtplib's None)
                "start_tls": True if query.get("starttls", ["0"])[0] in ("1", "true") else None,
                "username": unquote(parts.username) if parts.username else None,
                "password": unquote(parts.password) if parts.password else None,
                "timeout": timeout,
            }

    @property
    def enabled(self) -> bool:
        return self.url is not None

    async def send(self, msg: EmailMessage) -> None:
        """Deliver one message; MailError when the server refuses it or cannot be reached."""
        if not self.enabled:
            raise MailError("no SMTP_URL configured")
        try:
            errors, _ = await aiosmtplib.send(msg, **self._opts)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise MailError(f"recipients refused: {exc}", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise MailError(f"SMTP {exc.code}: {exc.message}", permanent=500 <= exc.code < 600) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailError(f"SMTP unavailable: {exc}") from exc
        if errors:
            raise MailError(f"recipients refused: {errors}", permanent=True)


def make_message(
    *,
    sender: str,
    to: str | list[str],
    subject: str,
    text: str,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """A plain-text message (with an HTML alternative when given)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to) if isinstance(to, list) else to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id or make_msgid(domain=sender.rpartition("@")[2] or None)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg
