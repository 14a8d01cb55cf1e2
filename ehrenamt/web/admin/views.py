"""Office admin: the programme rules and the retention periods of the office."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import Office, PlaceRule, ProgrammeRules, utcnow
from ehrenamt.offices import rules as rules_service
from ehrenamt.privacy import notice, periods, report
from ehrenamt.web.access import admin_required
from ehrenamt.web.admin.forms import PresetForm, RetentionForm, RulesForm
from ehrenamt.web.forms import form_status
from ehrenamt.workflow import Actor

bp = Blueprint("admin", __name__, url_prefix="/verwaltung/einstellungen")


def _office() -> Office:
    office = db.session.get(Office, current_user.office_id)
    assert office is not None  # staff always belong to an office
    return office


def _rules_form_for_display(rules: ProgrammeRules) -> RulesForm:
    """The rules form filled with the saved rules, as a GET shows it."""
    form = RulesForm(formdata=None, obj=rules)
    form.qualifications.data = rules.qualifications.split()
    form.place_rule.data = rules.place_rule.value
    return form


def _render_rules(
    office: Office, form: RulesForm, preset_form: PresetForm, status: int
) -> tuple[str, int]:
    html = render_template("admin/rules.html", form=form, preset_form=preset_form, office=office)
    return html, status


@bp.route("/regeln", methods=["GET", "POST"])
@admin_required
def edit_rules() -> tuple[str, int] | Response:
    """Edit the rules; every change is audited with old and new values."""
    office = _office()
    rules = office.rules
    form = RulesForm(obj=rules)
    if not form.is_submitted():
        form = _rules_form_for_display(rules)
    preset_form = PresetForm(formdata=None, preset=rules.preset)
    if form.validate_on_submit():
        values = {name: form[name].data for name in rules_service.EDITABLE_FIELDS}
        values["qualifications"] = " ".join(form.qualifications.data or [])
        values["place_rule"] = PlaceRule(form.place_rule.data)
        rules_service.update_rules(
            office, values, Acting.user_as(current_user, Actor.ADMIN), preset=None
        )
        flash(_("Die Regeln sind gespeichert."), "success")
        return redirect(url_for("admin.edit_rules"))
    return _render_rules(office, form, preset_form, form_status(form))


@bp.route("/vorlage", methods=["POST"])
@admin_required
def apply_preset() -> tuple[str, int] | Response:
    """Load one of the presets into the office's rules."""
    form = PresetForm()
    if not form.validate_on_submit():
        # Only a tampered or outdated form gets here; say so instead of ignoring it.
        office = _office()
        return _render_rules(office, _rules_form_for_display(office.rules), form, 400)
    rules_service.update_rules(
        _office(), {}, Acting.user_as(current_user, Actor.ADMIN), preset=form.preset.data
    )
    flash(_("Die Vorlage wurde übernommen."), "success")
    return redirect(url_for("admin.edit_rules"))


@bp.route("/aufbewahrung", methods=["GET", "POST"])
@admin_required
def edit_retention() -> tuple[str, int] | Response:
    """Edit the retention periods (every change audited with old and new values); below,
    the deletion report: counts per kind and month, the job's last and next run."""
    office = _office()
    form = RetentionForm(obj=office.rules)
    if form.validate_on_submit():
        values = {name: form[name].data for name in periods.PERIOD_FIELDS}
        periods.update_periods(office, values, Acting.user_as(current_user, Actor.ADMIN))
        # The published notice states the periods: a new version at once.
        notice.current_notice(office)
        flash(_("Die Fristen sind gespeichert."), "success")
        return redirect(url_for("admin.edit_retention"))
    html = render_template(
        "admin/retention.html",
        form=form,
        office=office,
        deployment=periods.deployment_periods(),
        report=report.deletion_report(office.id, utcnow()),
    )
    return html, form_status(form)


# The audit log, statistics and the office's settings add their routes to this blueprint.
from ehrenamt.web.admin import insight, office_settings  # noqa: E402, F401
