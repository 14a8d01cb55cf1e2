"""Staff enter a paper application (the form signed on paper, scanned)."""

from __future__ import annotations

import secrets

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.applications import paper
from ehrenamt.applications.submission import AccountExists, AlreadyOpen
from ehrenamt.core import outbox, uploads
from ehrenamt.extensions import db
from ehrenamt.models import Office
from ehrenamt.web.access import acting_staff, staff_required
from ehrenamt.web.apply.inputs import application_input
from ehrenamt.web.apply.paper_forms import PaperApplicationForm
from ehrenamt.web.apply.views import SUBMISSION_KEY, bp
from ehrenamt.web.forms import choices


@bp.route("/papier", methods=["GET", "POST"])
@staff_required
def paper_form() -> Response | tuple[str, int]:
    """A clerk types in a signed paper form for their own office, with its scan.

    The scan is checked on its bytes and stored only with a complete form; a form with
    errors asks for the file again (staff re-select it; nothing is left on disk).
    """
    office = db.session.get(Office, current_user.office_id)
    if office is None:
        abort(404)
    form = PaperApplicationForm()
    form.office.choices = choices([(office.id, office.name)])
    if request.method == "GET":
        form.submission_key.data = secrets.token_urlsafe(24)
        form.office.data = office.id
    elif not SUBMISSION_KEY.fullmatch(form.submission_key.data or ""):
        form.submission_key.data = secrets.token_urlsafe(24)
    chosen = scan_error = None
    if request.method == "POST" and form.scan.data and getattr(form.scan.data, "filename", ""):
        try:
            chosen = uploads.check_upload(form.scan.data.stream, form.scan.data.filename)
        except uploads.UploadRejected as rejected:
            scan_error = str(rejected)
    # The signed form's scan is also the proof of a qualification claimed on it.
    form.has_scan = form.has_proof = chosen is not None
    if request.method == "POST" and form.add_engagement.data:
        if len(form.engagements) < (form.engagements.max_entries or 0):
            form.engagements.append_entry()
        return _page(form, office, scan_error, status=200)
    if form.validate_on_submit() and chosen is not None:
        return _enter(form, office, chosen)
    return _page(form, office, scan_error, status=400 if request.method == "POST" else 200)


def _enter(
    form: PaperApplicationForm, office: Office, chosen: uploads.CheckedFile
) -> Response | tuple[str, int]:
    scan = uploads.store_checked(chosen)
    data = application_input(form, office, None, email=form.email.data)
    data.language = form.language.data or "de"
    try:
        result = paper.enter_paper_application(data, scan, acting_staff())
    except (AccountExists, AlreadyOpen) as refused:
        outbox.rollback()
        uploads.path_of(scan).unlink(missing_ok=True)
        if isinstance(refused, AlreadyOpen):
            flash(_("Diese Person hat bereits einen offenen Antrag bei Ihrer Ausgabestelle."))
            return redirect(url_for("review.detail", public_id=refused.application.public_id))
        form.email.errors = [
            *form.email.errors,
            _("Diese E-Mail-Adresse gehört zu einem Konto, das kein Antragskonto ist."),
        ]
        return _page(form, office, None, status=409)
    if result.created:
        flash(_("Der Papierantrag ist erfasst."), "success")
    return redirect(url_for("review.detail", public_id=result.application.public_id))


def _page(
    form: PaperApplicationForm, office: Office, scan_error: str | None, *, status: int
) -> tuple[str, int]:
    if scan_error:
        form.scan.errors = [scan_error]
    html = render_template("apply/paper.html", form=form, office=office, failed=status >= 400)
    return html, status
