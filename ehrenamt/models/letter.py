"""Letters to print: the notices of people without e-mail, in their office's outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ehrenamt.models.base import Base, UTCDateTime, utcnow
from ehrenamt.models.office import Office
from ehrenamt.models.user import User


class Letter(Base):
    """One notice as a letter, waiting to be printed and posted by the office.

    Retention: a row lives until it is printed and then ``LETTER_RETENTION_DAYS`` (90)
    more (long enough to print a lost letter again), when the retention job deletes it;
    it goes earlier with its application or card (database cascade) or its recipient.
    The text is kept as written, so a reprint shows what was sent, not what the
    application says today.
    """

    __tablename__ = "letter"
    __table_args__ = (
        # The staff page: an office's letters waiting, oldest first.
        Index("ix_letter_waiting", "office_id", "printed_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    #: The application or card the notice is about, for the staff page's links.
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    card_id: Mapped[int | None] = mapped_column(ForeignKey("card.id", ondelete="CASCADE"))
    #: The e-mail template the notice would have used ("application_status", …).
    kind: Mapped[str] = mapped_column(String(40))
    #: The recipient's language when written: subject and body are in it.
    language: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    #: The window-envelope address as printed, one line each (name, street, town).
    address: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Set when staff mark the letter printed; None while it waits.
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    printed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    office: Mapped[Office] = relationship()
    recipient: Mapped[User] = relationship(foreign_keys=[recipient_id])

    @property
    def address_lines(self) -> list[str]:
        """The address as lines for the window field."""
        return [line for line in self.address.splitlines() if line.strip()]
