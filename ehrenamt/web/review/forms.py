"""Staff forms: queue filters and decisions."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
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
    ValidationError,
)

from ehrenamt.applications.queries import QueueFilter
from ehrenamt.labels import CARD_TYPE_SHORT, REJECTION_LABELS, STATE_SHORT
from ehrenamt.models import CardType
from ehrenamt.web.forms import (
    POSTCODE,
    NoControlCharacters,
    PlausibleDate,
    PrintableOnCard,
    VersionedForm,
    filter_field,
    note_field,
    reason_field,
)
from ehrenamt.workflow import ApplicationState


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

    def filters(self) -> QueueFilter:
        """The valid form's filters."""
        return QueueFilter(
            state=ApplicationState(self.state.data) if self.state.data else None,
            card_type=CardType(self.card_type.data) if self.card_type.data else None,
            organisation=self.organisation.data or "",
            name=self.name.data or "",
        )


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


class CorrectionForm(VersionedForm):
    """A clerk corrects the person's data (a typo, a new address), with a reason."""

    first_name = StringField(
        _l("Vorname"), validators=[DataRequired(), Length(max=100), PrintableOnCard()]
    )
    last_name = StringField(
        _l("Nachname"), validators=[DataRequired(), Length(max=100), PrintableOnCard()]
    )
    birth_date = DateField(
        _l("Geburtsdatum"),
        validators=[DataRequired(message=_l("Bitte ein gültiges Datum angeben.")), PlausibleDate()],
    )
    street = StringField(
        _l("Straße und Hausnummer"),
        validators=[DataRequired(), Length(max=200), NoControlCharacters()],
    )
    postcode = StringField(
        _l("Postleitzahl"),
        validators=[DataRequired(), POSTCODE],
    )
    town = StringField(
        _l("Ort"), validators=[DataRequired(), Length(max=100), NoControlCharacters()]
    )
    phone = StringField(
        _l("Telefon (optional)"), validators=[Optional(), Length(max=40), NoControlCharacters()]
    )
    correction_reason = TextAreaField(
        _l("Grund der Korrektur"),
        validators=[
            DataRequired(message=_l("Bitte geben Sie einen Grund an.")),
            Length(max=1000),
            NoControlCharacters(),
        ],
    )
    submit = SubmitField(_l("Korrektur speichern"))

    def validate_birth_date(self, field: DateField) -> None:
        """Born in the past, and not implausibly long ago."""
        today = date.today()
        if field.data and (field.data >= today or field.data.year < today.year - 120):
            raise ValidationError(_l("Bitte prüfen Sie das Geburtsdatum."))


class NameChangeDecisionForm(FlaskForm):
    """Apply or decline a volunteer's change of name; declining needs a reason."""

    reason = note_field(_l("Begründung (nur bei Ablehnung, geht an die Person)"))
    apply = SubmitField(_l("Namensänderung übernehmen"))
    decline = SubmitField(_l("Namensänderung ablehnen"))

    def validate(self, extra_validators: Any = None) -> bool:
        """A declined change says why (checked here: the optional field stops its own
        validators when empty)."""
        valid = super().validate(extra_validators)
        if self.decline.data and not (self.reason.data or "").strip():
            self.reason.errors = [*self.reason.errors, _l("Bitte begründen Sie die Ablehnung.")]
            return False
        return valid


class RecordAnswerForm(DecisionForm):
    """The applicant's answer that came by letter, by phone or at the counter."""

    answer = TextAreaField(
        _l("Antwort der Person (Brief, Telefon, vor Ort)"),
        validators=[
            DataRequired(message=_l("Bitte geben Sie die Antwort ein.")),
            Length(max=5000),
            NoControlCharacters(),
        ],
    )
    submit = SubmitField(_l("Antwort erfassen"))


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
