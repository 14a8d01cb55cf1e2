"""Staff: decide partner registrations of their office, unpublish benefits, CSV."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.core import errors as core_errors
from ehrenamt.extensions import db
from ehrenamt.models import Benefit, Office, Partner, PartnerState
from ehrenamt.partners import benefits as partners_benefits
from ehrenamt.partners import email_confirmation, import_export, listing, membership
from ehrenamt.partners import registration as partners_registration
from ehrenamt.web.access import acting_staff, staff_required
from ehrenamt.web.pages import or_404
from ehrenamt.web.partner_admin.forms import (
    STATE_LABELS,
    ApproveForm,
    BenefitNoteForm,
    DeclineForm,
    ImportConfirmForm,
    ImportUploadForm,
    InviteAccountForm,
    PartnerFilterForm,
    ResendConfirmationForm,
)

bp = Blueprint("partner_admin", __name__, url_prefix="/verwaltung/partner")


def _partner(public_id: str) -> Partner:
    return or_404(listing.get_for_office(current_user.office_id, public_id))


@bp.route("/")
@staff_required
def index() -> str:
    """The office's partners by state (and those whose address is not confirmed), paged
    in the database; each row says why the directory leaves the partner out."""
    form = PartnerFilterForm(request.args)
    state: PartnerState | None = PartnerState.PENDING if "state" not in request.args else None
    if state is not None:
        # The filter shows what is listed: pending first, "alle" (an empty choice) all.
        form.state.data = state.value
    page = 1
    unconfirmed = False
    if form.validate():
        if form.state.data:
            state = PartnerState(form.state.data)
        page = form.page.data or 1
        unconfirmed = bool(form.unconfirmed.data)
    result = listing.list_partners(
        current_user.office_id,
        state,
        page,
        current_app.config["PAGE_SIZE"],
        address_unconfirmed=unconfirmed,
    )
    counts = listing.verification_counts([p.id for p in result.items])
    args = {"state": state.value if state else ""}
    if unconfirmed:
        args["unconfirmed"] = "y"
    return render_template(
        "partner_admin/index.html",
        form=form,
        page=result,
        counts=counts,
        args=args,
        labels=STATE_LABELS,
        not_listed=listing.not_listed_reasons,
    )


@bp.route("/<public_id>")
@staff_required
def detail(public_id: str) -> str:
    """One partner: profile, benefits, decision forms, verification count."""
    partner = _partner(public_id)
    return _render_detail(partner, ApproveForm(), DeclineForm())[0]


def _render_detail(
    partner: Partner,
    approve_form: ApproveForm,
    decline_form: DeclineForm,
    status: int = 200,
    invite_form: InviteAccountForm | None = None,
) -> tuple[str, int]:
    html = render_template(
        "partner_admin/detail.html",
        partner=partner,
        approve_form=approve_form,
        decline_form=decline_form,
        invite_form=invite_form or InviteAccountForm(formdata=None, email=partner.email),
        members=membership.members_of(partner),
        note_form=BenefitNoteForm(formdata=None),
        verifications=listing.verification_counts([partner.id]).get(partner.id, 0),
        labels=STATE_LABELS,
        not_listed=listing.not_listed_reasons,
        resend_form=ResendConfirmationForm(formdata=None),
    )
    return html, status


@bp.route("/<public_id>/bestaetigen", methods=["POST"])
@staff_required
def approve(public_id: str) -> Response | tuple[str, int]:
    """Approve the registration (audited, the partner is told by e-mail)."""
    partner = _partner(public_id)
    form = ApproveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        partners_registration.approve_partner(partner, acting_staff())
    except core_errors.Conflict:
        flash(_("Über diese Registrierung wurde bereits entschieden."), "error")
        return _render_detail(partner, form, DeclineForm(formdata=None), 409)
    flash(_("Die Akzeptanzstelle ist bestätigt."), "success")
    return redirect(url_for("partner_admin.detail", public_id=public_id))


@bp.route("/<public_id>/zugang", methods=["POST"])
@staff_required
def invite_account(public_id: str) -> Response | tuple[str, int]:
    """Invite an account for an approved partner (e.g. one imported from CSV); audited."""
    partner = _partner(public_id)
    form = InviteAccountForm()
    if form.validate_on_submit():
        try:
            membership.invite_account_for_partner(partner, acting_staff(), form.email.data or "")
        except partners_registration.AccountExists:
            form.email.errors = [_("Für diese E-Mail-Adresse gibt es schon ein Konto.")]
        except core_errors.NotPermitted:
            abort(409)
        else:
            flash(_("Die Einladung ist verschickt."), "success")
            return redirect(url_for("partner_admin.detail", public_id=public_id))
    return _render_detail(
        partner, ApproveForm(formdata=None), DeclineForm(formdata=None), 400, form
    )


@bp.route("/<public_id>/bestaetigungslink", methods=["POST"])
@staff_required
def resend_confirmation(public_id: str) -> Response | tuple[str, int]:
    """Mail the partner a new link to confirm its address (audited, at most every few
    minutes)."""
    partner = _partner(public_id)
    if not ResendConfirmationForm().validate_on_submit():
        abort(400)
    try:
        email_confirmation.resend_confirmation_by_staff(partner, acting_staff())
    except email_confirmation.ConfirmationNotResent as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return _render_detail(partner, ApproveForm(formdata=None), DeclineForm(formdata=None), 409)
    except core_errors.NotPermitted:
        abort(404)
    flash(
        _("Ein neuer Bestätigungslink ist an %(email)s verschickt.", email=partner.email), "success"
    )
    return redirect(url_for("partner_admin.detail", public_id=public_id))


@bp.route("/<public_id>/ablehnen", methods=["POST"])
@staff_required
def decline(public_id: str) -> Response | tuple[str, int]:
    """Decline the registration with a reason (audited, told by e-mail)."""
    partner = _partner(public_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _render_detail(partner, ApproveForm(formdata=None), form, 400)
    try:
        partners_registration.decline_partner(partner, acting_staff(), form.reason.data or "")
    except core_errors.Conflict:
        flash(_("Über diese Registrierung wurde bereits entschieden."), "error")
        return _render_detail(partner, ApproveForm(formdata=None), form, 409)
    flash(_("Die Registrierung ist abgelehnt."), "success")
    return redirect(url_for("partner_admin.detail", public_id=public_id))


def _office_benefit(public_id: str) -> Benefit:
    return or_404(partners_benefits.benefit_for_office(current_user.office_id, public_id))


def _set_unpublished(public_id: str, unpublished: bool) -> Response:
    benefit = _office_benefit(public_id)
    form = BenefitNoteForm()
    if not form.validate_on_submit():
        abort(400)
    partners_benefits.set_benefit_unpublished(
        benefit, acting_staff(), unpublished=unpublished, note=form.note.data or ""
    )
    flash(_("Gespeichert."), "success")
    return redirect(url_for("partner_admin.detail", public_id=benefit.partner.public_id))


@bp.route("/verguenstigung/<public_id>/ausblenden", methods=["POST"])
@staff_required
def unpublish_benefit(public_id: str) -> Response:
    """Take a benefit off the directory, with a note (audited)."""
    return _set_unpublished(public_id, True)


@bp.route("/verguenstigung/<public_id>/einblenden", methods=["POST"])
@staff_required
def republish_benefit(public_id: str) -> Response:
    """Put a benefit taken off by staff back into the directory (audited)."""
    return _set_unpublished(public_id, False)


@bp.route("/export.csv")
@staff_required
def export() -> Response:
    """The office's partners as CSV."""
    body = import_export.export_csv(current_user.office_id)
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=akzeptanzstellen.csv"},
    )


