"""An office's statistics: applications, decision times, open work, cards and checks.

:func:`compute` runs the aggregate queries (months are calendar months in UTC; the last
twelve, this one included). A page reads :func:`current`, which keeps the result as a
snapshot for ``STATISTICS_MAX_AGE_SECONDS``: the aggregates read every application, and
a page must not do that on every visit (bench/insight.py).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Integer, cast, func, select
from sqlalchemy.exc import IntegrityError

from ehrenamt.cards import validity
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    Card,
    CardState,
    Office,
    Partner,
    StatisticsSnapshot,
    Verification,
    utcnow,
)
from ehrenamt.workflow import FINAL_STATES, OPEN_STATES, ApplicationState

#: Months shown, this one included.
MONTHS = 12
#: Cards "ending soon" end within this many days from today.
ENDING_WITHIN_DAYS = 90
#: Partners in the list of the most used.
TOP_PARTNERS = 20
#: The outcome of an application still open, beside the final states.
OPEN = "open"
#: Longest snapshot key kept as the plain list of ids (the column's length).
SCOPE_LENGTH = 200
#: Outcomes, in the order charts stack them.
OUTCOMES = (
    ApplicationState.APPROVED.value,
    ApplicationState.REJECTED.value,
    ApplicationState.WITHDRAWN.value,
    OPEN,
)


@dataclass
class Statistics:
    """Every figure of the statistics page, as plain data (stored as JSON)."""

    computed_at: str
    #: "YYYY-MM", oldest first.
    months: list[str]
    #: month → outcome → applications submitted that month.
    applications: dict[str, dict[str, int]]
    #: Applications approved or rejected in the months shown, and their days from
    #: submission to decision (None without any).
    decided: int
    median_days: float | None
    p90_days: float | None
    open_by_state: dict[str, int]
    waiting_days: int
    #: Open applications submitted more than ``waiting_days`` days ago.
    waiting_longer: int
    active_cards: dict[str, int]
    ending_soon: int
    #: month → result → checks by the offices' partners.
    checks: dict[str, dict[str, int]]
    #: (partner name, checks), most used first.
    top_partners: list[tuple[str, int]] = field(default_factory=list)


def month_starts(today: date, count: int = MONTHS) -> list[date]:
    """The first days of the last ``count`` months, oldest first, ``today``'s last."""
    year, month = today.year, today.month
    starts = []
    for _ in range(count):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _month_of(column: Any) -> ColumnElement[str]:
    """A timestamp's calendar month in UTC, "YYYY-MM"."""
    if _is_postgresql():
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _hours_between(start: Any, end: Any) -> ColumnElement[int]:
    """Whole hours from ``start`` to ``end``."""
    if _is_postgresql():
        return cast(func.floor(func.extract("epoch", end - start) / 3600), Integer)
    # julianday is a float: a hair added keeps 24.0 hours from becoming 23.
    return cast((func.julianday(end) - func.julianday(start)) * 24 + 1e-6, Integer)


