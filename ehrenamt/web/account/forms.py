"""Forms in the volunteer's account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
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
