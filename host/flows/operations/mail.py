"""`mail`: sends an email over SMTP (`EMAIL_SMTP_*`, `EMAIL_FROM`).

`type` is `markdown` (default: sent as text plus its HTML rendering), `wysiwyg`
(the body is HTML) or `template` (`EMAIL_TEMPLATES_PATH/<template>.liquid` or
`.html`, with `{{ name }}` filled from `data`)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from html import escape
from typing import Any

import anyio.to_thread

from host.config import Settings
from host.errors import OperationFailed
from host.flows.chain import render_string, to_text
from host.flows.operations._options import as_list, one_of, require
from host.flows.operations.registry import OperationContext, OperationType
from host.types import Json


def _markdown(text: str) -> str:
    try:
        from markdown_it import MarkdownIt
    except ImportError:  # pragma: no cover - markdown-it-py is a dependency
        return f"<pre>{escape(text)}</pre>"
    return str(MarkdownIt("commonmark", {"html": False}).render(text))


def _template(settings: Settings, name: str, data: Json) -> str:
    root = settings.email_templates_path
    if root is None:
        raise OperationFailed("mail: EMAIL_TEMPLATES_PATH is not set, so templates cannot be used")
    base = root.resolve()
    for suffix in (".liquid", ".html"):
        path = (base / f"{name}{suffix}").resolve()
        if path.is_relative_to(base) and path.is_file():
            source = path.read_text(encoding="utf-8")
            return str(render_string(source, data if isinstance(data, dict) else {}))
    raise OperationFailed(f'mail: no template "{name}" in {root}')


def build_message(settings: Settings, options: dict[str, Any]) -> EmailMessage:
    recipients = [to_text(r) for r in as_list(options.get("to")) if to_text(r)]
    if not recipients:
        raise OperationFailed("mail: no recipient (to)")
    message = EmailMessage()
    message["From"] = settings.email_from
    message["To"] = ", ".join(recipients)
    for header, option in (("Cc", "cc"), ("Bcc", "bcc"), ("Reply-To", "replyTo")):
        values = [to_text(v) for v in as_list(options.get(option)) if to_text(v)]
        if values:
            message[header] = ", ".join(values)
    message["Subject"] = to_text(options.get("subject"))
    message["Message-ID"] = make_msgid(domain="exthost")
    kind = options.get("type") or "markdown"
    body = to_text(options.get("body"))
    if kind == "template":
        html = _template(settings, to_text(options.get("template")), options.get("data") or {})
        message.set_content("This message is HTML; open it in a mail client that shows HTML.")
        message.add_alternative(html, subtype="html")
    elif kind == "wysiwyg":
        message.set_content(body)
        message.add_alternative(body, subtype="html")
    else:
        message.set_content(body)
        message.add_alternative(_markdown(body), subtype="html")
    return message


def send(settings: Settings, message: EmailMessage) -> None:
    host = settings.email_smtp_host
    if not host:
        raise OperationFailed("mail: EMAIL_SMTP_HOST is not set")
    timeout = settings.request_timeout / 1000
    smtp: smtplib.SMTP
    if settings.email_smtp_secure:
        smtp = smtplib.SMTP_SSL(host, settings.email_smtp_port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, settings.email_smtp_port, timeout=timeout)
    with smtp:
        smtp.ehlo()
        if not settings.email_smtp_secure and not settings.email_smtp_ignore_tls and smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.email_smtp_user:
            smtp.login(settings.email_smtp_user, settings.email_smtp_password or "")
        smtp.send_message(message)


async def mail(options: dict[str, Any], context: OperationContext) -> Json:
    settings = context.services.settings
    message = build_message(settings, options)
    try:
        await anyio.to_thread.run_sync(send, settings, message)
    except (smtplib.SMTPException, OSError) as exc:
        raise OperationFailed(f"mail: sending failed: {exc}") from None
    return {"messageId": message["Message-ID"], "accepted": as_list(message["To"])}


def _check(options: dict[str, Any]) -> None:
    require(options, "to")
    one_of(options, "type", ("markdown", "wysiwyg", "template"))
    if options.get("type") == "template":
        require(options, "template")


OPERATIONS = [OperationType("mail", mail, check=_check, description="send an email over SMTP")]
