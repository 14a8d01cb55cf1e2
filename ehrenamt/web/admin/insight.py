"""Office admin: the office's audit log (page and CSV) and its statistics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from flask import current_app, render_template, request
from flask_babel import format_date, format_decimal, format_number
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.core import spreadsheet
from ehrenamt.insight import audit_log, exports, statistics
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
from ehrenamt.web.access import acting_staff, admin_required
from ehrenamt.web.admin.insight_forms import AuditFilterForm
from ehrenamt.web.admin.views import bp
from ehrenamt.web.downloads import send_stream
from ehrenamt.web.pages import list_page
from ehrenamt.workflow import ApplicationState


def _offices() -> set[int]:
    """The offices the signed-in admin reads (one; a programme view would pass more)."""
    return {current_user.office_id}


def _audit_form() -> tuple[AuditFilterForm, int]:
    """The filter form read from the query string, and the HTTP status its errors give."""
    form = AuditFilterForm(request.args, staff=audit_log.staff_of(_offices()))
    return form, 200 if form.validate() else 400


@bp.route("/protokoll")
@admin_required
def audit() -> tuple[str, int]:
    """Every audit row of the office, filtered and paged in the database."""
    form, status = _audit_form()
    filters = form.filters() if status == 200 else audit_log.AuditFilter()
    page = (form.page.data or 1) if status == 200 else 1
    result = audit_log.audit_page(_offices(), filters, page, current_app.config["PAGE_SIZE"])
    csv_args = {k: v for k, v in request.args.items() if k != "page" and v}
    html = list_page(
        "admin/audit.html",
        form,
        result,
        filter_errors={name: errors for name, errors in form.errors.items() if name != "page"},
        csv_query=urlencode(csv_args),
    )
    return html, status


@bp.route("/protokoll.csv")
@admin_required
def audit_csv() -> Response | tuple[str, int]:
    """The filtered audit rows as CSV, streamed from the database."""
    form, status = _audit_form()
    if status != 200:
        return audit()
    filters, offices = form.filters(), _offices()
    exports.record_export(
        acting_staff(), current_user.office_id, "audit.csv", urlencode(request.args)
    )
    header = [
        _("Zeit (UTC)"),
        _("Wer"),
        _("Rolle"),
        _("Aktion"),
        _("Art des Objekts"),
        _("Objekt"),
        _("Änderung"),
        _("Begründung"),
    ]

    def rows() -> Iterator[list[object]]:
        for row in audit_log.stream_audit(offices, filters):
            entry = row.entry
            yield [
                entry.at.strftime("%Y-%m-%d %H:%M:%S"),
                entry.actor_label,
                entry.actor_role,
                action_words(entry.subject_type, entry.action),
                subject_words(entry.subject_type),
                row.public_id or entry.subject_id,
                change_words(entry),
                entry.reason,
            ]

    return send_stream(
        spreadsheet.csv_stream(header, rows()), "text/csv; charset=utf-8", "protokoll.csv"
    )


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


def _figures(figures: statistics.Statistics) -> dict[str, Any]:
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


def _open_states(figures: statistics.Statistics) -> list[tuple[ApplicationState, int]]:
    return [(ApplicationState(key), count) for key, count in figures.open_by_state.items()]


@bp.route("/statistik")
@admin_required
def statistics_page() -> str:
    """The office's figures, each chart with its table."""
    return render_template("admin/statistics.html", **_figures(statistics.current(_offices())))


@bp.route("/statistik.csv")
@admin_required
def statistics_csv() -> Response:
    """The statistics page's figures as one CSV (section, what, kind, number)."""
    figures = statistics.current(_offices())

    def rows() -> Iterator[list[object]]:
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

    header = [_("Bereich"), _("Was"), _("Art"), _("Anzahl")]
    return send_stream(
        spreadsheet.csv_stream(header, rows()), "text/csv; charset=utf-8", "statistik.csv"
    )
