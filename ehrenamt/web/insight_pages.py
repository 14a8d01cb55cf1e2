"""What the office admin's and the programme administrator's insight pages share: the
statistics as the page and its CSV show them, and the audit rows with their links.

Kept outside both blueprints so that neither imports the other.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date, datetime
from typing import Any

from flask import url_for
from flask_babel import format_date, format_decimal, format_number
from flask_babel import gettext as _

from ehrenamt.core.audit import AuditAction, Subject
from ehrenamt.insight import audit_log, statistics
from ehrenamt.labels import (
    CARD_TYPE_SHORT,
    CHECK_RESULT_LABELS,
    OUTCOME_LABELS,
    STATE_SHORT,
    action_words,
    change_words,
    subject_words,
)
from ehrenamt.models import CardType
from ehrenamt.verification.results import CheckStatus
from ehrenamt.web import charts
from ehrenamt.workflow import ApplicationState


def object_link(row: audit_log.AuditRow, *, programme: bool = False) -> str | None:
    """The page of the row's object, for a signed-in admin of the row's office.

    Every kind of object links (tests/test_audit_links.py); None only where the object
    is gone (deleted past its retention period, or erased) or is an account staff have
    no page for: a volunteer's (their applications link) or a partner's (its partner
    links), or, outside the programme's pages (``programme``), a programme
    administrator's (no office's staff).
    """
    entry = row.entry
    kind = entry.subject_type
    if kind == Subject.APPLICATION and row.public_id:
        return url_for("review.detail", public_id=row.public_id)
    if kind == Subject.CARD and row.public_id:
        return url_for("register.detail", public_id=row.public_id)
    if kind == Subject.PARTNER and row.public_id:
        return url_for("partner_admin.detail", public_id=row.public_id)
    if kind == Subject.LEGACY_IMPORT and row.public_id:
        return url_for("legacy.progress", public_id=row.public_id)
    if kind == Subject.USER and row.staff_member:
        return url_for("staff.detail", user_id=entry.subject_id)
    if kind == Subject.USER and row.programme_admin and programme:
        return url_for("programme.admin_detail", user_id=entry.subject_id)
    if kind == Subject.PROGRAMME_RULES:
        if entry.action == AuditAction.UPDATE_RETENTION:
            return url_for("admin.edit_retention")
        return url_for("admin.edit_rules")
    if kind == Subject.OFFICE:
        # Its settings; an export's row names the file and filters in its reason.
        return url_for("admin.edit_office")
    return None


def print_run_link(row: audit_log.AuditRow) -> str | None:
    """A card's posting in a print run also links the run (its public id is the reason)."""
    entry = row.entry
    if entry.subject_type == Subject.CARD and entry.action == AuditAction.POST and entry.reason:
        return url_for("letters.print_run", public_id=entry.reason)
    return None


def audit_header() -> list[str]:
    """The audit CSV's columns."""
    return [
        _("Zeit (UTC)"),
        _("Wer"),
        _("Rolle"),
        _("Aktion"),
        _("Art des Objekts"),
        _("Objekt"),
        _("Änderung"),
        _("Begründung"),
    ]


def audit_rows(
    office_ids: Collection[int], filters: audit_log.AuditFilter
) -> Iterator[list[object]]:
    """The filtered audit rows as CSV lines, streamed from the database.

    The words for an action, a kind of object and a change are translated once per
    export for each combination (the language stays the same throughout): translating
    them row by row took half of the export's time (bench/audit.py).
    """
    words: dict[tuple[str, str, str | None, str | None], tuple[str, str, str]] = {}
    for row in audit_log.stream_audit(office_ids, filters):
        entry = row.entry
        key = (entry.subject_type, entry.action, entry.from_state, entry.to_state)
        if key not in words:
            words[key] = (
                action_words(entry.subject_type, entry.action),
                subject_words(entry.subject_type),
                change_words(entry),
            )
        action, kind, change = words[key]
        yield [
            entry.at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.actor_label,
            entry.actor_role,
            action,
            kind,
            row.public_id or entry.subject_id,
            change,
            entry.reason,
        ]


def _month_label(month: str) -> str:
    """ "2026-03" as "März 26" / "Mar 26"."""
    year, number = month.split("-")
    return format_date(date(int(year), int(number), 1), "MMM yy")


