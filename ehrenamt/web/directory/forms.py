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
    else a complete postcode or a town's name typed as the place, with a radius limit
    the results to the radius and sort them by distance."""

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

    def around_place(self) -> bool:
        """Whether the place (its postcode or town) is to be the centre: a radius chosen
        and no position of the visitor's (which wins when both are given)."""
        return bool(self.radius.data) and (self.lat.data is None or self.lon.data is None)

    def validate_place(self, field: Field) -> None:
        """A postcode or town to search around must be one the app's table knows, and a
        town's name must name one town: otherwise the visitor would see an empty or
        unexpected list and not know why."""
        place = field.data or ""
        if not self.around_place():
            return
        postcode = partners_directory.complete_postcode(place)
        if postcode and not partners_directory.postcode_centre(postcode):
            raise ValidationError(
                _l(
                    "Die Postleitzahl %(postcode)s ist uns nicht bekannt. Bitte prüfen Sie"
                    " sie oder wählen Sie den Umkreis „beliebig weit“.",
                    postcode=postcode,
                )
            )
        search = partners_directory.town_search(place)
        if search is None or search.town is not None:
            return
        if not search.candidates:
            raise ValidationError(
                _l(
                    "Einen Ort „%(place)s“ kennen wir nicht. Bitte prüfen Sie die"
                    " Schreibweise oder geben Sie die Postleitzahl ein.",
                    place=place.strip(),
                )
            )
        shown = search.candidates[: partners_directory.TOWNS_SHOWN]
        # A no-break space keeps each postcode on the line of its town on a phone.
        listed = ", ".join(f"{town.postcode}\u00a0{town.name}" for town in shown)
        if len(search.candidates) > len(shown):
            listed += ", …"
        raise ValidationError(
            _l(
                "Meinten Sie %(towns)s? Bitte geben Sie den Ort genauer oder mit Postleitzahl ein.",
                towns=listed,
            )
        )
