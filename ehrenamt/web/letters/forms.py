"""Staff forms of the letters page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SubmitField
from wtforms.validators import InputRequired, NumberRange, Optional


class LetterListForm(FlaskForm):
    """The page number of the list; a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    page = IntegerField(validators=[Optional(), NumberRange(min=1)])


class MarkPrintedForm(FlaskForm):
    """Staff printed the downloaded PDF: its letters (up to the last one) are done."""

    up_to = HiddenField(validators=[InputRequired()])
    submit = SubmitField(_l("Diese Briefe sind gedruckt"))
