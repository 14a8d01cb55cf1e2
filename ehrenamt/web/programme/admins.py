"""Programme administrator: the programme's administrators (invite, deactivate,
reactivate, reset the second factor), with the staff page's protections."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.accounts import programme_admins, recovery_codes, staff
from ehrenamt.core.errors import NotPermitted
from ehrenamt.models import User
from ehrenamt.web.access import programme_admin_required
from ehrenamt.web.forms import form_status
from ehrenamt.web.pages import or_404
from ehrenamt.web.programme.forms import ProgrammeAdminActionForm, ProgrammeAdminInviteForm
from ehrenamt.web.programme.views import bp


def _render_index(form: ProgrammeAdminInviteForm, status: int) -> tuple[str, int]:
    page = programme_admins.list_programme_admins(
        request.args.get("page", 1, type=int), current_app.config["PAGE_SIZE"]
    )
    return render_template("programme/admins.html", form=form, page=page), status


@bp.route("/administration/")
@programme_admin_required
def admins() -> tuple[str, int]:
    """The programme's administrators, paged in the database, and the invitation form."""
    return _render_index(ProgrammeAdminInviteForm(formdata=None), 200)


@bp.route("/administration/einladen", methods=["POST"])
@programme_admin_required
def invite_admin() -> tuple[str, int] | Response:
    """Invite another programme administrator; she gets a link to set a password."""
    form = ProgrammeAdminInviteForm()
    if form.validate_on_submit():
        try:
            programme_admins.invite_programme_admin(
                current_user, form.email.data or "", form.display_name.data or ""
            )
        except staff.EmailTaken as taken:
            form.email.errors.append(str(taken))
        else:
            flash(_("Die Einladung ist versendet."), "success")
            return redirect(url_for("programme.admins"))
    return _render_index(form, form_status(form))


def _member(user_id: int) -> User:
    return or_404(programme_admins.get_programme_admin(user_id))


def _render_detail(member: User, status: int) -> tuple[str, int]:
    html = render_template(
        "programme/admin_member.html",
        member=member,
        action_form=ProgrammeAdminActionForm(formdata=None),
        codes_left=recovery_codes.unused_count(member),
        is_self=member.id == current_user.id,
    )
    return html, status


@bp.route("/administration/<int:user_id>")
@programme_admin_required
def admin_detail(user_id: int) -> tuple[str, int]:
    """One programme administrator: state, second factor, and the actions on her."""
    return _render_detail(_member(user_id), 200)


def _button(
    user_id: int, change: Callable[[User, User], None], done: str
) -> tuple[str, int] | Response:
    """Run ``change`` (acting, member) after the button's CSRF check; a refusal is shown
    on her page (409)."""
    member = _member(user_id)
    if not ProgrammeAdminActionForm().validate_on_submit():
        return _render_detail(member, 400)
    try:
        change(current_user, member)
    except staff.StaffChangeRefused as refused:
        flash(str(refused), "error")
        return _render_detail(member, 409)
    except NotPermitted:
        abort(404)
    flash(done, "success")
    return redirect(url_for("programme.admin_detail", user_id=member.id))


@bp.route("/administration/<int:user_id>/deaktivieren", methods=["POST"])
@programme_admin_required
def deactivate_admin(user_id: int) -> tuple[str, int] | Response:
    """She can no longer sign in; her sessions end."""
    return _button(user_id, programme_admins.deactivate, _("Der Zugang ist deaktiviert."))


@bp.route("/administration/<int:user_id>/reaktivieren", methods=["POST"])
@programme_admin_required
def reactivate_admin(user_id: int) -> tuple[str, int] | Response:
    """She can sign in again."""
    return _button(user_id, programme_admins.reactivate, _("Der Zugang ist wieder aktiv."))


@bp.route("/administration/<int:user_id>/zweiter-faktor", methods=["POST"])
@programme_admin_required
def reset_admin_second_factor(user_id: int) -> tuple[str, int] | Response:
    """She enrols her authenticator again at the next sign-in."""
    return _button(
        user_id,
        programme_admins.reset_second_factor,
        _("Der zweite Faktor ist zurückgesetzt."),
    )


@bp.route("/administration/<int:user_id>/einladung", methods=["POST"])
@programme_admin_required
def resend_admin_invitation(user_id: int) -> tuple[str, int] | Response:
    """A new invitation link; the old one stops working."""
    return _button(
        user_id,
        programme_admins.resend_invitation,
        _("Eine neue Einladung ist versendet; der alte Link gilt nicht mehr."),
    )
