"""Forms of the import of old cards: the file for the dry run, and the go-ahead."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SubmitField


class LegacyUploadForm(FlaskForm):
    """A CSV or XLSX file of old cards; it is checked first (dry run)."""

    file = FileField(
        _l("Datei mit den bisherigen Karten (CSV oder XLSX)"),
        validators=[FileRequired(message=_l("Bitte wählen Sie eine Datei aus."))],
    )
    submit = SubmitField(_l("Prüfen (noch nichts importieren)"))


class LegacyStartForm(FlaskForm):
    """Import the checked file."""

    submit = SubmitField(_l("Jetzt importieren"))
