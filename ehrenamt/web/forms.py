"""Helpers and small forms shared by the forms of every area."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Field, Form, PasswordField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

#: C0 control characters other than tab, line feed and carriage return.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """``(value, label)`` pairs as WTForms choices."""
    return [SelectChoice(str(value), label) for value, label in pairs]


class NoControlCharacters:
    """Refuse control characters other than tabs and line breaks.

    None belongs in a name or a note, and PostgreSQL cannot even take a NUL in a query
    parameter: without this check such input would end in a server error.
    """

    message = _l("Bitte entfernen Sie die Steuerzeichen aus Ihrer Eingabe.")

    def __call__(self, form: Form, field: Field) -> None:
        if isinstance(field.data, str) and CONTROL_CHARACTERS.search(field.data):
            raise ValidationError(str(self.message))


class ConfirmLinkForm(FlaskForm):
    """One button: using a one-time link needs a POST, so mail scanners cannot use it."""

    submit = SubmitField(_l("Weiter"))


class SetPasswordForm(FlaskForm):
    """Set or change the password (volunteers and partners; staff use TOTP as well)."""

    password = PasswordField(
        _l("Neues Passwort"),
        validators=[DataRequired(), Length(min=10, max=200, message=_l("Mindestens 10 Zeichen."))],
    )
    confirm = PasswordField(
        _l("Passwort wiederholen"),
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("Die Passwörter stimmen nicht überein.")),
        ],
    )
    submit = SubmitField(_l("Passwort speichern"))


class InviteForm(FlaskForm):
    """Invite a colleague by e-mail."""

    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Einladen"))
