"""Thin, idempotent tasks: they receive ids, call a service, and retry with backoff.

Every task may run twice (a redelivery after a worker died, the dispatcher sending a
message again); the services make the second run do nothing.
"""

from __future__ import annotations

import smtplib

from celery import Task, shared_task
from sqlalchemy.exc import OperationalError

from ehrenamt.applications import confirmation
from ehrenamt.cardformat import keys
from ehrenamt.cards import jobs, lifecycle, print_runs, production
from ehrenamt.core import mail, outbox
from ehrenamt.insight import statistics
from ehrenamt.legacy import importing
from ehrenamt.privacy import export as data_export
from ehrenamt.privacy import retention

#: Longest wait between retries, in seconds. BROKER_VISIBILITY_TIMEOUT must exceed it.
RETRY_BACKOFF_MAX = 600


@shared_task(
    name=mail.SEND_MAIL_TASK,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=5,
    retry_backoff_max=RETRY_BACKOFF_MAX,
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


class CardBusy(Exception):
    """Another worker is producing this card right now; look again shortly."""


@shared_task(
    bind=True,
    name=lifecycle.ISSUE_CARD_TASK,
    # A missing key waits for an administrator; a busy card or a database hiccup
    # resolves itself. Anything else is a bug: recorded on the outbox message, and the
    # periodic job requests the card again later.
    autoretry_for=(CardBusy, keys.NoSigningKey, OperationalError),
    retry_backoff=2,
    retry_backoff_max=RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=10,
)
def issue_card(self: Task, message_id: int) -> str:
    """Sign and render a card (its current generation), store it, mail the holder."""
    # Claimed like a mail, so a worker that dies mid-card leaves a lease that runs out
    # and the dispatcher hands the job over again within minutes.
    message = outbox.claim(message_id)
    if message is None:
        # Done, or another worker holds the lease and is alive (it renews it).
        return "done" if outbox.unfinished(message_id) is None else "claimed"
    card_id = int(message.payload["card_id"])
    try:
        with outbox.lease_kept(message):
            # A card made now completes the message in its own transaction.
            result = production.produce(card_id, message_id=message_id)
        if result == production.Produced.BUSY:
            raise CardBusy(card_id)
    except Exception as error:
        # Also frees the claim, so the retry can take the message again.
        outbox.record_failure(message_id, error)
        raise
    if result != production.Produced.MADE:
        outbox.complete(message_id)
        outbox.commit()
    return result.value


@shared_task(
    name=print_runs.MAKE_PRINT_RUN_TASK,
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    retry_backoff_max=RETRY_BACKOFF_MAX,
    max_retries=5,
)
def make_print_run(message_id: int) -> str:
    """Lay out a print run's PDF; a second delivery finds it made and does nothing."""
    message = outbox.claim(message_id)
    if message is None:
        return "done" if outbox.unfinished(message_id) is None else "claimed"
    run_id = int(message.payload["print_run_id"])
    try:
        with outbox.lease_kept(message):
            made = print_runs.make_print_run(run_id)
    except OperationalError as error:
        outbox.record_failure(message_id, error)
        raise
    except Exception as error:
        # A bug, not a hiccup: staff see the run failed and can start it again.
        outbox.record_failure(message_id, error)
        print_runs.mark_failed(run_id, type(error).__name__)
        raise
    outbox.complete(message_id)
    outbox.commit()
    return "made" if made else "already"


@shared_task(name="ehrenamt.dispatch_outbox")
def dispatch_outbox() -> int:
    """Periodic: hand over what the outbox still holds (broker was down, process died)."""
    return outbox.dispatch_pending()


@shared_task(name="ehrenamt.remind_organisations")
def remind_organisations() -> int:
    """Periodic: remind organisations that have not answered in time."""
    return confirmation.remind_organisations()


@shared_task(name="ehrenamt.expire_cards")
def expire_cards() -> int:
    """Periodic: cards past their last day become expired."""
    return jobs.expire_cards()


@shared_task(name="ehrenamt.remind_card_holders")
def remind_card_holders() -> int:
    """Periodic: remind holders before their card ends, with a renewal link."""
    return jobs.remind_expiring()


@shared_task(name="ehrenamt.issue_pending_cards")
def issue_pending_cards() -> int:
    """Periodic: request again the cards the outbox gave up on."""
    return jobs.issue_pending()


@shared_task(name="ehrenamt.apply_retention")
def apply_retention() -> int:
    """Periodic: delete what is past its retention period (privacy.retention), in batches."""
    return sum(retention.apply_retention().values())


@shared_task(
    bind=True,
    name=importing.IMPORT_TASK,
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    retry_backoff_max=RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=10,
)
def import_legacy_cards(self: Task, message_id: int) -> str:
    """Import a confirmed file of old cards in batches, from where it stopped."""
    message = outbox.claim(message_id)
    if message is None:
        return "done" if outbox.unfinished(message_id) is None else "claimed"
    import_id = int(message.payload["import_id"])
    try:
        with outbox.lease_kept(message):
            state = importing.run(import_id)
    except Exception as error:
        outbox.record_failure(message_id, error)
        raise
    outbox.complete(message_id)
    outbox.commit()
    return state.value if state else "gone"


@shared_task(
    name=data_export.BUILD_EXPORT_TASK,
    autoretry_for=(OperationalError, OSError),
    retry_backoff=5,
    retry_backoff_max=RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=8,
)
def build_data_export(message_id: int) -> bool:
    """Build a volunteer's data export and mail the link; once, however often it runs."""
    # Claimed like a card job: a worker dying mid-archive leaves a lease that runs out,
    # and the dispatcher hands the job over again.
    message = outbox.claim(message_id)
    if message is None:
        return False
    try:
        with outbox.lease_kept(message):
            built = data_export.build(int(message.payload["export_id"]))
            outbox.complete(message_id)
            outbox.commit()
    except Exception as error:
        outbox.record_failure(message_id, error)
        raise
    return built


@shared_task(name="ehrenamt.refresh_statistics")
def refresh_statistics() -> int:
    """Periodic: compute every office's statistics before its page needs them."""
    return statistics.refresh_every_office()
