"""Forms of the partner's API key pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from ehrenamt.web.forms import NoControlCharacters


class CreateKeyForm(FlaskForm):
    """A new key, named so the partner knows later which till uses it."""

    name = StringField(
        _l("Bezeichnung (z. B. „Kasse 1“)"),
        validators=[DataRequired(), Length(max=100), NoControlCharacters()],
    )
    submit = SubmitField(_l("Schlüssel erstellen"))


class RevokeKeyForm(FlaskForm):
    """Revoke one key; tills using it are refused at once."""

    submit = SubmitField(_l("Widerrufen"))
