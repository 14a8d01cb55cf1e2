"""Thin, idempotent tasks: they receive ids, call a service, and retry with backoff."""

from __future__ import annotations

import smtplib

from celery import shared_task

from ehrenamt.services import applications, mail, outbox


@shared_task(
    name=mail.SEND_MAIL_TASK,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def send_mail(message_id: int) -> bool:
    """Send one queued e-mail; a second delivery of the same message sends nothing."""
    try:
        return mail.deliver(message_id)
    except Exception as error:
        outbox.record_failure(message_id, error)
        raise


@shared_task(name="ehrenamt.dispatch_outbox")
def dispatch_outbox() -> int:
    """Periodic: hand over what the outbox still holds (broker was down, process died)."""
    return outbox.dispatch_pending()


@shared_task(name="ehrenamt.remind_organisations")
def remind_organisations() -> int:
    """Periodic: remind organisations that have not answered in time."""
    return applications.remind_organisations()
