"""Office admin: the office's audit log (page and CSV) and its statistics."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.core import spreadsheet
from ehrenamt.insight import audit_log, exports
from ehrenamt.labels import action_words, change_words, subject_words
from ehrenamt.web.access import acting_staff, admin_required
from ehrenamt.web.admin.insight_forms import AuditFilterForm
from ehrenamt.web.admin.views import bp
from ehrenamt.web.downloads import send_stream
from ehrenamt.web.pages import list_page


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
