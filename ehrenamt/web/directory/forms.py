"""The directory's search form (GET parameters, so no CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FloatField, IntegerField, SearchField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from ehrenamt.web.forms import NoControlCharacters


class DirectorySearchForm(FlaskForm):
    """Text, category, place; the visitor's coordinates (from the "near me" button) limit
    the results to a radius and sort them by distance."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Was suchen Sie?"), validators=[Optional(), Length(max=100), NoControlCharacters()]
    )
    category = SelectField(_l("Kategorie"), validators=[Optional()])
    place = StringField(
        _l("Postleitzahl oder Ort"), validators=[Optional(), Length(max=100), NoControlCharacters()]
    )
    radius = SelectField(_l("Umkreis"), validators=[Optional()])
    lat = FloatField(_l("Breitengrad"), validators=[Optional(), NumberRange(-90, 90)])
    lon = FloatField(_l("Längengrad"), validators=[Optional(), NumberRange(-180, 180)])
    page = IntegerField(_l("Seite"), validators=[Optional(), NumberRange(min=1, max=100000)])
