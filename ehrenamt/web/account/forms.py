"""Forms in the volunteer's account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField, TextAreaField
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


class DeleteAccountForm(FlaskForm):
    """Delete the account and every piece of data about the person, at once."""

    confirm = BooleanField(
        _l("Ich möchte mein Konto und alle meine Daten jetzt endgültig löschen."),
        validators=[DataRequired(_l("Bitte bestätigen Sie die Löschung."))],
    )
    submit = SubmitField(_l("Konto und Daten löschen"))
