"""The organisation's answer."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from ehrenamt.forms import choices


class ConfirmationForm(FlaskForm):
    """Confirm (possibly with corrected hours) or decline, with an optional comment."""

    answer = RadioField(
        _l("Ihre Antwort"),
        choices=choices(
            [
                ("confirm", _l("Ich bestätige das Engagement")),
                ("decline", _l("Ich kann das Engagement nicht bestätigen")),
            ]
        ),
        validators=[InputRequired(message=_l("Bitte wählen Sie eine Antwort."))],
    )
    hours = DecimalField(
        _l("Stunden (bei Bedarf korrigieren)"),
        places=1,
        validators=[
            Optional(),
            NumberRange(min=0.5, max=168, message=_l("Bitte eine Zahl zwischen 0,5 und 168.")),
        ],
    )
    hours_unit = SelectField(
        _l("Zeitraum"), choices=choices([("week", _l("pro Woche")), ("year", _l("pro Jahr"))])
    )
    comment = TextAreaField(
        _l("Anmerkung (optional; bei Ablehnung bitte kurz begründen)"),
        validators=[Optional(), Length(max=2000)],
    )
    submit = SubmitField(_l("Antwort senden"))

    def validate_hours(self, field: DecimalField) -> None:
        """Confirming needs the hours (pre-filled with what the applicant claimed)."""
        if self.answer.data == "confirm" and field.data is None:
            raise ValidationError(_l("Bitte geben Sie die Stunden an."))

    def validate_comment(self, field: TextAreaField) -> None:
        """Declining needs a word of explanation for the clerk."""
        if self.answer.data == "decline" and not (field.data or "").strip():
            raise ValidationError(_l("Bitte begründen Sie kurz, warum Sie nicht bestätigen."))
