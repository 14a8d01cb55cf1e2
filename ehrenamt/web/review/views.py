"""Staff views; every query is scoped to the staff member's office."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from ehrenamt.applications import confirmation, corrections, decisions, eligibility
from ehrenamt.applications import queries as applications_queries
from ehrenamt.applications.queries import QueueFilter
from ehrenamt.cards import register
from ehrenamt.core.errors import Conflict
from ehrenamt.extensions import db
from ehrenamt.insight import exports
from ehrenamt.models import Application, Engagement, RejectionReason
from ehrenamt.privacy import erasure, name_change
from ehrenamt.web.access import acting_staff, staff_required
from ehrenamt.web.downloads import send_attached_upload, send_table
from ehrenamt.web.forms import action_forms, database_id, expected_version, form_status
from ehrenamt.web.pages import list_page, or_404
from ehrenamt.web.review.forms import (
    ApproveForm,
    CorrectionForm,
    DecisionForm,
    EngagementActionForm,
    EraseForm,
    NameChangeDecisionForm,
    QueueFilterForm,
    RecordAnswerForm,
    RejectForm,
    RequestInformationForm,
    StartReviewForm,
)
from ehrenamt.workflow import IllegalTransition, allowed_actions

bp = Blueprint("review", __name__, url_prefix="/verwaltung")


def application_or_404(public_id: str) -> Application:
    """The office's application; 404 for any other."""
    return or_404(applications_queries.get_for_office(current_user.office_id, public_id))


@bp.route("/")
@staff_required
def queue() -> str:
    """Applications of the office, longest waiting first, filtered and paged in the DB."""
    form = QueueFilterForm(request.args)
    filters = QueueFilter()
    page = 1
    if form.validate():
        filters = form.filters()
        page = form.page.data or 1
    result = applications_queries.list_queue(
        current_user.office_id, filters, page, current_app.config["PAGE_SIZE"]
    )
    return list_page(
        "review/queue.html",
        form,
        result,
        counts=applications_queries.count_by_state(current_user.office_id),
        name_changes=name_change.pending_for_office(current_user.office_id),
    )


@bp.route("/export.<any(csv, xlsx):kind>")
@staff_required
def export(kind: str) -> Response | tuple[str, int]:
    """The queue's applications with its filters, as a streamed CSV or XLSX; audited."""
    form = QueueFilterForm(request.args)
    if not form.validate():
        return queue(), 400
    office_id = current_user.office_id
    exports.record_export(
        acting_staff(), office_id, f"applications.{kind}", urlencode(request.args)
    )
    rows = exports.application_rows(office_id, form.filters())
    return send_table(kind, _("antraege"), exports.APPLICATION_COLUMNS, rows)


@bp.route("/antrag/<public_id>")
@staff_required
def detail(public_id: str) -> tuple[str, int]:
    """The eligibility check rule by rule, confirmations, uploads, history, actions."""
    application = application_or_404(public_id)
    return render_detail(application)


def render_detail(
    application: Application, status: int = 200, **forms: FlaskForm
) -> tuple[str, int]:
    """The application's page; ``forms`` replace the empty ones (one sent with errors)."""
    defaults: dict[str, FlaskForm] = {
        "approve_form": ApproveForm(formdata=None),
        "reject_form": RejectForm(formdata=None),
        "info_form": RequestInformationForm(formdata=None),
        "answer_form": RecordAnswerForm(formdata=None),
        "start_form": StartReviewForm(formdata=None),
        "engagement_form": EngagementActionForm(formdata=None),
        "name_change_form": NameChangeDecisionForm(formdata=None),
    }
    html = render_template(
        "review/detail.html",
        application=application,
        card=register.card_for_application(application.id),
        checks=eligibility.check_application(application, application.office.rules, date.today()),
        history=applications_queries.history(application),
        name_change=name_change.pending_for_application(application.id),
        actions={a.value for a in allowed_actions(application.state, acting_staff().actor)},
        **action_forms(application.version, defaults, forms),
    )
    return html, status


