"""A volunteer's rights over their data: exports (DSGVO Art. 15/20) and corrections
(Art. 16)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ehrenamt.models.application import Application
from ehrenamt.models.base import Base, UTCDateTime, enum_column, utcnow
from ehrenamt.models.user import User


class ExportState(enum.StrEnum):
    """pending (a worker builds it) → ready, or failed."""

    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class DataExport(Base):
    """A ZIP of everything stored about one volunteer, built on their request.

    Retention: a row and its file live until ``expires_at`` (``EXPORT_MAX_AGE_DAYS`` after
    the request, 7 days by default); the retention job (``privacy.retention``) then
    deletes the row and, after its commit, the file. A file is never kept longer than its row.
    """

    __tablename__ = "data_export"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random and unguessable; in the download URL instead of the database id.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[ExportState] = mapped_column(enum_column(ExportState, 10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: After this the download is refused and the job deletes the file and the row.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: Random file name in EXPORT_FOLDER; None until the ZIP is written.
    stored_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    size: Mapped[int | None]

    user: Mapped[User] = relationship()


class EmailChange(Base):
    """A volunteer's new e-mail address, waiting for the link mailed to it; once used,
    the address it replaced.

    Only the SHA-256 of the link's token is stored. Retention: an unused row lives until
    it expires (``EMAIL_CHANGE_MAX_AGE_HOURS``, 24 by default) and a day more, so the
    page can still say "expired"; a new request replaces it. A used row keeps the old
    address as long as mails sent to it can still be stored (``SENT_MAIL_RETENTION_DAYS``
    after the change, and a day more): the export finds them by that address, and an
    erasure deletes them. The retention job (``privacy.retention``) then deletes it.
    """

    __tablename__ = "email_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    #: Lower-cased, as every address is stored.
    new_email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The address the change replaced, set when the link is used: mails sent to the
    #: person before the change went there (lower-cased, as every address is stored).
    old_email: Mapped[str | None] = mapped_column(String(254))


class NameChangeState(enum.StrEnum):
    """pending → applied or declined (by staff of the application's office)."""

    PENDING = "pending"
    APPLIED = "applied"
    DECLINED = "declined"


class NameChangeRequest(Base):
    """A volunteer asks the office to change their name (it is printed on the card and
    signed into its code, so staff decide, e.g. after seeing a document).

    Retention: a pending request lives with its application (deleted with it); a decided
    one is deleted ``NAME_CHANGE_RETENTION_DAYS`` (180 by default) after the decision by
    the retention job (``privacy.retention``); the audit log keeps that it happened.
    """

    __tablename__ = "name_change_request"
    __table_args__ = (Index("ix_name_change_request_office", "office_id", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    #: The application's office, so staff find their office's requests by an index.
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    state: Mapped[NameChangeState] = mapped_column(enum_column(NameChangeState, 10))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    #: The volunteer's words (e.g. "married"); optional.
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    #: Why staff declined, shown to the volunteer.
    decline_reason: Mapped[str | None] = mapped_column(Text)

    application: Mapped[Application] = relationship()
