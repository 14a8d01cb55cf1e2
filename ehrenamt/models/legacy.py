"""Imports of cards a town issued before it used this service (paper cards)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ehrenamt.models.base import Base, UTCDateTime, enum_column, utcnow


class LegacyImportState(enum.StrEnum):
    """checked → importing → done, or failed."""

    #: The dry run found no error; waiting for the clerk to confirm.
    CHECKED = "checked"
    #: Confirmed; a worker imports it in batches.
    IMPORTING = "importing"
    DONE = "done"
    #: The worker gave up (the file changed its mind: a line no longer imports).
    FAILED = "failed"


class LegacyImport(Base):
    """One uploaded file of old cards, and how far its import has come.

    Retention: the file's bytes hold personal data and are deleted (``content`` set to
    None) when the import is done or failed; the row itself holds only counts and is
    kept as long as the audit log (it says where the office's imported cards came from).
    A checked file that nobody confirmed goes with its row after
    ``UNCLAIMED_UPLOAD_MAX_AGE_HOURS`` (like an unclaimed upload; the retention job).
    """

    __tablename__ = "legacy_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random and unguessable; in URLs instead of the database id.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The name the clerk's file had, for display only.
    original_name: Mapped[str] = mapped_column(String(255))
    #: "csv" or "xlsx", detected from the bytes.
    file_kind: Mapped[str] = mapped_column(String(10))
    #: The file as uploaded, until the import is over.
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[LegacyImportState] = mapped_column(enum_column(LegacyImportState, 20))
    #: Lines of cards in the file (without the header).
    total_rows: Mapped[int]
    #: Lines the worker has gone through (progress).
    processed_rows: Mapped[int] = mapped_column(default=0)
    #: Cards created; lines whose number was imported before are skipped.
    created_cards: Mapped[int] = mapped_column(default=0)
    skipped_rows: Mapped[int] = mapped_column(default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Why the worker gave up, for staff (no personal data: line numbers and reasons).
    failure: Mapped[str | None] = mapped_column(Text)
