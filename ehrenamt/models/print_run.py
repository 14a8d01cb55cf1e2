"""Print runs: cards with their cover letters in one PDF, printed and posted by staff."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ehrenamt.models.base import Base, UTCDateTime, enum_column, utcnow
from ehrenamt.models.card import Card


class PrintLayout(enum.StrEnum):
    """How the cards are laid out."""

    #: Ten cards on an A4 sheet with crop marks, fronts then backs (duplex, mirrored).
    SHEET = "sheet"
    #: One card per ID-1 page, front and back, for card printers.
    CARD_PRINTER = "card_printer"


class PrintRunState(enum.StrEnum):
    """queued → ready (or failed) → posted."""

    QUEUED = "queued"
    READY = "ready"
    FAILED = "failed"
    POSTED = "posted"


class PrintRun(Base):
    """One print PDF of an office's cards, each with its cover letter.

    Retention: the PDF bytes (every holder's name and address) are dropped once staff
    confirm the run was posted; the retention job deletes the row with its card list
    ``PRINT_RUN_RETENTION_DAYS`` after it was posted or failed, or after it was made if
    nobody confirmed it posted (the card keeps its own ``posted_at``). A run whose card
    is deleted loses its PDF at once (privacy.deletion).
    """

    __tablename__ = "print_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    layout: Mapped[PrintLayout] = mapped_column(enum_column(PrintLayout, 20))
    state: Mapped[PrintRunState] = mapped_column(enum_column(PrintRunState, 20))
    #: Cards in the run, and how many the worker has laid out so far (the progress).
    size: Mapped[int]
    done: Mapped[int] = mapped_column(default=0)
    pages: Mapped[int | None]
    #: The print PDF, until the run is posted.
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Why the worker could not make the PDF (for staff; never personal data).
    error: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    cards: Mapped[list[PrintRunCard]] = relationship(
        back_populates="print_run", order_by="PrintRunCard.position", cascade="all, delete-orphan"
    )


class PrintRunCard(Base):
    """A card in a print run, in print order."""

    __tablename__ = "print_run_card"
    __table_args__ = (Index("ix_print_run_card_card", "card_id"),)

    print_run_id: Mapped[int] = mapped_column(
        ForeignKey("print_run.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id", ondelete="CASCADE"))

    print_run: Mapped[PrintRun] = relationship(back_populates="cards")
    card: Mapped[Card] = relationship()
