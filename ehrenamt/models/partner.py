"""Partners (Akzeptanzstellen), their benefits, API keys, and the card checks they make."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ehrenamt.models.base import Base, UTCDateTime, enum_column, utcnow
from ehrenamt.models.card import Card
from ehrenamt.models.office import Office
from ehrenamt.models.user import User


class Category(Base):
    """A kind of business in the directory; data, not code (the Bavarian ten to start)."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    #: The name in English, for the English pages.
    name_en: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)


class PartnerState(enum.StrEnum):
    """A partner registers itself; staff of its office approve or decline it."""

    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class Partner(Base):
    """A business or institution that grants benefits to card holders."""

    __tablename__ = "partner"
    __table_args__ = (
        # The staff's list of registrations to decide, per office.
        Index("ix_partner_office_state", "office_id", "state", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random; in URLs instead of the database id.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    #: The office in whose area the partner is; its staff approve it.
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    state: Mapped[PartnerState] = mapped_column(enum_column(PartnerState, 20))
    name: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    street: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(10), index=True)
    town: Mapped[str] = mapped_column(String(100))
    #: Coordinates when known (WGS 84), for sorting the directory by distance.
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    website: Mapped[str | None] = mapped_column(String(300))
    #: The partner's public contact (shown in the directory).
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Why staff declined the registration, told to the partner.
    decline_reason: Mapped[str | None] = mapped_column(Text)
    #: When the partner used the link mailed to ``email``; the directory lists only
    #: partners whose address is proven (staff's imports count as confirmed).
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    office: Mapped[Office] = relationship()
    category: Mapped[Category] = relationship()
    benefits: Mapped[list[Benefit]] = relationship(
        back_populates="partner", order_by="Benefit.id", cascade="all, delete-orphan"
    )


class Benefit(Base):
    """What a partner grants card holders (e.g. "10 % off the entrance fee")."""

    __tablename__ = "benefit"
    __table_args__ = (
        # The directory lists published benefits by category and place.
        Index("ix_benefit_directory", "published", "category_id", "postcode", "id"),
        # The directory pages by partner: whether a partner has a matching benefit, and
        # the benefits of a page's partners, are looked up by partner.
        Index("ix_benefit_partner", "partner_id", "published"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    #: Shown in the public directory: the partner is approved, the partner has not
    #: withdrawn it and staff have not unpublished it. Kept in step by the services.
    published: Mapped[bool] = mapped_column(default=False)
    #: Staff took it off the directory (with a note); the partner cannot republish it.
    unpublished_by_staff: Mapped[bool] = mapped_column(default=False)
    unpublish_note: Mapped[str | None] = mapped_column(Text)
    #: Copies of the partner's category and postcode, so the directory query needs no
    #: join to filter (kept in step by the services).
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    postcode: Mapped[str] = mapped_column(String(10))
    #: Title, description, conditions, partner name and town folded for the text search
    #: (core.text.searchable_text: "Bäckerei Roßlau" is stored as "baeckerei rosslau
    #: backerei"), so a query folded the same way finds it on every database.
    search_text: Mapped[str] = mapped_column(Text, default="")
    #: The partner's town folded the same way, after a space (" dessau rosslau"), for the
    #: directory's place filter: a town matches from the start of any of its words.
    place_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="benefits")


class PartnerMember(Base):
    """A partner account (role partner) working for one partner; the first registered it."""

    __tablename__ = "partner_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: An account works for one partner only.
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), unique=True
    )
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), index=True
    )
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    partner: Mapped[Partner] = relationship()


class ApiKey(Base):
    """A till system's key. Only a hash is stored; the key is shown once."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), index=True
    )
    #: The key's first characters, stored in the clear to find it and to show it.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    #: SHA-256 of the whole key (it is long and random: no slow hash needed).
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    partner: Mapped[Partner] = relationship()


class VerificationChannel(enum.StrEnum):
    """Where a card was checked."""

    #: The partner's verification page (camera or typed number).
    PAGE = "page"
    #: A till system through the API.
    API = "api"
    #: The public page a phone's camera opens (no partner).
    PUBLIC = "public"


class Verification(Base):
    """One online check of a card; kept only a short period (VERIFICATION_RETENTION)."""

    __tablename__ = "verification"
    __table_args__ = (
        Index("ix_verification_partner", "partner_id", "at"),
        Index("ix_verification_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: None for the public check.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id", ondelete="SET NULL"))
    channel: Mapped[VerificationChannel] = mapped_column(enum_column(VerificationChannel, 10))
    #: valid, expired, revoked, unknown, invalid (services.cards.CheckStatus).
    result: Mapped[str] = mapped_column(String(10))
    #: The card checked, if it is one of ours. Indexed: deleting a card's data (privacy)
    #: detaches its records, which would otherwise scan them all.
    card_id: Mapped[int | None] = mapped_column(
        ForeignKey("card.id", ondelete="SET NULL"), index=True
    )
    #: The benefit the partner recorded as given, if any.
    benefit_id: Mapped[int | None] = mapped_column(ForeignKey("benefit.id", ondelete="SET NULL"))

    partner: Mapped[Partner | None] = relationship()
    card: Mapped[Card | None] = relationship()
    benefit: Mapped[Benefit | None] = relationship()
