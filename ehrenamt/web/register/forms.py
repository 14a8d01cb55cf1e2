"""Staff forms of the card register: filters, the actions on a card, bulk issuing."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ehrenamt.cards import validity
from ehrenamt.cards.register import RegisterFilter
from ehrenamt.labels import CARD_STATE_LABELS, CARD_TYPE_SHORT, REVOCATION_LABELS
from ehrenamt.models import CardState, CardType
from ehrenamt.web.forms import (
    NoControlCharacters,
    PlausibleDate,
    VersionedForm,
    choices,
    filter_field,
    filter_select,
    note_field,
    reason_field,
)

#: Presets of the expiry filter: cards ending within this many days from today.
EXPIRY_PRESETS = {
    "30": _l("in den nächsten 30 Tagen"),
    "90": _l("in den nächsten 90 Tagen"),
    "365": _l("im nächsten Jahr"),
}


class RegisterFilterForm(FlaskForm):
    """Search and filters of the register; a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Kartennummer oder Name"),
        validators=[Optional(), Length(max=200), NoControlCharacters()],
    )
    state = filter_field(_l("Status"), CARD_STATE_LABELS, _l("alle"))
    card_type = filter_field(_l("Kartenart"), CARD_TYPE_SHORT, _l("alle"))
    expires_within = filter_select(
        _l("Läuft ab"), choices([("", _l("beliebig")), *EXPIRY_PRESETS.items()])
    )
    expires_by = DateField(_l("Läuft ab bis"), validators=[Optional(), PlausibleDate()])
    page = IntegerField(default=1, validators=[Optional(), NumberRange(min=1, max=100_000)])

    def filters(self) -> RegisterFilter:
        """The valid form's filters (an expiry preset counts from today)."""
        expires_by = self.expires_by.data
        if expires_by is None and self.expires_within.data:
            expires_by = validity.today() + timedelta(days=int(self.expires_within.data))
        return RegisterFilter(
            text=self.q.data or "",
            state=CardState(self.state.data) if self.state.data else None,
            card_type=CardType(self.card_type.data) if self.card_type.data else None,
            expires_by=expires_by,
        )


class CardActionForm(VersionedForm):
    """Base of every action on a card: carries the version the clerk saw."""


class RevokeForm(CardActionForm):
    """Revoke for good, with a reason from the list."""

    reason = reason_field(_l("Grund der Sperrung"), REVOCATION_LABELS)
    revoke_note = note_field(_l("Vermerk (optional)"))
    submit = SubmitField(_l("Karte sperren"))


class ReplaceForm(CardActionForm):
    """A lost card: revoke it and issue a new number with the same validity."""

    replace_note = note_field(_l("Vermerk zum Verlust (optional)"))
    #: Asked first (issue #14): the card is revoked for good and cannot be unlocked.
    confirmed = BooleanField(
        _l("Die Karte ist verloren: sperren (endgültig) und eine Ersatzkarte ausstellen."),
        validators=[DataRequired(message=_l("Bitte bestätigen Sie das Sperren."))],
    )
    submit = SubmitField(_l("Als verloren sperren und Ersatzkarte ausstellen"))


class ReissueForm(CardActionForm):
    """Make the documents again and mail them."""

    submit = SubmitField(_l("Karte neu ausstellen"))


class ExtendForm(CardActionForm):
    """A later end of validity."""

    valid_until = DateField(
        _l("Neues Ende der Gültigkeit"),
        validators=[DataRequired(message=_l("Bitte ein gültiges Datum angeben.")), PlausibleDate()],
    )
    submit = SubmitField(_l("Verlängern"))


class BulkIssueForm(FlaskForm):
    """Bulk issuing; the selected applications come as ``selected`` checkboxes."""

    submit = SubmitField(_l("Ausgewählte bewilligen und Karten ausstellen"))
