"""The partner's check form: a scanned QR content or a typed card number."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from ehrenamt.web.forms import NoControlCharacters

#: Longer than any card URL (a QR code of version 12 holds at most ~600 characters).
MAX_CODE_LENGTH = 2000


class CheckForm(FlaskForm):
    """One code to check and, optionally, the benefit given."""

    code = StringField(
        _l("Kartennummer"),
        validators=[DataRequired(), Length(max=MAX_CODE_LENGTH), NoControlCharacters()],
    )
    benefit = SelectField(_l("Gewährter Vorteil (freiwillig)"), choices=[], validate_choice=False)
    submit = SubmitField(_l("Prüfen"))
