"""The directory's search form (GET parameters, so no CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, FloatField, IntegerField, SearchField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from ehrenamt.partners import directory as partners_directory
from ehrenamt.web.forms import NoControlCharacters


class DirectorySearchForm(FlaskForm):
    """Text, category, place; the visitor's coordinates (from the "near me" button), or
    else a complete postcode typed as the place, with a radius limit the results to the
    radius and sort them by distance."""

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

    def around_postcode(self) -> bool:
        """Whether the place's postcode is to be the centre: a radius chosen and no
        position of the visitor's (which wins when both are given)."""
        return bool(self.radius.data) and (self.lat.data is None or self.lon.data is None)

    def validate_place(self, field: Field) -> None:
        """A postcode to search around must be one the app's table knows: otherwise the
        visitor would see an empty list and not know why."""
        postcode = partners_directory.complete_postcode(field.data or "")
        if postcode and self.around_postcode() and not partners_directory.postcode_centre(postcode):
            raise ValidationError(
                _l(
                    "Die Postleitzahl %(postcode)s ist uns nicht bekannt. Bitte prüfen Sie"
                    " sie oder wählen Sie den Umkreis „beliebig weit“.",
                    postcode=postcode,
                )
            )
