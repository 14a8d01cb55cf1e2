"""Programme administrator: every office side by side, the statistics across offices,
and the audit log of every office, all read-only.

Read-only by construction: GET routes only, their forms are GET filters without a CSRF
token and change nothing; no route here writes to the database except the statistics
snapshot (a cache of counts). Acting in an office stays on the office pages, after she
switched to it.
"""

from __future__ import annotations

from functools import partial

from flask import current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from ehrenamt.core import spreadsheet
from ehrenamt.extensions import db
from ehrenamt.insight import audit_log, overview, statistics
from ehrenamt.models import Office
from ehrenamt.offices import programme
from ehrenamt.web import insight_pages
from ehrenamt.web.access import programme_admin_required
from ehrenamt.web.downloads import send_stream
from ehrenamt.web.insight_forms import OfficeScopeForm, ProgrammeAuditFilterForm
from ehrenamt.web.pages import list_page
from ehrenamt.web.programme.views import bp


def _all_offices() -> list[Office]:
    return list(db.session.scalars(select(Office).order_by(func.lower(Office.name), Office.id)))


@bp.route("/uebersicht")
@programme_admin_required
def overview_page() -> str:
    """One row per office: open applications, active cards, long waits, checks."""
    page = programme.list_offices(
        request.args.get("page", 1, type=int), current_app.config["PAGE_SIZE"]
    )
    figures = overview.office_figures([office.id for office in page.items])
    return render_template(
        "programme/overview.html",
        page=page,
        figures=figures,
        waiting_days=int(current_app.config["STATISTICS_WAITING_DAYS"]),
    )


def _scope() -> tuple[OfficeScopeForm, set[int], str, int]:
    """The offices the statistics cover (all, or the one chosen), their name, the status."""
    offices = _all_offices()
    form = OfficeScopeForm(request.args, offices=offices)
    if not form.validate() or form.office_id() is None:
        ids = {office.id for office in offices}
        return form, ids, "", 200 if not form.errors else 400
    chosen = next(office for office in offices if office.id == form.office_id())
    return form, {chosen.id}, chosen.name, 200


@bp.route("/statistik")
@programme_admin_required
def statistics_page() -> tuple[str, int]:
    """The figures of every office together, or of one office chosen."""
    form, ids, name, status = _scope()
    args = {"office": form.office.data} if status == 200 and form.office.data else {}
    html = render_template(
        "programme/statistics.html",
        form=form,
        scope_name=name or _("alle Ämter"),
        csv_url=url_for("programme.statistics_csv", **args),
        **insight_pages.statistics_context(statistics.current(ids)),
    )
    return html, status


@bp.route("/statistik.csv")
@programme_admin_required
def statistics_csv() -> Response | tuple[str, int]:
    """The figures of the page as CSV."""
    _form, ids, _name, status = _scope()
    if status != 200:
        return statistics_page()
    figures = statistics.current(ids)
    return send_stream(
        spreadsheet.csv_stream(
            insight_pages.statistics_header(), insight_pages.statistics_rows(figures)
        ),
        "text/csv; charset=utf-8",
        "statistik.csv",
    )


@bp.route("/protokoll")
@programme_admin_required
def audit() -> tuple[str, int]:
    """The audit rows of every office, filtered (the office one of the filters), paged
    in the database; a row's object links only in the office she works in."""
    offices = _all_offices()
    ids = {office.id for office in offices}
    form = ProgrammeAuditFilterForm(request.args, offices=offices, staff=audit_log.staff_of(ids))
    valid = form.validate()
    filters = form.filters() if valid else audit_log.AuditFilter()
    page = (form.page.data or 1) if valid else 1
    result = audit_log.audit_page(
        ids, filters, page, current_app.config["PAGE_SIZE"], programme=True
    )
    html = list_page(
        "programme/audit.html",
        form,
        result,
        filter_errors={name: errors for name, errors in form.errors.items() if name != "page"},
        office_names={office.id: office.name for office in offices},
        link_office=current_user.office_id or 0,
        object_link=partial(insight_pages.object_link, programme=True),
        print_run_link=insight_pages.print_run_link,
    )
    return html, 200 if valid else 400
