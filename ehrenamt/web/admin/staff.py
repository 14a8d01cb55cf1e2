"""Office admin: the office's staff accounts (invite, role, deactivate, second factor)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.accounts import recovery_codes, staff
from ehrenamt.core.errors import NotPermitted
from ehrenamt.models import User, UserRole
from ehrenamt.web.access import acting_staff, admin_required
from ehrenamt.web.admin.forms import StaffActionForm, StaffInviteForm, StaffRoleForm
from ehrenamt.web.forms import form_status
from ehrenamt.web.pages import or_404

bp = Blueprint("staff", __name__, url_prefix="/verwaltung/mitarbeitende")


def _render_index(form: StaffInviteForm, status: int) -> tuple[str, int]:
    page = staff.list_staff(
        current_user.office_id,
        request.args.get("page", 1, type=int),
        current_app.config["PAGE_SIZE"],
    )
    html = render_template("admin/staff.html", form=form, page=page, office=current_user.office)
    return html, status


@bp.route("/")
@admin_required
def index() -> tuple[str, int]:
    """The office's clerks and admins, paged in the database, and the invitation form."""
    return _render_index(StaffInviteForm(formdata=None), 200)


@bp.route("/einladen", methods=["POST"])
@admin_required
def invite() -> tuple[str, int] | Response:
    """Invite a clerk or admin; they get a link to set a password."""
    form = StaffInviteForm()
    if form.validate_on_submit():
        try:
            staff.invite_staff(
                acting_staff(),
                current_user.office_id,
                form.email.data or "",
                form.display_name.data or "",
                UserRole(form.role.data),
            )
        except staff.EmailTaken as taken:
            form.email.errors.append(str(taken))
        else:
            flash(_("Die Einladung ist versendet."), "success")
            return redirect(url_for("staff.index"))
    return _render_index(form, form_status(form))


def _member(user_id: int) -> User:
    return or_404(staff.get_staff_member(current_user.office_id, user_id))


def _render_detail(member: User, role_form: StaffRoleForm, status: int) -> tuple[str, int]:
    html = render_template(
        "admin/staff_member.html",
        member=member,
        role_form=role_form,
        action_form=StaffActionForm(formdata=None),
        codes_left=recovery_codes.unused_count(member),
        is_self=member.id == current_user.id,
    )
    return html, status


@bp.route("/<int:user_id>")
@admin_required
def detail(user_id: int) -> tuple[str, int]:
    """One staff member: role, state, second factor, and the actions on them."""
    member = _member(user_id)
    return _render_detail(member, StaffRoleForm(formdata=None, role=member.role.value), 200)


def _act(user_id: int, change: Callable[[User], None], done: str) -> tuple[str, int] | Response:
    """Run ``change`` on the member; a refusal is shown on their page (409)."""
    member = _member(user_id)
    try:
        change(member)
    except staff.StaffChangeRefused as refused:
        flash(str(refused), "error")
        return _render_detail(member, StaffRoleForm(formdata=None, role=member.role.value), 409)
    except NotPermitted:
        abort(404)
    flash(done, "success")
    return redirect(url_for("staff.detail", user_id=member.id))


@bp.route("/<int:user_id>/rolle", methods=["POST"])
@admin_required
def change_role(user_id: int) -> tuple[str, int] | Response:
    """Make the member a clerk or an admin."""
    form = StaffRoleForm()
    if not form.validate_on_submit():
        return _render_detail(_member(user_id), form, 400)
    role = UserRole(form.role.data)
    return _act(
        user_id,
        lambda member: staff.change_role(acting_staff(), member, role),
        _("Die Rolle ist geändert."),
    )


def _button(user_id: int, change: Callable[[User], None], done: str) -> tuple[str, int] | Response:
    if not StaffActionForm().validate_on_submit():
        member = _member(user_id)
        return _render_detail(member, StaffRoleForm(formdata=None, role=member.role.value), 400)
    return _act(user_id, change, done)


@bp.route("/<int:user_id>/deaktivieren", methods=["POST"])
@admin_required
def deactivate(user_id: int) -> tuple[str, int] | Response:
    """The member can no longer sign in; their sessions end."""
    return _button(
        user_id,
        lambda member: staff.deactivate(acting_staff(), member),
        _("Der Zugang ist deaktiviert."),
    )


@bp.route("/<int:user_id>/reaktivieren", methods=["POST"])
@admin_required
def reactivate(user_id: int) -> tuple[str, int] | Response:
    """The member can sign in again."""
    return _button(
        user_id,
        lambda member: staff.reactivate(acting_staff(), member),
        _("Der Zugang ist wieder aktiv."),
    )


@bp.route("/<int:user_id>/zweiter-faktor", methods=["POST"])
@admin_required
def reset_second_factor(user_id: int) -> tuple[str, int] | Response:
    """The member enrols their authenticator again at the next sign-in."""
    return _button(
        user_id,
        lambda member: staff.reset_second_factor(acting_staff(), member),
        _("Der zweite Faktor ist zurückgesetzt."),
    )


@bp.route("/<int:user_id>/einladung", methods=["POST"])
@admin_required
def resend_invitation(user_id: int) -> tuple[str, int] | Response:
    """A new invitation link for someone who has not set a password yet; the old one
    stops working."""
    return _button(
        user_id,
        lambda member: staff.resend_invitation(acting_staff(), member),
        _("Eine neue Einladung ist versendet; der alte Link gilt nicht mehr."),
    )