def _refuse(message: str) -> None:
    """Nothing of this request is kept (another clerk acted first, or the state moved on)
    and the clerk is told why: the one way every action of this page fails."""
    db.session.rollback()
    flash(message, "error")


def _edited_meanwhile() -> str:
    return _(
        "Der Antrag wurde inzwischen von jemand anderem bearbeitet. "
        "Bitte prüfen Sie den aktuellen Stand."
    )


def _decide(
    public_id: str,
    form_name: str,
    form: DecisionForm,
    operation: Callable[[Application, int], None],
) -> tuple[str, int] | Response:
    """Run a decision; a clerk who acted on an old page gets a clear conflict message."""
    application = application_or_404(public_id)
    if not form.validate_on_submit():
        return render_detail(application, 400, **{form_name: form})
    try:
        operation(application, expected_version(form))
    except Conflict:
        _refuse(_edited_meanwhile())
    except IllegalTransition:
        _refuse(_("Diese Aktion ist im aktuellen Status nicht möglich."))
    else:
        flash(_("Gespeichert."), "success")
    return redirect(url_for("review.detail", public_id=public_id))


@bp.route("/antrag/<public_id>/bewilligen", methods=["POST"])
@staff_required
def approve(public_id: str) -> tuple[str, int] | Response:
    """Approve; the card goes to the workers through the outbox."""
    form = ApproveForm()
    return _decide(
        public_id,
        "approve_form",
        form,
        lambda app, v: decisions.approve(app, acting_staff(), v, (form.note.data or "").strip()),
    )


@bp.route("/antrag/<public_id>/ablehnen", methods=["POST"])
@staff_required
def reject(public_id: str) -> tuple[str, int] | Response:
    """Reject with a reason; the applicant is told by e-mail."""
    form = RejectForm()
    return _decide(
        public_id,
        "reject_form",
        form,
        lambda app, v: decisions.reject(
            app,
            acting_staff(),
            v,
            RejectionReason(form.reason.data),
            form.text.data.strip(),
        ),
    )


@bp.route("/antrag/<public_id>/rueckfrage", methods=["POST"])
@staff_required
def request_information(public_id: str) -> tuple[str, int] | Response:
    """Ask the applicant; they answer in their account."""
    form = RequestInformationForm()
    return _decide(
        public_id,
        "info_form",
        form,
        lambda app, v: decisions.request_information(
            app, acting_staff(), v, form.question.data.strip()
        ),
    )


@bp.route("/antrag/<public_id>/antwort", methods=["POST"])
@staff_required
def record_answer(public_id: str) -> tuple[str, int] | Response:
    """The answer came on paper or by phone: staff type it in, the review resumes."""
    form = RecordAnswerForm()
    return _decide(
        public_id,
        "answer_form",
        form,
        lambda app, v: decisions.record_answer(app, acting_staff(), v, form.answer.data.strip()),
    )


@bp.route("/antrag/<public_id>/pruefung-beginnen", methods=["POST"])
@staff_required
def start_review(public_id: str) -> tuple[str, int] | Response:
    """Start reviewing before every organisation answered."""
    form = StartReviewForm()
    return _decide(
        public_id,
        "start_form",
        form,
        lambda app, v: decisions.start_review_early(app, acting_staff(), v, form.note.data.strip()),
    )


