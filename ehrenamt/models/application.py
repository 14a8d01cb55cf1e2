"""Applications for a card, the engagements they claim, and uploaded proofs."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ehrenamt.cardformat.card_type import CardType
from ehrenamt.models.base import Base, UTCDateTime, enum_column, utcnow
from ehrenamt.models.office import Office, Qualification
from ehrenamt.models.user import User
from ehrenamt.workflow import OPEN_STATES, ApplicationState


class ConfirmationState(enum.StrEnum):
    """The organisation's answer on one engagement."""

    #: Not asked yet (the applicant has not confirmed their e-mail).
    NOT_SENT = "not_sent"
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    #: A clerk decided in the organisation's place, with a note.
    OVERRIDDEN = "overridden"


ANSWERED_CONFIRMATION_STATES = frozenset(
    {ConfirmationState.CONFIRMED, ConfirmationState.DECLINED, ConfirmationState.OVERRIDDEN}
)


class RejectionReason(enum.StrEnum):
    """Why an application was rejected; the clerk adds free text."""

    TOO_FEW_HOURS = "too_few_hours"
    TOO_SHORT = "too_short"
    TOO_YOUNG = "too_young"
    PAID = "paid"
    PLACE = "place"
    NOT_CONFIRMED = "not_confirmed"
    NO_ANSWER = "no_answer"
    OTHER = "other"


_open_states_sql = ", ".join(f"'{s.value}'" for s in sorted(OPEN_STATES))


def _open_only(name: str, *columns: str, unique: bool = False) -> Index:
    """An index over the open applications only (partial, on PostgreSQL and SQLite)."""
    where = text(f"state IN ({_open_states_sql})")
    return Index(name, *columns, unique=unique, postgresql_where=where, sqlite_where=where)


class Application(Base):
    """One person's application for a card at one office."""

    __tablename__ = "application"
    __table_args__ = (
        # The clerk's queue: scoped to an office, filtered by state, oldest first.
        Index("ix_application_queue", "office_id", "state", "state_changed_at", "id"),
        # The default queue lists the open applications, which are the recent ones: an
        # index over all rows would walk past every decided application first
        # (bench/queue.py measured ~1 s at 1M rows, ~6 ms with these partial indexes).
        _open_only("ix_application_open_waiting", "office_id", "state_changed_at", "id"),
        _open_only(
            "ix_application_open_card_type", "office_id", "card_type", "state_changed_at", "id"
        ),
        # At most one open application per person and office, whatever the race.
        _open_only(
            "uq_application_one_open_per_applicant", "applicant_id", "office_id", unique=True
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random and unguessable; used in URLs instead of the database id.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    #: Random value the form carried; a second POST of the same form (double click)
    #: finds the first application instead of creating another.
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    state: Mapped[ApplicationState] = mapped_column(enum_column(ApplicationState, 30))
    #: Incremented on every change; a clerk's action names the version it saw, and two
    #: clerks acting at once cannot both win.
    version: Mapped[int] = mapped_column(default=1)
    #: The ORM adds "AND version = <the version read>" to every UPDATE and raises if no
    #: row matched, so of two clerks acting at once only one can win.
    __mapper_args__ = {"version_id_col": version}
    card_type: Mapped[CardType] = mapped_column(enum_column(CardType, 20))

    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    #: "first last" in lower case, for the clerk's name search.
    search_name: Mapped[str] = mapped_column(String(201))
    birth_date: Mapped[date]
    street: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(10))
    town: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))

    #: A qualification that replaces the hours test, if claimed.
    qualification: Mapped[Qualification | None] = mapped_column(enum_column(Qualification, 30))
    #: For a long-service card: the state honour claimed instead of 25 years, if any.
    honour: Mapped[str | None] = mapped_column(String(200))

    #: Version of the privacy notice the applicant consented to, and when.
    consent_version: Mapped[str] = mapped_column(String(40))
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The version of the office's generated privacy notice (privacy.notice) the
    #: applicant was given; None for applications made before notices were versioned.
    privacy_notice_id: Mapped[int | None] = mapped_column(ForeignKey("privacy_notice.id"))

    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When the state last changed: the queue sorts by how long it has waited.
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    rejection_reason: Mapped[RejectionReason | None] = mapped_column(
        enum_column(RejectionReason, 30)
    )
    #: The clerk's words to the applicant when rejecting.
    rejection_text: Mapped[str | None] = mapped_column(Text)
    #: The clerk's latest question and the applicant's latest answer.
    information_request: Mapped[str | None] = mapped_column(Text)
    information_answer: Mapped[str | None] = mapped_column(Text)
    #: The clerk who typed in a paper application; None when the applicant applied online.
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    office: Mapped[Office] = relationship()
    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id])
    engagements: Mapped[list[Engagement]] = relationship(
        back_populates="application", order_by="Engagement.id", cascade="all, delete-orphan"
    )
    uploads: Mapped[list[Upload]] = relationship(back_populates="application", order_by="Upload.id")

    @property
    def full_name(self) -> str:
        """Name as the applicant gave it."""
        return f"{self.first_name} {self.last_name}"

    @property
    def is_open(self) -> bool:
        """Not yet decided or withdrawn."""
        return self.state in OPEN_STATES


