"""Forms in the volunteer's account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from ehrenamt.web.forms import NoControlCharacters


class AnswerForm(FlaskForm):
    """The applicant's answer to the clerk's question."""

    answer = TextAreaField(
        _l("Ihre Antwort"), validators=[DataRequired(), Length(max=5000), NoControlCharacters()]
    )
    #: The proof the clerk asked for, if any; checked on its bytes (core.uploads).
    proof = FileField(_l("Datei anhängen (PDF, JPEG oder PNG, höchstens 5 MB, optional)"))
    submit = SubmitField(_l("Antwort senden"))


class WithdrawForm(FlaskForm):
    """Withdraw an open application."""

    submit = SubmitField(_l("Antrag zurückziehen"))