@bp.route("/antrag/<public_id>/organisation", methods=["POST"])
@staff_required
def engagement_action(public_id: str) -> tuple[str, int] | Response:
    """Re-send an organisation's link, or confirm in its place."""
    application = application_or_404(public_id)
    form = EngagementActionForm()
    if not form.validate_on_submit():
        return render_detail(application, 400, engagement_form=form)
    engagement_id = database_id(form.engagement_id.data)
    engagement = db.session.get(Engagement, engagement_id) if engagement_id else None
    if engagement is None or engagement.application_id != application.id:
        abort(404)
    try:
        if form.override.data:
            note = (form.note.data or "").strip()
            if not note:
                form.note.errors = [
                    _("Bitte begründen Sie, warum Sie an Stelle der Organisation bestätigen.")
                ]
                return render_detail(application, 400, engagement_form=form)
            confirmation.override_confirmation(engagement, acting_staff(), note)
            flash(_("Die Bestätigung wurde ersetzt."), "success")
        else:
            confirmation.resend_confirmation(engagement, acting_staff())
            flash(_("Der Link wurde erneut gesendet."), "success")
    except (Conflict, IllegalTransition):
        _refuse(_("Der Antrag wurde inzwischen geändert. Bitte prüfen Sie den aktuellen Stand."))
    return redirect(url_for("review.detail", public_id=public_id))


@bp.route("/nachweis/<int:upload_id>")
@staff_required
def download_upload(upload_id: int) -> Response:
    """An uploaded proof of an application of this office."""
    return send_attached_upload(upload_id, lambda app: app.office_id == current_user.office_id)


@bp.route("/antrag/<public_id>/korrigieren", methods=["GET", "POST"])
@staff_required
def correct(public_id: str) -> tuple[str, int] | Response:
    """Correct the person's data with a reason; each change is audited old → new."""
    application = application_or_404(public_id)
    form = CorrectionForm(
        obj=None if request.method == "POST" else application,
        version=application.version,
    )
    if not form.validate_on_submit():
        return _render_correction(application, form), form_status(form)
    corrected = corrections.PersonData(
        first_name=(form.first_name.data or "").strip(),
        last_name=(form.last_name.data or "").strip(),
        birth_date=form.birth_date.data,
        street=(form.street.data or "").strip(),
        postcode=(form.postcode.data or "").strip(),
        town=(form.town.data or "").strip(),
        phone=(form.phone.data or "").strip() or None,
    )
    try:
        changed = corrections.correct(
            application,
            acting_staff(),
            corrected,
            (form.correction_reason.data or "").strip(),
            expected_version=expected_version(form),
        )
    except Conflict:
        _refuse(_edited_meanwhile())
        return redirect(url_for("review.correct", public_id=public_id))
    if not changed:
        flash(_("Es wurde nichts geändert."), "warning")
        return redirect(url_for("review.detail", public_id=public_id))
    flash(_("Die Korrektur ist gespeichert."), "success")
    card = corrections.name_differs_on_card(application)
    if card is not None:
        flash(
            _(
                "Der Name auf der Karte ist noch der alte. Sie können die Karte auf ihrer "
                "Seite neu ausstellen."
            ),
            "warning",
        )
        return redirect(url_for("register.detail", public_id=card.public_id))
    return redirect(url_for("review.detail", public_id=public_id))


def _render_correction(application: Application, form: CorrectionForm) -> str:
    return render_template("review/correct.html", application=application, form=form)


@bp.route("/antrag/<public_id>/daten-loeschen", methods=["GET", "POST"])
@staff_required
def erase_applicant(public_id: str) -> tuple[str, int] | Response:
    """Erase the applicant's data for a request received by post: audited, with the
    reason; their cards are revoked and open applications withdrawn first."""
    item = application_or_404(public_id)
    person = item.applicant
    form = EraseForm()
    if form.validate_on_submit():
        erasure.erase_person(person, acting_staff(), form.reason.data.strip())
        flash(_("Die Daten der Person sind gelöscht."), "info")
        return redirect(url_for("review.queue"))
    html = render_template(
        "review/erase.html", form=form, application=item, preview=erasure.preview(person)
    )
    return html, 400 if form.is_submitted() else 200


# The name change decisions register their routes on ``bp``; imported last, as they
# import it.
from ehrenamt.web.review import name_changes as _name_changes  # noqa: E402, F401
