"""Import of old (paper) cards: upload, dry run, go-ahead, progress. Office-scoped."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.core import errors as core_errors
from ehrenamt.core import uploads
from ehrenamt.extensions import db
from ehrenamt.legacy import importing, rows
from ehrenamt.models import LegacyImport
from ehrenamt.web.access import acting_staff, staff_required
from ehrenamt.web.legacy.forms import LegacyStartForm, LegacyUploadForm
from ehrenamt.web.pages import or_404

bp = Blueprint("legacy", __name__, url_prefix="/verwaltung/altkarten")

#: Errors shown on the dry-run page; the rest are counted (a wrong export can fail
#: every line of a large file).
MAX_ERRORS_SHOWN = 200


def _import_or_404(public_id: str) -> LegacyImport:
    return or_404(importing.get_for_office(current_user.office_id, public_id))


def _render(
    form: LegacyUploadForm,
    report: rows.CheckReport | None = None,
    checked: LegacyImport | None = None,
) -> str:
    errors = sorted(report.errors.items())[:MAX_ERRORS_SHOWN] if report else []
    return render_template(
        "legacy/import.html",
        form=form,
        report=report,
        errors=errors,
        hidden_errors=max(len(report.errors) - MAX_ERRORS_SHOWN, 0) if report else 0,
        checked=checked,
        start_form=LegacyStartForm(formdata=None),
        columns=[names[0] for names in rows.COLUMNS.values()],
    )


@bp.route("/", methods=["GET", "POST"])
@staff_required
def upload() -> tuple[str, int]:
    """Upload a file of old cards: every line is checked; nothing is imported yet."""
    form = LegacyUploadForm()
    if not form.validate_on_submit():
        return _render(form), 400 if form.is_submitted() else 200
    storage = form.file.data
    try:
        checked = uploads.check_spreadsheet(
            storage.stream,
            storage.filename or "",
            int(current_app.config["LEGACY_IMPORT_MAX_BYTES"]),
        )
        legacy_import, report = importing.check_upload(
            current_user.office_id, acting_staff(), checked
        )
    except uploads.UploadRejected as error:
        form.file.errors = [str(error)]
        return _render(form), 400
    except core_errors.NotPermitted:
        db.session.rollback()
        abort(404)
    return _render(form, report, legacy_import), 400 if report.errors else 200


@bp.route("/<public_id>/importieren", methods=["POST"])
@staff_required
def start(public_id: str) -> Response:
    """The go-ahead for a checked file: a worker imports it, the page shows how far."""
    legacy_import = _import_or_404(public_id)
    if not LegacyStartForm().validate_on_submit():
        abort(400)
    try:
        importing.start(legacy_import, acting_staff())
    except core_errors.NotPermitted:
        db.session.rollback()
        abort(404)
    except core_errors.Conflict:
        db.session.rollback()
        flash(_("Dieser Import läuft schon oder ist abgeschlossen."), "warning")
    return redirect(url_for("legacy.progress", public_id=public_id))


@bp.route("/<public_id>")
@staff_required
def progress(public_id: str) -> str:
    """How far the worker is; the page updates itself until the import is over."""
    legacy_import = _import_or_404(public_id)
    return render_template(
        "legacy/progress.html",
        legacy_import=legacy_import,
        progress=importing.progress(legacy_import),
        start_form=LegacyStartForm(formdata=None),
    )


@bp.route("/<public_id>.json")
@staff_required
def progress_status(public_id: str) -> Response:
    """The progress page's figures, polled by its script."""
    return jsonify(importing.progress(_import_or_404(public_id)))
