"""The application form: person, card type, engagements or a qualification, consent."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TelField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ehrenamt.labels import CARD_TYPE_SHORT, QUALIFICATION_LABELS
from ehrenamt.models import CardType
from ehrenamt.web.forms import (
    KEPT_PASSWORD,
    POSTCODE,
    NumberField,
    PlausibleDate,
    PrintableOnCard,
    choices,
    enum_choices,
    password_length,
)

#: Control characters except the tab, which pasted text may carry harmlessly.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
MINIMUM_HOURS = Decimal("0.5")
HOURS_IN_A_WEEK = 7 * 24
HOURS_IN_A_YEAR = 365 * 24


class EngagementForm(FlaskForm):
    """One organisation; all fields optional here, required once any is filled in."""

    class Meta:
        # A FlaskForm (not a plain Form) so that WTForms' own messages ("Ungültige
        # E-Mail-Adresse") come in the page's language; the outer form has the CSRF token.
        csrf = False

    organisation_name = StringField(
        _l("Name der Organisation"), validators=[Optional(), Length(max=200)]
    )
    organisation_postcode = StringField(
        _l("Postleitzahl des Einsatzortes (optional)"), validators=[Optional(), POSTCODE]
    )
    contact_name = StringField(
        _l("Ansprechperson (Vorstand, Leitung)"), validators=[Optional(), Length(max=200)]
    )
    contact_email = EmailField(
        _l("E-Mail-Adresse der Ansprechperson"), validators=[Optional(), Email(), Length(max=254)]
    )
    activity = StringField(_l("Ihre Tätigkeit"), validators=[Optional(), Length(max=300)])
    hours = NumberField(
        _l("Stunden"),
        places=1,
        validators=[Optional()],
        render_kw={"min": "0.5"},
    )
    hours_unit = SelectField(
        _l("Zeitraum"),
        choices=choices([("week", _l("pro Woche")), ("year", _l("pro Jahr"))]),
        default="week",
    )
    engaged_since = DateField(_l("Engagiert seit"), validators=[Optional(), PlausibleDate()])
    allowance = IntegerField(
        _l("Aufwandsentschädigung in € pro Jahr (0, wenn keine)"),
        default=0,
        validators=[
            Optional(),
            NumberRange(min=0, max=1_000_000, message=_l("Bitte einen Betrag in Euro angeben.")),
        ],
    )

    REQUIRED: tuple[str, ...] = (
        "organisation_name",
        "contact_name",
        "contact_email",
        "activity",
        "hours",
        "engaged_since",
    )
    TEXT_FIELDS = (
        "organisation_name",
        "organisation_postcode",
        "contact_name",
        "contact_email",
        "activity",
    )

    def validate_hours(self, field: NumberField) -> None:
        """Half an hour at least; at most the hours a week (or a year) has.

        The limit depends on the unit: 200 hours per year is a common threshold, so a
        fixed maximum of a week's 168 hours would refuse eligible applicants. "NaN" parses
        as a Decimal and cannot be compared, so it is refused before comparing.
        """
        if field.data is None:
            return
        most = HOURS_IN_A_WEEK if self.hours_unit.data == "week" else HOURS_IN_A_YEAR
        if field.data.is_nan() or not MINIMUM_HOURS <= field.data <= most:
            raise ValidationError(_l("Bitte eine Zahl zwischen 0,5 und %(most)s.", most=most))

    def is_blank(self) -> bool:
        """Nothing typed in (an unused extra row)."""
        return not any(
            str(value).strip()
            for name in (*self.TEXT_FIELDS, "hours", "engaged_since")
            for value in (self[name].raw_data or [])
        )

    def check_complete(self, today: date) -> bool:
        """Require the fields of a row that is used; False if something is missing."""
        ok = True
        for name in self.REQUIRED:
            field = self[name]
            if field.data in (None, "") and not field.errors:
                field.errors = [*field.errors, _l("Bitte ausfüllen.")]
                ok = False
        if self.engaged_since.data and self.engaged_since.data > today:
            self.engaged_since.errors = [
                *self.engaged_since.errors,
                _l("Das Datum liegt in der Zukunft."),
            ]
            ok = False
        return ok


class ApplicationForm(FlaskForm):
    """Everything the programme's rules need, and nothing more."""

    submission_key = HiddenField()
    proof_token = HiddenField()
    office = SelectField(_l("Ausgabestelle"), coerce=int, validators=[InputRequired()])
    card_type = RadioField(
        _l("Kartenart"),
        choices=enum_choices(CARD_TYPE_SHORT),
        default=CardType.STANDARD.value,
        validators=[InputRequired()],
    )
    first_name = StringField(
        _l("Vorname"),
        validators=[DataRequired(), Length(max=100), PrintableOnCard()],
        render_kw={"autocomplete": "given-name"},
    )
    last_name = StringField(
        _l("Nachname"),
        validators=[DataRequired(), Length(max=100), PrintableOnCard()],
        render_kw={"autocomplete": "family-name"},
    )
    birth_date = DateField(
        _l("Geburtsdatum"),
        validators=[DataRequired(message=_l("Bitte ein gültiges Datum angeben.")), PlausibleDate()],
        render_kw={"autocomplete": "bday"},
    )
    street = StringField(
        _l("Straße und Hausnummer"),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "street-address"},
    )
    postcode = StringField(
        _l("Postleitzahl"),
        validators=[DataRequired(), POSTCODE],
        render_kw={"autocomplete": "postal-code", "inputmode": "numeric"},
    )
    town = StringField(
        _l("Ort"),
        validators=[DataRequired(), Length(max=100)],
        render_kw={"autocomplete": "address-level2"},
    )
    email = EmailField(
        _l("E-Mail-Adresse"),
        validators=[DataRequired(), Email(), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    phone = TelField(
        _l("Telefon (optional)"),
        validators=[Optional(), Length(max=40)],
        render_kw={"autocomplete": "tel"},
    )
    password = PasswordField(
        _l("Passwort für Ihr Konto (optional – sonst melden Sie sich per E-Mail-Link an)"),
        validators=[Optional(), password_length()],
        widget=KEPT_PASSWORD,
        render_kw={"autocomplete": "new-password"},
    )
    engagements = FieldList(
        FormField(EngagementForm), _l("Organisation"), min_entries=1, max_entries=10
    )
    add_engagement = SubmitField(_l("Weitere Organisation hinzufügen"))
    qualification = SelectField(
        _l("Qualifikation statt Stundennachweis (optional)"),
        choices=enum_choices(QUALIFICATION_LABELS, blank=_l("– keine –")),
        default="",
    )
    proof = FileField(_l("Nachweis (PDF, JPEG oder PNG, höchstens 5 MB)"))
    honour = StringField(
        _l("Staatliche Ehrung (nur für die Jubiläumskarte, optional)"),
        validators=[Optional(), Length(max=200)],
    )
    consent = BooleanField(
        _l(
            "Ich habe die Datenschutzhinweise gelesen und willige in die Verarbeitung meiner Angaben ein."  # noqa: E501 (one message for translators)
        ),
        validators=[
            DataRequired(
                message=_l("Ohne Ihre Einwilligung können wir den Antrag nicht bearbeiten.")
            )
        ],
    )
    #: Shown when the answers do not meet the office's rules (ehrenamt.applications.precheck):
    #: the applicant has read why and applies anyway.
    despite_rules = BooleanField(
        _l("Ich habe die Hinweise gelesen und möchte den Antrag trotzdem stellen.")
    )
    submit = SubmitField(_l("Antrag absenden"))
    #: Saves what was typed as a draft (ehrenamt.applications.drafts), complete or not.
    save_draft = SubmitField(_l("Entwurf speichern"))

    def __init__(
        self,
        *args: Any,
        allowed_qualifications: list[str] | None = None,
        has_proof: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.has_proof = has_proof
        if allowed_qualifications is not None:
            allowed = {
                q: label
                for q, label in QUALIFICATION_LABELS.items()
                if q.value in allowed_qualifications
            }
            self.qualification.choices = enum_choices(allowed, blank=_l("– keine –"))

    def validate_birth_date(self, field: DateField) -> None:
        """Born in the past, and not implausibly long ago."""
        today = date.today()
        if field.data and (field.data >= today or field.data.year < today.year - 120):
            raise ValidationError(_l("Bitte prüfen Sie das Geburtsdatum."))

    def used_engagements(self) -> list[EngagementForm]:
        """The engagement rows the applicant filled in."""
        return [entry.form for entry in self.engagements.entries if not entry.form.is_blank()]

    def validate(self, extra_validators: Any = None) -> bool:
        """Field checks, then: each used engagement complete; engagements or qualification."""
        ok = super().validate(extra_validators)
        today = date.today()
        used = self.used_engagements()
        for engagement in used:
            ok = engagement.check_complete(today) and ok
        if not used and not self.qualification.data:
            self.engagements.entries[0].form.organisation_name.errors = [
                *self.engagements.entries[0].form.organisation_name.errors,
                _l(
                    "Bitte geben Sie mindestens eine Organisation an – oder eine Qualifikation mit Nachweis."  # noqa: E501 (one message for translators)
                ),
            ]
            ok = False
        if self.qualification.data and not self.has_proof:
            self.proof.errors = [
                *self.proof.errors,
                _l("Bitte laden Sie einen Nachweis der Qualifikation hoch."),
            ]
            ok = False
        return self._refuse_control_characters() and ok

    def validate_draft(self) -> bool:
        """What a draft needs: an e-mail address to mail its link to, and text a database
        can store. Nothing else is checked: a draft is unfinished by nature."""
        return self.email.validate(self) and self._refuse_control_characters()

    def draft_answers(self) -> dict[str, list[str]]:
        """The form's text answers as sent, by field name, for a draft: no password, no
        file, no buttons and none of the hidden keys that belong to one visit."""
        skipped = {
            "csrf_token",
            "submission_key",
            "proof_token",
            "password",
            "proof",
            # The applicant decides again, after reading the rules' hints once more.
            "despite_rules",
        }
        rows = (field for entry in self.engagements.entries for field in entry.form)
        return {
            field.name: [value for value in field.raw_data if isinstance(value, str)]
            for field in (*self, *rows)
            if not isinstance(field, SubmitField | FieldList | FormField)
            and field.name not in skipped
            and field.raw_data
        }

    def _refuse_control_characters(self) -> bool:
        """Text with control characters is refused at its field.

        No one types them into a one-line input, and PostgreSQL cannot store a NUL at all
        (it would be a 500 on saving instead of an error here). Hidden fields are the
        view's business: an error there would show nowhere.
        """
        ok = True
        rows = (field for entry in self.engagements.entries for field in entry.form)
        for field in (*self, *rows):
            if (
                isinstance(field, StringField)
                and not isinstance(field, HiddenField)
                and any(
                    CONTROL_CHARACTERS.search(value)
                    for value in field.raw_data or []
                    if isinstance(value, str)
                )
            ):
                field.errors = [*field.errors, _l("Bitte ohne Steuerzeichen eingeben.")]
                ok = False
        return ok
