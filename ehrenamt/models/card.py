"""Cards: one per approval (plus replacements for lost ones), and their documents."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ehrenamt.models.application import Application, CardType
from ehrenamt.models.base import Base, UTCDateTime, enum_column, utcnow
from ehrenamt.models.office import Office
from ehrenamt.models.user import User


class CardState(enum.StrEnum):
    """issuing → active → expired, or revoked from any of them."""

    #: Approved; a worker is producing the signed token and the documents.
    ISSUING = "issuing"
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class RevocationReason(enum.StrEnum):
    """Why staff revoked a card."""

    LOST = "lost"
    MISUSE = "misuse"
    NOT_ELIGIBLE = "not_eligible"
    HOLDER_REQUEST = "holder_request"


class DocumentKind(enum.StrEnum):
    """The files a card comes as."""

    PDF = "pdf"
    PNG = "png"


class CardBatch(Base):
    """Cards a clerk had issued in one go; the batch page shows their progress."""

    __tablename__ = "card_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    size: Mapped[int]


class Card(Base):
    """A volunteer's card. The signed token and the documents are made by a worker."""

    __tablename__ = "card"
    __table_args__ = (
        # Exactly one card per approval, however often issuing runs: the first card of
        # an application is the one that replaces nothing. Replacements of a lost card
        # point to the card they replace, once each (unique replaces_id).
        Index(
            "uq_card_one_per_approval",
            "application_id",
            unique=True,
            postgresql_where=text("replaces_id IS NULL"),
            sqlite_where=text("replaces_id IS NULL"),
        ),
        # The register: an office's cards by state and expiry. The name search (any part
        # of the name) has a trigram index on PostgreSQL, made by the migration.
        Index("ix_card_register", "office_id", "state", "valid_until", "id"),
        # The lifecycle jobs: active cards by end of validity.
        Index("ix_card_expiry", "state", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random and unguessable; in URLs instead of the database id (never in the QR).
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    #: Canonical card number with its check character (see services/card_numbers.py).
    number: Mapped[str] = mapped_column(String(16), unique=True)
    #: For a card imported from the town's paper register: the number printed on the old
    #: card (canonical, see cardformat/legacy_numbers.py). ``number`` is the same until
    #: the card is first made here, which gives it a new number (the QR code signs only
    #: new ones); this column keeps the old one, so a check of it can answer.
    legacy_number: Mapped[str | None] = mapped_column(String(16), unique=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    holder_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    #: The lost card this one replaces.
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("card.id"), unique=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("card_batch.id"), index=True)

    state: Mapped[CardState] = mapped_column(enum_column(CardState, 20))
    #: The ORM adds "AND version = <read>" to every UPDATE: of two writers (two workers
    #: rendering, a clerk revoking while a worker renders) only one wins.
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    card_type: Mapped[CardType] = mapped_column(enum_column(CardType, 20))
    #: The name exactly as printed and as signed into the QR code.
    holder_name: Mapped[str] = mapped_column(String(201))
    #: Lower-cased name, for the register's search.
    search_name: Mapped[str] = mapped_column(String(201))
    valid_from: Mapped[date]
    #: Last day of validity; None for long-service cards (valid without end).
    valid_until: Mapped[date | None]

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When the current documents were made (the card became or stayed active).
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Raised whenever the documents must be made (again): issue, extend, re-issue. A
    #: worker makes them when ``rendered_generation`` is behind, so running the task
    #: twice makes them once.
    generation: Mapped[int] = mapped_column(default=1)
    rendered_generation: Mapped[int] = mapped_column(default=0)
    #: The signed COSE token in the QR code, and the id of the key that signed it.
    token: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(String(32))

    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revocation_reason: Mapped[RevocationReason | None] = mapped_column(
        enum_column(RevocationReason, 20)
    )
    revocation_note: Mapped[str | None] = mapped_column(Text)
    #: When staff confirmed the card was posted (in a print run); shown to the holder.
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the holder was reminded that the card runs out (once per validity).
    expiry_reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    application: Mapped[Application] = relationship()
    office: Mapped[Office] = relationship()
    holder: Mapped[User] = relationship()
    replaces: Mapped[Card | None] = relationship(remote_side=[id], foreign_keys=[replaces_id])
    documents: Mapped[list[CardDocument]] = relationship(
        back_populates="card", order_by="CardDocument.kind", cascade="all, delete-orphan"
    )

    def document(self, kind: DocumentKind) -> CardDocument | None:
        """The current PDF or PNG, if made."""
        return next((doc for doc in self.documents if doc.kind == kind), None)


class CardDocument(Base):
    """A card's PDF or PNG, stored in the database so every web process can serve it."""

    __tablename__ = "card_document"
    __table_args__ = (UniqueConstraint("card_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id", ondelete="CASCADE"))
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, 10))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    #: Which generation of the card these bytes show.
    generation: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    card: Mapped[Card] = relationship(back_populates="documents")