def _office() -> Office:
    office = db.session.get(Office, current_user.office_id)
    assert office is not None  # staff always belong to an office
    return office


@bp.route("/import", methods=["GET", "POST"])
@staff_required
def import_csv() -> tuple[str, int]:
    """Upload a CSV: it is checked first; only a file without errors can be imported."""
    upload = ImportUploadForm()
    confirm = ImportConfirmForm(formdata=None)
    report = None
    status = 200
    if upload.validate_on_submit():
        try:
            content = upload.file.data.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            upload.file.errors = [_("Die Datei muss UTF-8-kodiert sein.")]
            return _render_import(upload, confirm, None), 400
        report = import_export.import_csv(_office(), content, acting_staff(), dry_run=True)
        confirm.content.data = content
        status = 200 if not report.errors else 400
    elif upload.is_submitted():
        status = 400
    return _render_import(upload, confirm, report), status


@bp.route("/import/ausfuehren", methods=["POST"])
@staff_required
def import_confirmed() -> tuple[str, int] | Response:
    """Import the checked file: every line, or none if any line is bad."""
    confirm = ImportConfirmForm()
    if not confirm.validate_on_submit():
        abort(400)
    report = import_export.import_csv(
        _office(), confirm.content.data or "", acting_staff(), dry_run=False
    )
    if not report.imported:
        return _render_import(ImportUploadForm(formdata=None), confirm, report), 400
    flash(_("%(count)s Akzeptanzstellen importiert.", count=report.rows), "success")
    return redirect(url_for("partner_admin.index", state="approved"))


def _render_import(
    upload: ImportUploadForm, confirm: ImportConfirmForm, report: import_export.ImportReport | None
) -> str:
    return render_template(
        "partner_admin/import.html",
        upload=upload,
        confirm=confirm,
        report=report,
        columns=import_export.CSV_COLUMNS,
    )
