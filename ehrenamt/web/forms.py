"""Helpers and small forms shared by the forms of every area."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    Field,
    Form,
    HiddenField,
    PasswordField,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

E = TypeVar("E", bound=enum.Enum)

#: C0 control characters other than tab, line feed and carriage return.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """``(value, label)`` pairs as WTForms choices."""
    return [SelectChoice(str(value), label) for value, label in pairs]


def enum_choices(labels: Mapping[E, Any], *, blank: Any = None) -> list[SelectChoice]:
    """Each member of ``labels`` as a choice (its value, its label), after ``("", blank)``
    if ``blank`` is given."""
    pairs = [(member.value, label) for member, label in labels.items()]
    return choices(pairs if blank is None else [("", blank), *pairs])


class NoControlCharacters:
    """Refuse control characters other than tabs and line breaks.

    None belongs in a name or a note, and PostgreSQL cannot even take a NUL in a query
    parameter: without this check such input would end in a server error.
    """

    message = _l("Bitte entfernen Sie die Steuerzeichen aus Ihrer Eingabe.")

    def __call__(self, form: Form, field: Field) -> None:
        if isinstance(field.data, str) and CONTROL_CHARACTERS.search(field.data):
            raise ValidationError(str(self.message))


def filter_field(label: Any, labels: Mapping[E, Any], everything: Any) -> SelectField:
    """A list's filter: one member of ``labels``, or ``everything`` (the empty value)."""
    return SelectField(
        label, choices=enum_choices(labels, blank=everything), default="", validators=[Optional()]
    )


def reason_field(label: Any, labels: Mapping[E, Any]) -> SelectField:
    """A reason the clerk must choose from ``labels``; none is chosen at first."""
    return SelectField(
        label,
        choices=enum_choices(labels, blank=_l("– bitte wählen –")),
        validators=[DataRequired(message=_l("Bitte wählen Sie einen Grund."))],
    )


def note_field(label: Any) -> TextAreaField:
    """An optional note for the record."""
    return TextAreaField(label, validators=[Optional(), Length(max=2000), NoControlCharacters()])


def password_length() -> Length:
    """How long a new password must be."""
    return Length(min=10, max=200, message=_l("Mindestens 10 Zeichen."))


def new_password_field(label: Any) -> PasswordField:
    """A new password; :func:`repeated_password_field` follows it as ``confirm``."""
    return PasswordField(label, validators=[DataRequired(), password_length()])


def repeated_password_field() -> PasswordField:
    """The new password again; it must equal the form's ``password``."""
    return PasswordField(
        _l("Passwort wiederholen"),
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("Die Passwörter stimmen nicht überein.")),
        ],
    )


class VersionedForm(FlaskForm):
    """Base of an action on an object: carries the version of it that the clerk saw."""

    version = HiddenField(validators=[InputRequired()])


def form_status(form: FlaskForm) -> int:
    """The status of a page that shows ``form``: 400 once it was sent and refused."""
    return 400 if form.is_submitted() else 200


def action_forms(
    version: int, defaults: dict[str, FlaskForm], submitted: dict[str, FlaskForm]
) -> dict[str, FlaskForm]:
    """A detail page's action forms: ``defaults``, but those just ``submitted`` as sent.

    Each carries the version of the object as shown now: an action sent from the page
    acts on that version, and one sent from an older page is refused.
    """
    forms = {**defaults, **submitted}
    for form in forms.values():
        if isinstance(form, VersionedForm):
            form.version.data = str(version)
    return forms


def expected_version(form: VersionedForm) -> int:
    """The version the form carries; a tampered one is a bad request."""
    try:
        return int(form.version.data)
    except (TypeError, ValueError):
        abort(400)


class ConfirmLinkForm(FlaskForm):
    """One button: using a one-time link needs a POST, so mail scanners cannot use it."""

    submit = SubmitField(_l("Weiter"))


class SetPasswordForm(FlaskForm):
    """Set or change the password (volunteers and partners; staff use TOTP as well)."""

    password = new_password_field(_l("Neues Passwort"))
    confirm = repeated_password_field()
    submit = SubmitField(_l("Passwort speichern"))


class InviteForm(FlaskForm):
    """Invite a colleague by e-mail."""

    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Einladen"))