class Engagement(Base):
    """One organisation's engagement claimed in an application, and its confirmation."""

    __tablename__ = "engagement"
    __table_args__ = (
        Index("ix_engagement_application", "application_id"),
        # The clerk filters by organisation prefix (LIKE 'x%'); pattern ops make the
        # index usable for that whatever the database's collation.
        Index(
            "ix_engagement_organisation",
            "organisation_key",
            "application_id",
            postgresql_ops={"organisation_key": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"))
    organisation_name: Mapped[str] = mapped_column(String(200))
    #: Lower-cased organisation name, for the clerk's filter.
    organisation_key: Mapped[str] = mapped_column(String(200))
    #: Postcode where the engagement takes place, for the place rule; optional.
    organisation_postcode: Mapped[str | None] = mapped_column(String(10))
    contact_name: Mapped[str] = mapped_column(String(200))
    #: None for an organisation without an address (paper applications): the clerk then
    #: records its confirmation with a note instead of a link being mailed.
    contact_email: Mapped[str | None] = mapped_column(String(254))
    activity: Mapped[str] = mapped_column(String(300))
    #: Claimed hours; one of the two is given.
    hours_per_week: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    hours_per_year: Mapped[int | None]
    engaged_since: Mapped[date]
    #: Yearly allowance in euros; 0 if unpaid.
    allowance_euros_per_year: Mapped[int] = mapped_column(default=0)

    confirmation_state: Mapped[ConfirmationState] = mapped_column(
        enum_column(ConfirmationState, 20), default=ConfirmationState.NOT_SENT
    )
    #: SHA-256 of the secret link's token; the token itself is only in the e-mail.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    request_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminder_count: Mapped[int] = mapped_column(default=0)
    #: What the organisation (or the overriding clerk) answered.
    confirmed_hours_per_week: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    confirmed_hours_per_year: Mapped[int | None]
    answer_comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    application: Mapped[Application] = relationship(back_populates="engagements")

    @property
    def hours_confirmed(self) -> bool:
        """Whether the answer gave hours: then they replace the claimed ones, both of them."""
        return self.confirmation_state in ANSWERED_CONFIRMATION_STATES and (
            self.confirmed_hours_per_week is not None or self.confirmed_hours_per_year is not None
        )

    @property
    def effective_hours_per_week(self) -> Decimal | None:
        """Hours per week as confirmed, or as claimed if not (yet) confirmed."""
        return self.confirmed_hours_per_week if self.hours_confirmed else self.hours_per_week

    @property
    def effective_hours_per_year(self) -> int | None:
        """Hours per year as confirmed, or as claimed if not (yet) confirmed."""
        return self.confirmed_hours_per_year if self.hours_confirmed else self.hours_per_year


class Upload(Base):
    """A proof uploaded with an application, stored outside the web root."""

    __tablename__ = "upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: None while the form that carried it has not been submitted successfully.
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    #: Random token the form carries to refer to an upload made in an earlier, failed
    #: submission, so the applicant does not have to upload again.
    claim_token: Mapped[str] = mapped_column(String(64), unique=True)
    #: Random file name in the upload folder.
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    #: The name the applicant's file had, for display only.
    original_name: Mapped[str] = mapped_column(String(255))
    #: Detected from the bytes, never taken from the browser.
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application | None] = relationship(back_populates="uploads")
