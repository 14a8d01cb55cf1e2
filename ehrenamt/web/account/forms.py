"""Forms in the volunteer's account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from ehrenamt.web.forms import NoControlCharacters


class AnswerForm(FlaskForm):
    """The applicant's answer to the clerk's question."""

    answer = TextAreaField(
        _l("Ihre Antwort"), validators=[DataRequired(), Length(max=5000), NoControlCharacters()]
    )
    submit = SubmitField(_l("Antwort senden"))


class WithdrawForm(FlaskForm):
    """Withdraw an open application."""

    submit = SubmitField(_l("Antrag zurückziehen"))


class ExportForm(FlaskForm):
    """Ask for a download of everything stored about oneself."""

    submit = SubmitField(_l("Meine Daten herunterladen"))


class ReauthenticateForm(FlaskForm):
    """The password again, before a download of all one's data."""

    password = PasswordField(_l("Passwort"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Bestätigen"))


class SendSignInLinkForm(FlaskForm):
    """Without a password: a fresh sign-in by an e-mailed link instead."""

    submit = SubmitField(_l("Anmeldelink senden"))
