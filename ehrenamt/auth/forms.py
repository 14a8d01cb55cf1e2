"""Sign-in forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Passwort"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Anmelden"))


class SecondFactorForm(FlaskForm):
    """The six digits from the authenticator app."""

    code = StringField(
        _l("Code aus der Authenticator-App"),
        validators=[
            DataRequired(),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("Bitte geben Sie die 6 Ziffern ein.")),
        ],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )
    submit = SubmitField(_l("Bestätigen"))


class SignInLinkForm(FlaskForm):
    """Ask for a one-time sign-in link."""

    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Anmeldelink senden"))


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
