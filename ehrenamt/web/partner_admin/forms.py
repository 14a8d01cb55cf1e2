"""Forms of the staff's partner pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ehrenamt.labels import PARTNER_STATE_LABELS
from ehrenamt.web.forms import InviteForm, NoControlCharacters, filter_field, note_field

#: The partner's states as the staff's list names them (one table, in labels).
STATE_LABELS = PARTNER_STATE_LABELS


class PartnerFilterForm(FlaskForm):
    """The list's state filter and page (GET parameters, so no CSRF)."""

    class Meta:
        csrf = False

    state = filter_field(_l("Status"), STATE_LABELS, _l("alle"))
    #: Only partners the directory leaves out because their address is not confirmed.
    unconfirmed = BooleanField(_l("Adresse nicht bestätigt"))
    page = IntegerField(_l("Seite"), validators=[Optional(), NumberRange(min=1, max=100000)])


class ApproveForm(FlaskForm):
    """Approve a registration."""

    submit = SubmitField(_l("Bestätigen"))


class DeclineForm(FlaskForm):
    """Decline a registration, with a reason sent to the partner."""

    reason = TextAreaField(
        _l("Begründung (wird der Akzeptanzstelle mitgeteilt)"),
        validators=[DataRequired(), Length(max=2000), NoControlCharacters()],
    )
    submit = SubmitField(_l("Ablehnen"))


class InviteAccountForm(InviteForm):
    """Staff invite an account for the partner (its address by default)."""

    submit = SubmitField(_l("Zugang einladen"))


class ResendConfirmationForm(FlaskForm):
    """Mail the partner a new link to confirm its address."""

    submit = SubmitField(_l("Bestätigungslink erneut senden"))


class BenefitNoteForm(FlaskForm):
    """Unpublish or republish a benefit, with a note."""

    note = note_field(_l("Notiz"))
    submit = SubmitField(_l("Ausführen"))


class ImportUploadForm(FlaskForm):
    """Upload a CSV file; it is checked first (dry run)."""

    file = FileField(_l("CSV-Datei"), validators=[FileRequired()])
    submit = SubmitField(_l("Prüfen"))


class ImportConfirmForm(FlaskForm):
    """Import the checked file."""

    content = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Jetzt importieren"))
