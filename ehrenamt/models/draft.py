"""An application form saved unfinished, to be continued from an e-mailed link."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ehrenamt.models.base import Base, UTCDateTime, utcnow


class ApplicationDraft(Base):
    """What an applicant typed into the application form, saved without checking it is
    complete; no password and no file (a chosen proof follows the 24-hour rule of
    unclaimed uploads and must be chosen again).

    Retention: a row lives until ``expires_at`` (``DRAFT_MAX_AGE``, 30 days after the last
    save); the retention job (``privacy.retention``) then deletes it. Submitting the
    application deletes it at once; so does the erasure of the person it belongs to.
    """

    __tablename__ = "application_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The address the link went to, lower-cased: a draft needs nothing else. The data
    #: export and the erasure of a person find their drafts by it.
    email: Mapped[str] = mapped_column(String(254), index=True)
    #: The signed-in applicant who saved it, whose account lists it; None for a visitor.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    #: SHA-256 of the link's token; a new token with every save (the older link dies).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The form's fields by name, each a list of the values sent (as a browser posts
    #: them), so the form is filled again exactly as it was.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: After this the link is refused and the retention job deletes the row.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
