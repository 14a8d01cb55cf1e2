"""Office admin: the office's audit log (page and CSV) and its statistics."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.core import spreadsheet
from ehrenamt.insight import audit_log, exports, statistics
from ehrenamt.web import insight_pages
from ehrenamt.web.access import acting_staff, admin_required
from ehrenamt.web.admin.views import bp
from ehrenamt.web.downloads import send_stream
from ehrenamt.web.insight_forms import AuditFilterForm
from ehrenamt.web.pages import list_page


def _offices() -> set[int]:
    """The office the signed-in admin works in (the programme's pages pass more)."""
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
        object_link=insight_pages.object_link,
        print_run_link=insight_pages.print_run_link,
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
    return send_stream(
        spreadsheet.csv_stream(
            insight_pages.audit_header(), insight_pages.audit_rows(offices, filters)
        ),
        "text/csv; charset=utf-8",
        "protokoll.csv",
    )


@bp.route("/statistik")
@admin_required
def statistics_page() -> str:
    """The office's figures, each chart with its table."""
    figures = statistics.current(_offices())
    return render_template(
        "admin/statistics.html",
        scope_name=current_user.office.name,
        csv_url=current_app.url_for("admin.statistics_csv"),
        **insight_pages.statistics_context(figures),
    )


@bp.route("/statistik.csv")
@admin_required
def statistics_csv() -> Response:
    """The statistics page's figures as one CSV (section, what, kind, number)."""
    figures = statistics.current(_offices())
    return send_stream(
        spreadsheet.csv_stream(
            insight_pages.statistics_header(), insight_pages.statistics_rows(figures)
        ),
        "text/csv; charset=utf-8",
        "statistik.csv",
    )
