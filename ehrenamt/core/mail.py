"""E-mail: rendered from templates in the request, sent later by a worker.

:func:`queue_mail` renders the text and HTML parts in the current language and writes
them to the outbox; the ``ehrenamt.send_mail`` task calls :func:`deliver`.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from flask import Flask, current_app, render_template
from jinja2 import Environment
from sqlalchemy.exc import OperationalError

from ehrenamt.core import outbox
from ehrenamt.extensions import db, per_app
from ehrenamt.models import CardDocument, OutboxMessage

log = logging.getLogger(__name__)

SEND_MAIL_TASK = "ehrenamt.send_mail"


def queue_mail(
    to: str,
    subject: str,
    template: str,
    *,
    attachments: list[dict[str, Any]] | None = None,
    **context: Any,
) -> OutboxMessage:
    """Render ``templates/emails/<template>.txt`` and ``.html`` and queue the mail.

    ``attachments`` refer to stored card documents (``document_id``, ``filename``,
    ``content_type``); the worker reads their bytes when it sends, so the outbox holds
    no files.
    """
    context.setdefault("office", None)
    text = render_template(f"emails/{template}.txt", subject=subject, **context)
    html = _render_html(f"emails/{template}.html", subject=subject, **context)
    payload: dict[str, Any] = {"to": to, "subject": subject, "text": text, "html": html}
    if attachments:
        payload["attachments"] = attachments
    return outbox.enqueue(SEND_MAIL_TASK, **payload)


def _render_html(name: str, **context: Any) -> str:
    """The HTML part, every value escaped, also in templates it includes or imports.

    Flask escapes by the file name of each template, so a ``.txt`` part included into
    the HTML (the status text both parts share) came out unescaped: a clerk's question
    reached the applicant as markup. The HTML part is therefore rendered by an
    environment that escapes in every template it loads.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    app.update_template_context(context)
    return str(
        per_app("ehrenamt.mail_html", _escaping_environment).get_template(name).render(context)
    )


def _escaping_environment(app: Flask) -> Environment:
    # Its own cache: templates compiled without escaping must not be shared with it.
    return app.jinja_env.overlay(autoescape=True, cache_size=100)


def build_message(payload: dict[str, Any], message_id: int) -> EmailMessage:
    """The MIME message for an outbox payload."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    domain = config["MAIL_DEFAULT_SENDER"].rsplit("@", 1)[-1].strip("> ")
    # Stable per outbox message, so a receiving server can spot a re-delivered copy.
    message["Message-ID"] = make_msgid(idstring=f"outbox{message_id}", domain=domain)
    message.set_content(payload["text"])
    message.add_alternative(payload["html"], subtype="html")
    for attachment in payload.get("attachments", []):
        document = db.session.get(CardDocument, attachment["document_id"])
        if document is None:  # the card was deleted meanwhile: send the text alone
            continue
        maintype, subtype = attachment["content_type"].split("/", 1)
        message.add_attachment(
            document.content, maintype=maintype, subtype=subtype, filename=attachment["filename"]
        )
    return message


class MailInDoubt(Exception):
    """The connection failed after the message went to the server, before its answer:
    the server may have taken the mail."""


def deliver(message_id: int) -> bool:
    """Send the queued mail once; True if sent now, False if it was done already (or
    its sending is in doubt: see :mod:`ehrenamt.core.outbox`)."""
    message = outbox.claim(message_id)
    if message is None:
        return False
    # Kept while the SMTP server takes its time, so no second delivery sends it too.
    with outbox.lease_kept(message) as lease:
        mime = build_message(message.payload, message.id)
        db.session.commit()  # end the read transaction before slow network I/O
        # This worker may have stalled since its claim (cut off, paused) until the lease
        # ran out and another worker took the message: then that one sends it.
        if not lease.begin_sending():
            log.warning("outbox message %s: lease lost before sending; not sent", message_id)
            return False
        # The body holds one-time links; only who got what is kept once it is sent.
        keep = {"to": mime["To"], "subject": mime["Subject"]}
        recorded: list[bool] = []
        try:
            # Recorded the moment the server has it, before the goodbye: a worker that
            # dies in between is the one way left to send a mail twice (see outbox).
            _send(mime, message.id, lambda: recorded.append(_record_sent(message_id, keep)))
        except MailInDoubt as error:
            # Not retried now: the dispatcher sends it again once the doubt has lasted.
            log.warning("outbox message %s: the mail server may have it: %s", message_id, error)
            return False
        except Exception:
            if not recorded:  # else the server has it, and only the record failed
                outbox.sending_failed(message_id)
            raise
    return recorded[0]


#: Waits before recording a sent mail again when the database failed, in seconds.
_RECORD_RETRY_WAITS = (0.5, 2.0, 5.0)


def _record_sent(message_id: int, keep: dict[str, Any]) -> bool:
    """Complete the message, trying a few times: a mail that went out but was not
    recorded goes out again after the doubt's wait (a copy the holder did not need)."""
    for wait in (*_RECORD_RETRY_WAITS, None):
        try:
            done = outbox.complete(message_id, keep=keep)
            db.session.commit()
            return done
        except OperationalError as error:
            db.session.rollback()
            if wait is None:
                raise
            log.warning("outbox message %s sent, not yet recorded: %s", message_id, error)
            time.sleep(wait)
    raise AssertionError("unreachable")


