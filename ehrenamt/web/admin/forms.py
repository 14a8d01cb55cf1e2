"""Editing the programme rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ehrenamt.applications.eligibility import PLACE_RULE_LABELS
from ehrenamt.labels import QUALIFICATION_LABELS
from ehrenamt.models import UserRole
from ehrenamt.offices.rules import PRESETS
from ehrenamt.web.forms import NoControlCharacters, NumberField, choices, enum_choices


class CheckboxList(SelectMultipleField):
    """Several choices as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RulesForm(FlaskForm):
    """Every rule an office can set."""

    minimum_age = IntegerField(
        _l("Mindestalter (leer: keines)"), validators=[Optional(), NumberRange(min=0, max=99)]
    )
    minimum_hours_per_week = NumberField(
        _l("Mindeststunden pro Woche"),
        places=1,
        validators=[InputRequired(), NumberRange(min=0, max=168)],
    )
    minimum_hours_per_year = IntegerField(
        _l("oder Mindeststunden pro Jahr"),
        validators=[InputRequired(), NumberRange(min=0, max=8760)],
    )
    minimum_years_engaged = IntegerField(
        _l("Mindestdauer des Engagements in Jahren"),
        validators=[InputRequired(), NumberRange(min=0, max=50)],
    )
    allowance_cap_euros = IntegerField(
        _l("Höchste Aufwandsentschädigung in €/Jahr (leer: keine Grenze; 0: nur unentgeltlich)"),
        validators=[Optional(), NumberRange(min=0, max=100_000)],
    )
    place_rule = SelectField(
        _l("Ortsregel"),
        choices=enum_choices(PLACE_RULE_LABELS),
    )
    validity_years = IntegerField(
        _l("Gültigkeit der Standardkarte in Jahren"),
        validators=[InputRequired(), NumberRange(min=1, max=10)],
    )
    long_service_card = BooleanField(_l("Jubiläumskarte (unbefristet) ausgeben"))
    long_service_years = IntegerField(
        _l("Jahre Engagement für die Jubiläumskarte"),
        validators=[InputRequired(), NumberRange(min=1, max=80)],
    )
    qualifications = CheckboxList(
        _l("Qualifikationen, die den Stundennachweis ersetzen"),
        choices=enum_choices(QUALIFICATION_LABELS),
    )
    reminder_after_days = IntegerField(
        _l("Erinnerung an Organisationen nach Tagen"),
        validators=[InputRequired(), NumberRange(min=1, max=90)],
    )
    confirmation_link_days = IntegerField(
        _l("Gültigkeit des Bestätigungslinks in Tagen"),
        validators=[InputRequired(), NumberRange(min=1, max=180)],
    )
    privacy_notice_version = StringField(
        _l("Version der Datenschutzhinweise"),
        validators=[InputRequired(), Length(max=40), NoControlCharacters()],
    )
    submit = SubmitField(_l("Regeln speichern"))


class PresetForm(FlaskForm):
    """Load a preset (overwrites the rule values)."""

    preset = SelectField(
        _l("Vorlage"), choices=choices([(key, value["label"]) for key, value in PRESETS.items()])
    )
    submit = SubmitField(_l("Vorlage übernehmen"))


class OfficeSettingsForm(FlaskForm):
    """The office's name, contact, opening hours and Impressum."""

    name = StringField(
        _l("Name der Ausgabestelle"),
        validators=[DataRequired(), Length(max=200), NoControlCharacters()],
    )
    postal_address = TextAreaField(
        _l("Postanschrift unter dem Namen der Ausgabestelle (höchstens 4 Zeilen)"),
        validators=[Length(max=400), NoControlCharacters()],
        render_kw={"rows": 4},
    )
    phone = StringField(
        _l("Telefon"),
        validators=[
            Optional(),
            Length(max=40),
            Regexp(r"^\+?[0-9 ()/-]+$", message=_l("Bitte nur Ziffern, Leerzeichen, + ( ) / -.")),
        ],
    )
    contact_email = EmailField(
        _l("E-Mail-Adresse"), validators=[DataRequired(), Email(), Length(max=254)]
    )
    opening_hours = TextAreaField(
        _l("Öffnungszeiten"),
        validators=[Length(max=600), NoControlCharacters()],
        render_kw={"rows": 4},
    )
    imprint = TextAreaField(
        _l("Impressum"),
        validators=[Length(max=4000), NoControlCharacters()],
        render_kw={"rows": 10},
    )
    submit = SubmitField(_l("Einstellungen speichern"))


class LogoForm(FlaskForm):
    """Upload a logo or coat of arms."""

    logo = FileField(_l("Logo oder Wappen (PNG oder SVG)"))
    submit = SubmitField(_l("Logo hochladen"))


class RemoveLogoForm(FlaskForm):
    """Remove the logo (a button only)."""

    submit = SubmitField(_l("Logo entfernen"))


#: The roles an admin gives on the staff page, in the order offered.
STAFF_ROLE_CHOICES = [
    (UserRole.CLERK.value, _l("Sachbearbeitung")),
    (UserRole.ADMIN.value, _l("Administration")),
]


class StaffInviteForm(FlaskForm):
    """Invite a clerk or admin of the office by e-mail."""

    display_name = StringField(
        _l("Name"), validators=[DataRequired(), Length(max=200), NoControlCharacters()]
    )
    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Rolle"), choices=choices(STAFF_ROLE_CHOICES))
    submit = SubmitField(_l("Einladen"))


class StaffRoleForm(FlaskForm):
    """Change a staff member's role."""

    role = SelectField(_l("Rolle"), choices=choices(STAFF_ROLE_CHOICES))
    submit = SubmitField(_l("Rolle ändern"))


class StaffActionForm(FlaskForm):
    """One button: deactivate, reactivate or reset the second factor."""

    submit = SubmitField(_l("Ausführen"))


class RetentionForm(FlaskForm):
    """The office's retention periods (what its privacy page promises)."""

    retention_decided_months = IntegerField(
        _l("Abgelehnte und zurückgezogene Anträge löschen nach Monaten (ab der Entscheidung)"),
        validators=[InputRequired(), NumberRange(min=1, max=120)],
    )
    retention_card_months = IntegerField(
        _l("Bewilligte Anträge und Kartendaten löschen nach Monaten (ab Ablauf oder Sperrung)"),
        validators=[InputRequired(), NumberRange(min=1, max=120)],
    )
    retention_unconfirmed_days = IntegerField(
        _l("Anträge mit nie bestätigter E-Mail-Adresse löschen nach Tagen"),
        validators=[InputRequired(), NumberRange(min=1, max=365)],
    )
    retention_check_days = IntegerField(
        _l("Protokolle der Kartenprüfungen löschen nach Tagen"),
        validators=[InputRequired(), NumberRange(min=1, max=365)],
    )
    submit = SubmitField(_l("Fristen speichern"))
