"""The organisation's answer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ehrenamt.web.forms import NoControlCharacters, NumberField, choices

MINIMUM_HOURS = Decimal("0.5")
HOURS_IN_A_WEEK = 7 * 24
HOURS_IN_A_YEAR = 365 * 24


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
    hours = NumberField(
        _l("Stunden (bei Bedarf korrigieren)"),
        places=1,
        validators=[Optional()],
        render_kw={"min": "0.5"},
    )
    hours_unit = SelectField(
        _l("Zeitraum"), choices=choices([("week", _l("pro Woche")), ("year", _l("pro Jahr"))])
    )
    comment = TextAreaField(
        _l("Anmerkung (optional; bei Ablehnung bitte kurz begründen)"),
        validators=[Optional(), Length(max=2000), NoControlCharacters()],
    )
    submit = SubmitField(_l("Antwort senden"))

    def validate(self, extra_validators: Any = None) -> bool:
        """Check the fields, then what the answer needs.

        Confirming needs the hours (pre-filled with the claim) within what a week or a
        year has; declining needs a word of explanation for the clerk. These cannot be
        inline ``validate_<field>`` methods: ``Optional()`` ends a field's checks when it
        is empty, so they would never run for the empty fields they are meant to catch.
        """
        valid = super().validate(extra_validators)
        if self.answer.data == "confirm" and not self.hours.errors:
            hours = self.hours.data
            # The limit depends on the unit: 200 hours a year is a usual threshold, far
            # above a week's 168. "NaN" parses as a Decimal and cannot be compared.
            most = HOURS_IN_A_WEEK if self.hours_unit.data == "week" else HOURS_IN_A_YEAR
            if hours is None:
                self.hours.errors.append(_l("Bitte geben Sie die Stunden an."))
                valid = False
            elif hours.is_nan() or not MINIMUM_HOURS <= hours <= most:
                self.hours.errors.append(
                    _l("Bitte eine Zahl zwischen 0,5 und %(most)s.", most=most)
                )
                valid = False
        if self.answer.data == "decline" and not (self.comment.data or "").strip():
            self.comment.errors.append(_l("Bitte begründen Sie kurz, warum Sie nicht bestätigen."))
            valid = False
        return valid
