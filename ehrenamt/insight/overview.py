"""The programme's offices side by side: one row of figures per office.

Read from each office's statistics snapshot (:func:`ehrenamt.insight.statistics.current`),
which the periodic job keeps fresh: the same figures as the office's statistics page,
and no aggregate over a million applications while the page waits (counting them live
took a second per visit in bench/insight.py).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ehrenamt.insight import statistics


@dataclass(frozen=True)
class OfficeFigures:
    """One office's row on the programme overview."""

    open_applications: int = 0
    active_cards: int = 0
    #: Open applications submitted more than the configured waiting days ago.
    waiting_longer: int = 0
    #: Checks by the office's partners in this calendar month (UTC).
    checks_this_month: int = 0


def office_figures(office_ids: Collection[int]) -> dict[int, OfficeFigures]:
    """Each office's figures as kept in its snapshot; every id given has a row."""
    rows = {}
    for office_id in office_ids:
        figures = statistics.current({office_id})
        this_month = figures.months[-1]
        rows[office_id] = OfficeFigures(
            open_applications=sum(figures.open_by_state.values()),
            active_cards=sum(figures.active_cards.values()),
            waiting_longer=figures.waiting_longer,
            checks_this_month=sum(figures.checks[this_month].values()),
        )
    return rows
