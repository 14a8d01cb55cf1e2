"""Figures kept so a page need not aggregate every row on every visit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ehrenamt.models.base import Base, UTCDateTime


class StatisticsSnapshot(Base):
    """The statistics of one office (or a set of offices), as last computed.

    Retention: one row per set of offices, overwritten when it is older than
    ``STATISTICS_MAX_AGE_SECONDS`` and read again; it holds counts, no personal data
    but partners' names, so it needs no deletion period of its own.
    """

    __tablename__ = "statistics_snapshot"

    #: The offices' ids, sorted and joined by commas ("3" or "1,2,5").
    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The figures as JSON (ehrenamt.insight.statistics.Statistics).
    payload: Mapped[str] = mapped_column(Text)
