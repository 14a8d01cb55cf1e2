"""A volunteer's rights over their data: exports (DSGVO Art. 15/20) and corrections
(Art. 16)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
    the request, 7 days by default); the job ``ehrenamt.delete_expired_exports`` then
    deletes the file and the row. A file is never kept longer than its row.
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
