"""Forms of the partner registration and the partner area."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    FieldList,
    FormField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from ehrenamt.web.forms import (
    NoControlCharacters,
    NumberField,
    new_password_field,
    repeated_password_field,
)

POSTCODE = Regexp(r"^\d{5}$", message=_l("Bitte geben Sie eine Postleitzahl mit 5 Ziffern ein."))
TEXT = NoControlCharacters()


class BenefitForm(FlaskForm):
    """One benefit: title, description, conditions, valid from/until."""

    class Meta:
        # Also used inside the registration form, which carries the CSRF token.
        csrf = False

    title = StringField(
        _l("Titel der Vergünstigung"), validators=[Optional(), Length(max=200), TEXT]
    )
    description = TextAreaField(_l("Beschreibung"), validators=[Optional(), Length(max=2000), TEXT])
    conditions = TextAreaField(
        _l("Bedingungen (optional)"), validators=[Optional(), Length(max=2000), TEXT]
    )
    valid_from = DateField(_l("Gültig ab (optional)"), validators=[Optional()])
    valid_until = DateField(_l("Gültig bis (optional)"), validators=[Optional()])

    def validate_valid_until(self, field: Any) -> None:
        """The end cannot come before the start."""
        if field.data and self.valid_from.data and field.data < self.valid_from.data:
            raise ValidationError(_l("Das Ende liegt vor dem Beginn."))


class BenefitEditForm(BenefitForm):
    """A benefit on its own page: the title is required, the form has a CSRF token."""

    class Meta:
        csrf = True

    title = StringField(
        _l("Titel der Vergünstigung"), validators=[DataRequired(), Length(max=200), TEXT]
    )
    submit = SubmitField(_l("Speichern"))


class ProfileForm(FlaskForm):
    """The partner's public profile."""

    name = StringField(
        _l("Name der Akzeptanzstelle"), validators=[DataRequired(), Length(max=200), TEXT]
    )
    category = SelectField(_l("Kategorie"), coerce=int, validators=[DataRequired()])
    street = StringField(
        _l("Straße und Hausnummer"), validators=[DataRequired(), Length(max=200), TEXT]
    )
    postcode = StringField(_l("Postleitzahl"), validators=[DataRequired(), POSTCODE])
    town = StringField(_l("Ort"), validators=[DataRequired(), Length(max=100), TEXT])
    email = EmailField(
        _l("E-Mail-Adresse (Kontakt)"), validators=[DataRequired(), Email(), Length(max=254)]
    )
    website = StringField(
        _l("Website (optional)"),
        validators=[
            Optional(),
            URL(message=_l("Bitte geben Sie eine Adresse mit https:// ein.")),
            Regexp(r"(?i)^https?://", message=_l("Bitte geben Sie eine Adresse mit https:// ein.")),
            Length(max=300),
        ],
    )
    phone = StringField(_l("Telefon (optional)"), validators=[Optional(), Length(max=40), TEXT])
    description = TextAreaField(
        _l("Beschreibung (optional)"), validators=[Optional(), Length(max=2000), TEXT]
    )
    latitude = NumberField(
        _l("Breitengrad (optional)"), places=6, validators=[Optional(), NumberRange(-90, 90)]
    )
    longitude = NumberField(
        _l("Längengrad (optional)"), places=6, validators=[Optional(), NumberRange(-180, 180)]
    )
    submit = SubmitField(_l("Speichern"))


class RegistrationForm(ProfileForm):
    """A business registers itself, with its first benefits and its first account."""

    office = SelectField(_l("Zuständige Ausgabestelle"), coerce=int, validators=[DataRequired()])
    email = EmailField(
        _l("E-Mail-Adresse (Kontakt und Anmeldung)"),
        validators=[DataRequired(), Email(), Length(max=254)],
    )
    contact_name = StringField(
        _l("Ihr Name (Ansprechperson)"), validators=[DataRequired(), Length(max=200), TEXT]
    )
    password = new_password_field(_l("Passwort"))
    confirm = repeated_password_field()
    benefits = FieldList(FormField(BenefitForm), _l("Vergünstigung"), min_entries=2, max_entries=5)
    submit = SubmitField(_l("Registrieren"))

    def validate_benefits(self, field: Any) -> None:
        """At least one benefit; the first one's title is required."""
        first = field.entries[0].form
        if not (first.title.data or "").strip():
            first.title.errors = [
                *first.title.errors,
                str(_l("Bitte nennen Sie mindestens eine Vergünstigung.")),
            ]
            raise ValidationError(_l("Bitte nennen Sie mindestens eine Vergünstigung."))


class DeleteForm(FlaskForm):
    """One button with a CSRF token."""

    submit = SubmitField(_l("Löschen"))
