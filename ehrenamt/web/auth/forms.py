"""Sign-in forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length, Regexp


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


class RecoveryCodeForm(FlaskForm):
    """One of the recovery codes shown at enrolment."""

    code = StringField(
        _l("Wiederherstellungscode"),
        validators=[DataRequired(), Length(max=40)],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Anmelden"))


class NewRecoveryCodesForm(FlaskForm):
    """Make a new set of recovery codes (the old set stops working)."""

    submit = SubmitField(_l("Neue Wiederherstellungscodes erzeugen"))


class ForgottenPasswordForm(FlaskForm):
    """Ask for a link to set a new password."""

    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Link senden"))
