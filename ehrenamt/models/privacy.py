"""What data protection itself keeps: revoked numbers of deleted cards."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ehrenamt.models.base import Base, UTCDateTime, utcnow


class RetainedRevocation(Base):
    """The number of a revoked card whose data was deleted (retention or a person's
    erasure), kept so offline verifiers still refuse it: no name, no holder, no link.

    A row lives until the card's validity has passed (the retention job then deletes it);
    a long-service card has no end, so its number stays on the list.
    """

    __tablename__ = "retained_revocation"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The card number as printed (canonical, with its check character).
    number: Mapped[str] = mapped_column(String(16), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    #: The deleted card's last day of validity; None for a long-service card.
    valid_until: Mapped[date | None] = mapped_column(index=True)
    #: The id of the card's revocation row in the audit log: the revocation list's
    #: version, so a verifier's "changes since" still finds the number.
    revocation_version: Mapped[int] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
