"""Partners: the public registration and the partner area (profile, benefits, colleagues)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from ehrenamt.accounts import users
from ehrenamt.accounts.links import LinkRejected
from ehrenamt.extensions import db, limiter
from ehrenamt.models import Benefit, Office, Partner
from ehrenamt.partners import benefits as partners_benefits
from ehrenamt.partners import categories, email_confirmation, membership
from ehrenamt.partners import registration as partners_registration
from ehrenamt.web.access import partner_required, partner_role_required, sign_in
from ehrenamt.web.forms import InviteForm, SetPasswordForm, choices, form_status
from ehrenamt.web.pages import current_language, link_error_page, one_time_link_page, or_404
from ehrenamt.web.partners.forms import (
    BenefitEditForm,
    BenefitForm,
    DeleteForm,
    ProfileForm,
    RegistrationForm,
    ResendConfirmationForm,
)

bp = Blueprint("partners", __name__)


def _category_choices(form: ProfileForm) -> None:
    language = current_language()
    form.category.choices = choices(
        [(c.id, categories.category_name(c, language)) for c in categories.list_categories()]
    )


def _profile_input(form: ProfileForm) -> partners_registration.PartnerInput:
    return partners_registration.PartnerInput(
        name=form.name.data or "",
        category_id=int(form.category.data),
        street=form.street.data or "",
        postcode=form.postcode.data or "",
        town=form.town.data or "",
        email=form.email.data or "",
        website=form.website.data,
        phone=form.phone.data,
        description=form.description.data,
    )


def _benefit_input(form: BenefitForm) -> partners_benefits.BenefitInput:
    return partners_benefits.BenefitInput(
        title=form.title.data or "",
        description=form.description.data,
        conditions=form.conditions.data,
        valid_from=form.valid_from.data,
        valid_until=form.valid_until.data,
    )


@bp.route("/akzeptanzstelle/registrieren", methods=["GET", "POST"])
def register() -> tuple[str, int] | Response:
    """A business registers as a partner; staff of the chosen office decide."""
    form = RegistrationForm()
    offices = list(db.session.scalars(select(Office).order_by(Office.name)))
    form.office.choices = choices([(o.id, o.name) for o in offices])
    _category_choices(form)
    if form.validate_on_submit():
        office = db.session.get(Office, form.office.data)
        assert office is not None  # the choices are the offices
        benefits = [
            _benefit_input(entry.form)
            for entry in form.benefits.entries
            if (entry.form.title.data or "").strip()
        ]
        try:
            partners_registration.register_partner(
                office,
                _profile_input(form),
                benefits,
                password=form.password.data or "",
                contact_name=form.contact_name.data or "",
                language=current_language(),
            )
        except partners_registration.AccountExists:
            form.email.errors = [
                _("Für diese E-Mail-Adresse gibt es schon ein Konto. Bitte melden Sie sich an.")
            ]
        else:
            return redirect(url_for("partners.registered"))
    status = form_status(form)
    return render_template("partners/register.html", form=form), status


@bp.route("/akzeptanzstelle/registriert")
def registered() -> str:
    """Thanks; what happens next."""
    return render_template("partners/registered.html")


@bp.route("/akzeptanzstelle/email-bestaetigen/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> str | Response | tuple[str, int]:
    """The registering partner proves its address; the directory may list it now."""

    def use() -> Response | tuple[str, int]:
        try:
            email_confirmation.confirm_email(token)
        except LinkRejected as rejected:
            db.session.rollback()
            hint = _("Melden Sie sich an; dort können Sie einen neuen Link anfordern.")
            return link_error_page(rejected.problem, hint=hint)
        return redirect(url_for("partners.email_confirmed"))

    return one_time_link_page(
        use,
        title=_("E-Mail-Adresse bestätigen"),
        intro=_(
            "Klicken Sie auf „Weiter“, um die E-Mail-Adresse Ihrer Akzeptanzstelle zu bestätigen."
        ),
    )


@bp.route("/akzeptanzstelle/email-bestaetigt")
def email_confirmed() -> str:
    """After the link: what happens next (a page of its own, so Back does not resubmit)."""
    return render_template("partners/email_confirmed.html")


def _confirmation_limit() -> str:
    return str(current_app.config["RATELIMIT_PARTNER_CONFIRMATION"])


def _account_key() -> str:
    return f"partner-confirmation:{current_user.id}"


@bp.route("/partner/email-bestaetigung", methods=["POST"])
@partner_role_required
@limiter.limit(_confirmation_limit, key_func=_account_key)
def resend_confirmation() -> Response:
    """Mail a new confirmation link to the partner's address."""
    if not ResendConfirmationForm().validate_on_submit():
        abort(400)
    partner = membership.partner_of(current_user)
    if partner is None:
        abort(404)
    if email_confirmation.resend_confirmation(partner, current_user):
        flash(_("Wir haben Ihnen einen neuen Bestätigungslink geschickt."), "success")
    else:
        flash(_("Ihre E-Mail-Adresse ist bereits bestätigt."), "info")
    return redirect(url_for("partners.area"))


