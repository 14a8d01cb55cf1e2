"""Office admin: the office's settings (name, contact, opening hours, Impressum) and its
logo, which the public pages, the letters and the cards show."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.core.audit import Acting
from ehrenamt.core.uploads import UploadRejected
from ehrenamt.models import Office
from ehrenamt.offices import face
from ehrenamt.web.access import admin_required
from ehrenamt.web.admin.forms import LogoForm, OfficeSettingsForm, RemoveLogoForm
from ehrenamt.web.admin.views import _office, bp
from ehrenamt.web.forms import form_status
from ehrenamt.workflow import Actor


def _page(
    office: Office, form: OfficeSettingsForm, logo_form: LogoForm, status: int
) -> tuple[str, int]:
    html = render_template(
        "admin/office.html",
        office=office,
        form=form,
        logo_form=logo_form,
        remove_form=RemoveLogoForm(formdata=None),
    )
    return html, status


@bp.route("/amt", methods=["GET", "POST"])
@admin_required
def edit_office() -> tuple[str, int] | Response:
    """The office's settings; the audit row names the changed fields."""
    office = _office()
    form = OfficeSettingsForm(obj=office)
    if form.validate_on_submit():
        values = {name: form[name].data or "" for name in face.SETTINGS_FIELDS}
        face.update_settings(office, values, Acting.user_as(current_user, Actor.ADMIN))
        flash(_("Die Einstellungen sind gespeichert."), "success")
        return redirect(url_for("admin.edit_office"))
    return _page(office, form, LogoForm(formdata=None), form_status(form))


@bp.route("/amt/logo", methods=["POST"])
@admin_required
def upload_logo() -> tuple[str, int] | Response:
    """A new logo: checked on its bytes, stored only as a PNG the app made."""
    office = _office()
    logo_form = LogoForm()
    if logo_form.validate_on_submit():
        chosen = request.files.get(logo_form.logo.name)
        try:
            if chosen is None or not chosen.filename:
                raise UploadRejected(_("Bitte wählen Sie eine Datei."))
            png = face.logo_png(chosen.stream)
        except UploadRejected as rejected:
            logo_form.logo.errors = [str(rejected)]
        else:
            face.set_logo(office, png, Acting.user_as(current_user, Actor.ADMIN))
            flash(_("Das Logo ist gespeichert."), "success")
            return redirect(url_for("admin.edit_office"))
    settings = OfficeSettingsForm(formdata=None, obj=office)
    return _page(office, settings, logo_form, 400)


@bp.route("/amt/logo/entfernen", methods=["POST"])
@admin_required
def remove_logo() -> Response:
    """Remove the logo; pages and new cards show none."""
    form = RemoveLogoForm()
    if form.validate_on_submit():
        face.set_logo(_office(), None, Acting.user_as(current_user, Actor.ADMIN))
        flash(_("Das Logo ist entfernt."), "success")
    return redirect(url_for("admin.edit_office"))
