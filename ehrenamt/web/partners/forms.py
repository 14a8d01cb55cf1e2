"""Forms of the partner registration and the partner area."""

from __future__ import annotations

import re
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
    Optional,
    Regexp,
    ValidationError,
)

from ehrenamt.web.forms import (
    NoControlCharacters,
    PlausibleDate,
    new_password_field,
    repeated_password_field,
)

POSTCODE = Regexp(r"^\d{5}$", message=_l("Bitte geben Sie eine Postleitzahl mit 5 Ziffern ein."))
TEXT = NoControlCharacters()

#: A scheme at the start of what was typed ("https://", "ftp://", "javascript:").
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:(?!\d)", re.IGNORECASE)


def with_https(value: Any) -> Any:
    """A web address as people type it ("www.kino-dessau.de"), with ``https://`` added.

    An address with another scheme is left as it is, so the check below refuses it
    instead of turning "javascript:…" into something that looks like a host.
    """
    if not isinstance(value, str):
        return value
    value = value.strip()
    if value and not _SCHEME.match(value):
        return "https://" + value
    return value


class WebAddress:
    """An http(s) address with a host name: one message, however many checks fail
    (two validators with the same message showed it twice at the field)."""

    message = _l("Bitte geben Sie eine Web-Adresse wie www.beispiel.de ein.")

    def __call__(self, form: Any, field: Any) -> None:
        if not re.match(r"(?i)^https?://", field.data or ""):
            raise ValidationError(str(self.message))
        URL(message=str(self.message))(form, field)


class WebAddressField(StringField):
    """A web address completed with ``https://``; when refused, the field shows what the
    person typed, not the completed address they never wrote."""

    def _value(self) -> str:
        if self.errors and self.raw_data:
            return str(self.raw_data[0])
        return str(super()._value())


class KnownPostcodeArea:
    """Five digits that can be a German postcode: none begins with 00."""

    message = _l("Diese Postleitzahl gibt es in Deutschland nicht.")

    def __call__(self, form: Any, field: Any) -> None:
        if (field.data or "").startswith("00"):
            raise ValidationError(str(self.message))


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
    valid_from = DateField(_l("Gültig ab (optional)"), validators=[Optional(), PlausibleDate()])
    valid_until = DateField(_l("Gültig bis (optional)"), validators=[Optional(), PlausibleDate()])

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
    postcode = StringField(
        _l("Postleitzahl"), validators=[DataRequired(), POSTCODE, KnownPostcodeArea()]
    )
    town = StringField(_l("Ort"), validators=[DataRequired(), Length(max=100), TEXT])
    email = EmailField(
        _l("E-Mail-Adresse (Kontakt)"), validators=[DataRequired(), Email(), Length(max=254)]
    )
    website = WebAddressField(
        _l("Website (optional)"),
        filters=[with_https],
        validators=[Optional(), WebAddress(), Length(max=300)],
    )
    phone = StringField(_l("Telefon (optional)"), validators=[Optional(), Length(max=40), TEXT])
    description = TextAreaField(
        _l("Beschreibung (optional)"), validators=[Optional(), Length(max=2000), TEXT]
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


class ResendConfirmationForm(FlaskForm):
    """Ask for a new link to confirm the partner's address (a CSRF token, one button)."""

    submit = SubmitField(_l("Bestätigungslink erneut senden"))
