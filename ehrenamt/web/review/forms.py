"""Staff forms: queue filters and decisions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from ehrenamt.labels import CARD_TYPE_SHORT, REJECTION_LABELS, STATE_SHORT
from ehrenamt.web.forms import (
    NoControlCharacters,
    VersionedForm,
    filter_field,
    note_field,
    reason_field,
)


class QueueFilterForm(FlaskForm):
    """Filters of the queue; a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    state = filter_field(_l("Status"), STATE_SHORT, _l("alle offenen"))
    card_type = filter_field(_l("Kartenart"), CARD_TYPE_SHORT, _l("alle"))
    organisation = StringField(
        _l("Organisation beginnt mit"),
        validators=[Optional(), Length(max=200), NoControlCharacters()],
    )
    name = StringField(
        _l("Name enthält"), validators=[Optional(), Length(max=200), NoControlCharacters()]
    )
    page = IntegerField(default=1, validators=[Optional(), NumberRange(min=1, max=100_000)])


class DecisionForm(VersionedForm):
    """Base of every action on an application: carries the version the clerk saw."""


class ApproveForm(DecisionForm):
    """Approve, with an optional note for the record."""

    note = note_field(_l("Vermerk (optional)"))
    submit = SubmitField(_l("Bewilligen"))


class RejectForm(DecisionForm):
    """Reject: a reason from the list and words to the applicant."""

    reason = reason_field(_l("Grund"), REJECTION_LABELS)
    text = TextAreaField(
        _l("Erläuterung an die antragstellende Person"),
        validators=[
            DataRequired(message=_l("Bitte erläutern Sie die Ablehnung.")),
            Length(max=5000),
            NoControlCharacters(),
        ],
    )
    submit = SubmitField(_l("Ablehnen"))


class RequestInformationForm(DecisionForm):
    """Ask the applicant something."""

    question = TextAreaField(
        _l("Ihre Rückfrage"),
        validators=[
            DataRequired(message=_l("Bitte formulieren Sie die Rückfrage.")),
            Length(max=5000),
            NoControlCharacters(),
        ],
    )
    submit = SubmitField(_l("Rückfrage senden"))


class StartReviewForm(DecisionForm):
    """Start the review without waiting for every organisation."""

    note = TextAreaField(
        _l("Begründung"), validators=[DataRequired(), Length(max=2000), NoControlCharacters()]
    )
    submit = SubmitField(_l("Prüfung jetzt beginnen"))


class EngagementActionForm(FlaskForm):
    """Re-send the organisation's link, or confirm in its place with a note."""

    engagement_id = HiddenField(validators=[InputRequired()])
    note = note_field(_l("Vermerk"))
    resend = SubmitField(_l("Link erneut senden"))
    override = SubmitField(_l("An Stelle der Organisation bestätigen"))


class EraseForm(FlaskForm):
    """Erase an applicant's data for a request received by post (DSGVO Art. 17)."""

    reason = TextAreaField(
        _l("Grundlage (z. B. Schreiben vom …; ohne Namen oder Anschrift)"),
        validators=[DataRequired(), Length(max=1000), NoControlCharacters()],
    )
    confirm = BooleanField(
        _l("Die Person hat die Löschung verlangt; ihre Daten werden jetzt endgültig gelöscht."),
        validators=[DataRequired(_l("Bitte bestätigen Sie die Löschung."))],
    )
    submit = SubmitField(_l("Daten der Person löschen"))