def _axis_labels(months: list[str]) -> list[str]:
    """A chart's month labels: the year only under the first month and each January."""
    labels = []
    for index, month in enumerate(months):
        year, number = month.split("-")
        name = format_date(date(int(year), int(number), 1), "MMM")
        labels.append(f"{name}\n{year}" if index == 0 or number == "01" else name)
    return labels


def _days(value: float | None) -> str:
    return "–" if value is None else format_decimal(value, format="#,##0.0")


def _open_states(figures: statistics.Statistics) -> list[tuple[ApplicationState, int]]:
    return [(ApplicationState(key), count) for key, count in figures.open_by_state.items()]


def statistics_context(figures: statistics.Statistics) -> dict[str, Any]:
    """The statistics as the page shows them: labelled, formatted, charted."""
    months = [_month_label(month) for month in figures.months]
    axis = _axis_labels(figures.months)
    outcomes = [(key, str(OUTCOME_LABELS[key])) for key in statistics.OUTCOMES]
    results = [(status.value, str(CHECK_RESULT_LABELS[status])) for status in CheckStatus]
    applications = charts.stacked_columns(
        axis,
        [
            charts.Series(label, [figures.applications[m][key] for m in figures.months])
            for key, label in outcomes
        ],
        _("Anträge je Monat nach Ergebnis"),
    )
    checks = charts.stacked_columns(
        axis,
        [
            charts.Series(label, [figures.checks[m].get(key, 0) for m in figures.months])
            for key, label in results
        ],
        _("Prüfungen je Monat nach Ergebnis"),
    )
    return {
        "figures": figures,
        "months": list(zip(figures.months, months, strict=True)),
        "outcomes": outcomes,
        "results": results,
        "applications_chart": applications,
        "checks_chart": checks,
        "open_chart": charts.bars(
            [(str(STATE_SHORT[s]), n) for s, n in _open_states(figures)],
            _("Offene Anträge nach Status"),
        ),
        "open_states": [(str(STATE_SHORT[s]), n) for s, n in _open_states(figures)],
        "cards": [
            (str(CARD_TYPE_SHORT[t]), figures.active_cards.get(t.value, 0)) for t in CardType
        ],
        "partners_chart": charts.bars(figures.top_partners, _("Die meistgenutzten Partner")),
        "median": _days(figures.median_days),
        "p90": _days(figures.p90_days),
        "computed_at": datetime.fromisoformat(figures.computed_at),
        "number": format_number,
    }


def statistics_header() -> list[str]:
    """The statistics CSV's columns."""
    return [_("Bereich"), _("Was"), _("Art"), _("Anzahl")]


def statistics_rows(figures: statistics.Statistics) -> Iterator[list[object]]:
    """The statistics page's figures as CSV lines (section, what, kind, number)."""
    for month in figures.months:
        for key in statistics.OUTCOMES:
            outcome = OUTCOME_LABELS[key]
            yield [_("Anträge"), month, outcome, figures.applications[month][key]]
    yield [_("Entscheidungsdauer"), _("Median (Tage)"), "", figures.median_days]
    yield [_("Entscheidungsdauer"), _("90. Perzentil (Tage)"), "", figures.p90_days]
    yield [_("Entscheidungsdauer"), _("entschieden"), "", figures.decided]
    for state, count in _open_states(figures):
        yield [_("Offene Anträge"), STATE_SHORT[state], "", count]
    waiting = _("länger als %(days)s Tage", days=figures.waiting_days)
    yield [_("Offene Anträge"), waiting, "", figures.waiting_longer]
    for card_type in CardType:
        count = figures.active_cards.get(card_type.value, 0)
        yield [_("Gültige Karten"), CARD_TYPE_SHORT[card_type], "", count]
    yield [_("Gültige Karten"), _("enden in 90 Tagen"), "", figures.ending_soon]
    for month in figures.months:
        for status in CheckStatus:
            count = figures.checks[month].get(status.value, 0)
            yield [_("Prüfungen"), month, CHECK_RESULT_LABELS[status], count]
    for name, count in figures.top_partners:
        yield [_("Meistgenutzte Partner"), name, "", count]
