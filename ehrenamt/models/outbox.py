"""The outbox: jobs and e-mails written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ehrenamt.models.base import Base, UTCDateTime, utcnow


class OutboxMessage(Base):
    """A task to hand to Celery once the transaction that created it has committed."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_pending", "completed_at", "dispatched_at", "id"),
        # A message id must never be reused: a late delivery of an old message would
        # otherwise act on a new one. (PostgreSQL sequences never reuse ids anyway.)
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Celery task name, e.g. "ehrenamt.send_mail".
    task: Mapped[str] = mapped_column(String(100))
    #: Keyword arguments for the task's service; ids and plain values, never objects.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Last hand-over to the broker; None means not handed over yet.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dispatch_attempts: Mapped[int] = mapped_column(default=0)
    #: A task working on the message holds it until then; a second delivery of the same
    #: message meanwhile does nothing. Expires, so a worker dying mid-task frees it.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When a worker began an effect outside the database (sending the mail) that may
    #: have happened even though the worker never recorded it; cleared when the effect
    #: surely failed. Another worker repeats it only after ``OUTBOX_IN_DOUBT_SECONDS``.
    sending_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Set by the task when its work is done; a redelivered task then does nothing.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