def percentile(histogram: dict[int, int], share: float) -> int | None:
    """The nearest-rank percentile of values given as ``{value: how many}``: the smallest
    value with at least ``share`` of all values at or below it."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, math.ceil(share * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return None  # pragma: no cover - the loop reaches rank


def compute(
    office_ids: Collection[int], today: date, waiting_days: int, now: datetime | None = None
) -> Statistics:
    """The offices' statistics as of ``today`` (and the moment ``now``, for the waiting)."""
    now = now or utcnow()
    ids = list(office_ids)
    months = month_starts(today)
    since = datetime.combine(months[0], datetime.min.time(), tzinfo=UTC)
    labels = [start.strftime("%Y-%m") for start in months]

    applications = {month: dict.fromkeys(OUTCOMES, 0) for month in labels}
    month = _month_of(Application.submitted_at)
    for found_month, state, count in db.session.execute(
        select(month, Application.state, func.count())
        .where(Application.office_id.in_(ids), Application.submitted_at >= since)
        .group_by(month, Application.state)
    ):
        outcome = state.value if state in FINAL_STATES else OPEN
        if found_month in applications:
            applications[found_month][outcome] += int(count)

    hours = _hours_between(Application.submitted_at, Application.decided_at)
    histogram = {
        int(value): int(count)
        for value, count in db.session.execute(
            select(hours, func.count())
            .where(
                Application.office_id.in_(ids),
                Application.state.in_([ApplicationState.APPROVED, ApplicationState.REJECTED]),
                Application.decided_at >= since,
            )
            .group_by(hours)
        )
    }
    median, p90 = percentile(histogram, 0.5), percentile(histogram, 0.9)

    open_by_state = {state.value: 0 for state in ApplicationState if state in OPEN_STATES}
    for state, count in db.session.execute(
        select(Application.state, func.count())
        .where(Application.office_id.in_(ids), Application.state.in_(list(OPEN_STATES)))
        .group_by(Application.state)
    ):
        open_by_state[state.value] = int(count)
    waiting_since = now - timedelta(days=waiting_days)
    waiting_longer = db.session.scalar(
        select(func.count()).where(
            Application.office_id.in_(ids),
            Application.state.in_(list(OPEN_STATES)),
            Application.submitted_at < waiting_since,
        )
    )

    active_cards = {
        card_type.value: int(count)
        for card_type, count in db.session.execute(
            select(Card.card_type, func.count())
            .where(Card.office_id.in_(ids), Card.state == CardState.ACTIVE)
            .group_by(Card.card_type)
        )
    }
    ending_soon = db.session.scalar(
        select(func.count()).where(
            Card.office_id.in_(ids),
            Card.state == CardState.ACTIVE,
            Card.valid_until >= today,
            Card.valid_until <= today + timedelta(days=ENDING_WITHIN_DAYS),
        )
    )

    checks: dict[str, dict[str, int]] = {month: {} for month in labels}
    check_month = _month_of(Verification.at)
    office_checks = (
        select(check_month.label("month"), Verification.result, Partner.name, Partner.id)
        .join(Partner, Partner.id == Verification.partner_id)
        .where(Partner.office_id.in_(ids), Verification.at >= since)
        .subquery()
    )
    for found_month, result, count in db.session.execute(
        select(office_checks.c.month, office_checks.c.result, func.count()).group_by(
            office_checks.c.month, office_checks.c.result
        )
    ):
        if found_month in checks:
            checks[found_month][result] = int(count)
    top = db.session.execute(
        select(office_checks.c.name, func.count().label("checks"))
        .group_by(office_checks.c.id, office_checks.c.name)
        .order_by(func.count().desc(), office_checks.c.name)
        .limit(TOP_PARTNERS)
    )

    return Statistics(
        computed_at=now.isoformat(),
        months=labels,
        applications=applications,
        decided=sum(histogram.values()),
        median_days=None if median is None else round(median / 24, 1),
        p90_days=None if p90 is None else round(p90 / 24, 1),
        open_by_state=open_by_state,
        waiting_days=waiting_days,
        waiting_longer=int(waiting_longer or 0),
        active_cards=active_cards,
        ending_soon=int(ending_soon or 0),
        checks=checks,
        top_partners=[(name, int(count)) for name, count in top],
    )


def _scope(office_ids: Collection[int]) -> str:
    """The snapshot's key: the offices' ids, sorted; a digest of them when that list
    outgrows the column (a programme of many offices)."""
    scope = ",".join(str(office_id) for office_id in sorted(set(office_ids)))
    if len(scope) <= SCOPE_LENGTH:
        return scope
    return "sha256:" + hashlib.sha256(scope.encode()).hexdigest()


def current(office_ids: Collection[int]) -> Statistics:
    """The offices' statistics, from the snapshot if it is young enough (and was computed
    with today's waiting days), else computed now and kept."""
    config = current_app.config
    snapshot = db.session.get(StatisticsSnapshot, _scope(office_ids))
    fresh_after = utcnow() - timedelta(seconds=float(config["STATISTICS_MAX_AGE_SECONDS"]))
    if snapshot is not None and snapshot.computed_at > fresh_after:
        stored = Statistics(**json.loads(snapshot.payload))
        if stored.waiting_days == int(config["STATISTICS_WAITING_DAYS"]):
            stored.top_partners = [(name, count) for name, count in stored.top_partners]
            return stored
    return refresh(office_ids)


def refresh(office_ids: Collection[int]) -> Statistics:
    """Compute the offices' statistics now, keep them as their snapshot, and commit."""
    scope = _scope(office_ids)
    waiting_days = int(current_app.config["STATISTICS_WAITING_DAYS"])
    statistics = compute(office_ids, validity.today(), waiting_days)
    payload = json.dumps(asdict(statistics))
    snapshot = db.session.get(StatisticsSnapshot, scope)
    if snapshot is None:
        db.session.add(StatisticsSnapshot(scope=scope, computed_at=utcnow(), payload=payload))
    else:
        snapshot.computed_at, snapshot.payload = utcnow(), payload
    try:
        db.session.commit()
    except IntegrityError:
        # Another process stored the same scope meanwhile: its figures are as good.
        db.session.rollback()
    return statistics


def every_office() -> set[int]:
    """The ids of every office of the programme (the programme administrator's scope)."""
    return set(db.session.scalars(select(Office.id)))


def refresh_every_office() -> int:
    """Periodic: keep every office's figures fresh, and the whole programme's, so no
    visitor waits for the aggregates (they take seconds at a million applications).
    Returns the offices."""
    office_ids = sorted(every_office())
    for office_id in office_ids:
        refresh({office_id})
    if len(office_ids) > 1:
        refresh(office_ids)
    return len(office_ids)
