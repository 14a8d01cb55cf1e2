"""Creating an office, and choosing the office to work in."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, Regexp

from ehrenamt.offices.rules import PRESETS
from ehrenamt.web.forms import NoControlCharacters, choices


class OfficeForm(FlaskForm):
    """A new issuing office (the fields of the CLI's ``create-office``)."""

    name = StringField(
        _l("Name des Amts"), validators=[DataRequired(), Length(max=200), NoControlCharacters()]
    )
    slug = StringField(
        _l("Kurzname"),
        validators=[
            DataRequired(),
            Length(max=60),
            Regexp(
                r"^[a-z0-9]+(-[a-z0-9]+)*$",
                message=_l("Nur Kleinbuchstaben a–z, Ziffern und Bindestriche."),
            ),
        ],
    )
    contact_email = EmailField(
        _l("Kontakt-E-Mail-Adresse"), validators=[DataRequired(), Email(), Length(max=254)]
    )
    postcodes = StringField(
        _l("Postleitzahlen des Gebiets"),
        validators=[
            Optional(),
            Length(max=5000),
            Regexp(
                r"^\s*(\d{5}\s*)*$",
                message=_l("Fünfstellige Postleitzahlen, getrennt durch Leerzeichen."),
            ),
        ],
    )
    preset = SelectField(
        _l("Regelvorlage"),
        choices=choices([(key, value["label"]) for key, value in PRESETS.items()]),
    )
    submit = SubmitField(_l("Amt anlegen"))


class SwitchOfficeForm(FlaskForm):
    """Work in this office from now on."""

    office_id = HiddenField(validators=[InputRequired()])
    submit = SubmitField(_l("In diesem Amt arbeiten"))


class ProgrammeAdminInviteForm(FlaskForm):
    """Invite another programme administrator by e-mail."""

    display_name = StringField(
        _l("Name"), validators=[DataRequired(), Length(max=200), NoControlCharacters()]
    )
    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Einladen"))


class ProgrammeAdminActionForm(FlaskForm):
    """One button: deactivate, reactivate or reset the second factor."""

    submit = SubmitField(_l("Ausführen"))
