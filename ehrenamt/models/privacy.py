"""What data protection itself keeps: revoked numbers of deleted cards, and counts of
what was deleted (no personal data in any of them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
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


class DeletionCount(Base):
    """How many rows of a kind the retention job (or an erasure) deleted for an office
    in a month: the admin's deletion report. Counts only, no personal data; a row lives
    three years (privacy.report.REPORT_KEPT_MONTHS), then the job deletes it."""

    __tablename__ = "deletion_count"
    __table_args__ = (UniqueConstraint("office_id", "kind", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: None for kinds of no office (unclaimed uploads, links, sent mails).
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"), index=True)
    #: privacy.retention.DeletionKind's value.
    kind: Mapped[str] = mapped_column(String(40))
    #: The first day of the month (UTC) the rows were deleted in.
    month: Mapped[date]
    count: Mapped[int] = mapped_column(default=0)


class RetentionRun(Base):
    """One run of the retention job, for the report's "last run" and "next run". A row
    lives 90 days (privacy.report.RUNS_KEPT_DAYS), then the job deletes it."""

    __tablename__ = "retention_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Rows deleted by the run, all kinds together.
    deleted: Mapped[int] = mapped_column(default=0)


class PrivacyNotice(Base):
    """One version of an office's privacy notice, generated from its periods and its
    controller and contact. A new version is made whenever these change; old ones stay
    readable, and each application names the version it was given. Rows live as long as
    the office: an application's consent refers to them, and they hold no personal data.
    """

    __tablename__ = "privacy_notice"
    __table_args__ = (UniqueConstraint("office_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    #: 1, 2, … per office.
    version: Mapped[int]
    #: What the notice states (periods, controller, contact), to show it in any language
    #: and to see whether a change needs a new version.
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The notice as it was published, in German (the source language), as HTML.
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