@bp.route("/partner/")
@partner_role_required
def area() -> str | Response:
    """The partner's start page; a pending or declined partner sees only its status."""
    partner = membership.partner_of(current_user)
    if partner is None or partner.state.value != "approved":
        return render_template("partners/status.html", partner=partner)
    benefits = partner.benefits
    return render_template("partners/area.html", partner=partner, benefits=benefits)


@bp.route("/partner/profil", methods=["GET", "POST"])
@partner_required
def profile() -> tuple[str, int] | Response:
    """Edit the public profile; the directory shows the change at once."""
    partner: Partner = g.partner
    form = ProfileForm(obj=partner)
    _category_choices(form)
    if not form.is_submitted():
        form.category.data = partner.category_id
    if form.validate_on_submit():
        if partners_registration.update_profile(partner, _profile_input(form), current_user):
            flash(
                _(
                    "Das Profil ist gespeichert. Bitte bestätigen Sie die neue E-Mail-Adresse "
                    "mit dem Link, den wir ihr geschickt haben; bis dahin steht Ihre "
                    "Akzeptanzstelle nicht im Verzeichnis."
                ),
                "success",
            )
        else:
            flash(_("Das Profil ist gespeichert."), "success")
        return redirect(url_for("partners.area"))
    status = form_status(form)
    return render_template("partners/profile.html", form=form, partner=partner), status


@bp.route("/partner/verguenstigungen/neu", methods=["GET", "POST"])
@partner_required
def add_benefit() -> tuple[str, int] | Response:
    """A new benefit."""
    form = BenefitEditForm()
    if form.validate_on_submit():
        partners_benefits.add_benefit(g.partner, _benefit_input(form))
        flash(_("Die Vergünstigung ist gespeichert."), "success")
        return redirect(url_for("partners.area"))
    status = form_status(form)
    return render_template("partners/benefit.html", form=form, benefit=None), status


def _own_benefit(public_id: str) -> Benefit:
    return or_404(partners_benefits.benefit_of(g.partner, public_id))


@bp.route("/partner/verguenstigungen/<public_id>", methods=["GET", "POST"])
@partner_required
def edit_benefit(public_id: str) -> tuple[str, int] | Response:
    """Edit one of the partner's own benefits; another partner's is not found."""
    benefit = _own_benefit(public_id)
    form = BenefitEditForm(obj=benefit)
    if form.validate_on_submit():
        partners_benefits.update_benefit(benefit, _benefit_input(form))
        flash(_("Die Vergünstigung ist gespeichert."), "success")
        return redirect(url_for("partners.area"))
    status = form_status(form)
    delete_form = DeleteForm(formdata=None)
    return render_template(
        "partners/benefit.html", form=form, benefit=benefit, delete_form=delete_form
    ), status


@bp.route("/partner/verguenstigungen/<public_id>/loeschen", methods=["POST"])
@partner_required
def delete_benefit(public_id: str) -> Response:
    """Withdraw a benefit."""
    benefit = _own_benefit(public_id)
    form = DeleteForm()
    if not form.validate_on_submit():
        abort(400)
    partners_benefits.delete_benefit(benefit)
    flash(_("Die Vergünstigung ist gelöscht."), "success")
    return redirect(url_for("partners.area"))


@bp.route("/partner/kolleginnen", methods=["GET", "POST"])
@partner_required
def colleagues() -> tuple[str, int] | Response:
    """The partner's accounts; invite a colleague."""
    form = InviteForm()
    if form.validate_on_submit():
        try:
            membership.invite_member(
                g.partner, current_user, form.email.data or "", current_language()
            )
        except partners_registration.AccountExists:
            form.email.errors = [_("Für diese E-Mail-Adresse gibt es schon ein Konto.")]
        else:
            flash(_("Die Einladung ist verschickt."), "success")
            return redirect(url_for("partners.colleagues"))
    status = form_status(form)
    members = membership.members_of(g.partner)
    return render_template("partners/colleagues.html", form=form, members=members), status


@bp.route("/partner/passwort", methods=["GET", "POST"])
@partner_role_required
def password() -> tuple[str, int] | Response:
    """Set or change the account's password (an invited colleague starts here)."""
    form = SetPasswordForm()
    if form.validate_on_submit():
        users.set_password(current_user, form.password.data or "")
        # set_password signs out other sessions, this one included: sign in again.
        sign_in(current_user)
        flash(_("Das Passwort ist gespeichert."), "success")
        return redirect(url_for("partners.area"))
    status = form_status(form)
    return render_template("partners/password.html", form=form), status


@bp.route("/partner/einladung/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> str | Response | tuple[str, int]:
    """An invited colleague signs in once with the link, then sets a password."""

    def use() -> Response | tuple[str, int]:
        try:
            user = membership.accept_invitation(token)
        except LinkRejected:
            db.session.rollback()
            return render_template("partners/invitation_invalid.html"), 410
        sign_in(user)
        return redirect(url_for("partners.password"))

    return one_time_link_page(
        use,
        title=_("Einladung annehmen"),
        intro=_("Klicken Sie auf „Weiter“, um sich anzumelden und Ihr Passwort festzulegen."),
    )