def _send(mime: EmailMessage, message_id: int, accepted: Callable[[], None]) -> None:
    """Hand the mail over; call ``accepted`` once it is out of this worker's hands."""
    config = current_app.config
    backend = config["MAIL_BACKEND"]
    if backend == "smtp":
        _send_smtp(mime, accepted)
        return
    if backend == "file":
        folder = Path(config["MAIL_FOLDER"])
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{message_id:08d}.eml"
        path.write_bytes(bytes(mime))
        # The .eml is encoded for transport; the .txt beside it can be read as it is.
        path.with_suffix(".txt").write_text(readable(mime), encoding="utf-8")
        log.info("mail to %s written to %s", mime["To"], path.with_suffix(".txt"))
    elif backend == "console":
        log.warning("mail:\n%s", readable(mime))
    else:
        raise ValueError(f"unknown MAIL_BACKEND {backend!r}")
    accepted()


def readable(mime: EmailMessage) -> str:
    """Headers and the plain-text part, decoded, for developers to read."""
    body = mime.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return f"To: {mime['To']}\nSubject: {mime['Subject']}\n\n{text}"


def _send_smtp(mime: EmailMessage, accepted: Callable[[], None]) -> None:
    config = current_app.config
    host, port, timeout = config["MAIL_SERVER"], int(config["MAIL_PORT"]), config["MAIL_TIMEOUT"]
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if config["MAIL_USE_SSL"]:
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            smtp.starttls(context=context)
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        data_sent = _watch_data(smtp)
        try:
            smtp.send_message(mime)
        except smtplib.SMTPResponseException:
            raise  # the server answered: it refused the mail, which did not go out
        except (smtplib.SMTPException, OSError) as error:
            if data_sent():
                raise MailInDoubt(str(error) or type(error).__name__) from error
            raise
        accepted()
    finally:
        _close_quietly(smtp)


def _watch_data(smtp: smtplib.SMTP) -> Callable[[], bool]:
    """Whether the message itself was handed to ``smtp`` (its DATA command began)."""
    began: list[bool] = []
    data = smtp.data

    def watched(msg: Any) -> tuple[int, bytes]:
        began.append(True)
        return data(msg)

    smtp.data = watched  # type: ignore[method-assign]
    return lambda: bool(began)


def _close_quietly(smtp: smtplib.SMTP) -> None:
    """Say goodbye, but a failed QUIT after the server took the mail is not a failure
    (smtplib's ``with`` raised it, and the task then sent the mail a second time)."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
