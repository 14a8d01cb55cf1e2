"""The audit log: every state transition and every staff decision."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ehrenamt.models.base import Base, UTCDateTime, utcnow
from ehrenamt.models.user import User


class AuditEntry(Base):
    """One transition: who, when, from, to, why. Never updated or deleted by the app."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_subject", "subject_type", "subject_id", "id"),
        # The office's audit page: newest first, paged.
        Index("ix_audit_entry_office", "office_id", "id"),
        # Its filters, newest first, so a rare action, kind or actor is found without
        # reading every row of the office, and a date range without reading the newer
        # rows (bench/audit.py; migration 0019).
        Index("ix_audit_entry_office_action", "office_id", "action", "id"),
        Index("ix_audit_entry_office_subject_type", "office_id", "subject_type", "id"),
        Index("ix_audit_entry_office_actor", "office_id", "actor_id", "id"),
        Index("ix_audit_entry_office_at", "office_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The signed-in person who acted; None for the system and organisation contacts.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: Role of the actor (applicant, organisation, clerk, admin, system).
    actor_role: Mapped[str] = mapped_column(String(20))
    #: Who it was, readable without a join (an organisation's name, "system").
    actor_label: Mapped[str] = mapped_column(String(254))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"))
    #: What changed: e.g. "application" and its id.
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship()
