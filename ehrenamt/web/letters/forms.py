"""Staff forms of the letters page and of print runs."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ehrenamt.labels import CARD_STATE_LABELS
from ehrenamt.models import CardState, PrintLayout
from ehrenamt.web.forms import NoControlCharacters, choices, enum_choices


class LetterListForm(FlaskForm):
    """The page number of the list; a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    page = IntegerField(validators=[Optional(), NumberRange(min=1)])


class MarkPrintedForm(FlaskForm):
    """Staff printed the downloaded PDF: its letters (up to the last one) are done."""

    up_to = HiddenField(validators=[InputRequired()])
    submit = SubmitField(_l("Diese Briefe sind gedruckt"))


LAYOUT_LABELS = {
    PrintLayout.SHEET: _l("A4-Bögen mit je 10 Karten und Schnittmarken"),
    PrintLayout.CARD_PRINTER: _l("Eine Karte je Seite (Kartendrucker)"),
}
SOURCE_LABELS = {
    "letters": _l("Karten, deren Brief „Karte ist da“ auf den Druck wartet"),
    "batch": _l("Karten eines Stapels (Karten ausstellen)"),
    "register": _l("Karten aus dem Kartenregister (Suche und Status)"),
}


class PrintRunForm(FlaskForm):
    """Which cards go into a print run, and how they are laid out."""

    source = RadioField(
        _l("Karten"),
        choices=choices(SOURCE_LABELS.items()),
        default="letters",
        validators=[InputRequired()],
    )
    batch = HiddenField()
    text = StringField(
        _l("Name oder Kartennummer (nur Kartenregister)"),
        validators=[Optional(), Length(max=100), NoControlCharacters()],
    )
    state = SelectField(
        _l("Status (nur Kartenregister)"),
        choices=enum_choices(CARD_STATE_LABELS),
        default=CardState.ACTIVE.value,
    )
    layout = RadioField(
        _l("Druckformat"),
        choices=enum_choices(LAYOUT_LABELS),
        default=PrintLayout.SHEET.value,
        validators=[InputRequired()],
    )
    submit = SubmitField(_l("Druckauftrag starten"))


class ConfirmPostedForm(FlaskForm):
    """Staff posted the run's letters."""

    submit = SubmitField(_l("Versand bestätigen"))
