"""Helpers and small forms shared by the forms of every area."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from decimal import Context, Decimal, InvalidOperation
from typing import Any, TypeVar

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    EmailField,
    Field,
    Form,
    HiddenField,
    PasswordField,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import PasswordInput

from ehrenamt.cardformat import pdf
from ehrenamt.core.text import CONTROL_CHARACTERS

E = TypeVar("E", bound=enum.Enum)

#: The largest id a database row can have (a signed 64-bit integer): a bigger number sent
#: as an id names nothing, and the database would refuse to even compare with it.
MAX_DATABASE_ID = 2**63 - 1

#: Decimal places a typed number keeps: more than any column has (coordinates have six),
#: and PostgreSQL refuses a number with more than 16,383 of them (1E-999999999).
MAX_NUMBER_PLACES = 20

#: Precision enough to round any number a range check can accept to those places.
_ROUNDING = Context(prec=60)


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """``(value, label)`` pairs as WTForms choices."""
    return [SelectChoice(str(value), label) for value, label in pairs]


def enum_choices(labels: Mapping[E, Any], *, blank: Any = None) -> list[SelectChoice]:
    """Each member of ``labels`` as a choice (its value, its label), after ``("", blank)``
    if ``blank`` is given."""
    pairs = [(member.value, label) for member, label in labels.items()]
    return choices(pairs if blank is None else [("", blank), *pairs])


#: A German postcode, in the application form and where an address is corrected.
POSTCODE = Regexp(r"^\d{5}$", message=_l("Bitte geben Sie eine fünfstellige Postleitzahl an."))


class PrintableOnCard:
    """The name is printed on the card: refuse letters its typeface cannot show."""

    def __call__(self, form: Form, field: Field) -> None:
        missing = pdf.unprintable_characters(field.data or "")
        if missing:
            raise ValidationError(
                _(
                    "Diese Zeichen können auf der Karte nicht gedruckt werden: %(chars)s. "
                    "Bitte schreiben Sie den Namen in lateinischer Schrift.",
                    chars=" ".join(sorted(missing)),
                )
            )


class PlausibleDate:
    """A date in the years a person, a card or an office's records live in (1900–2199).

    A date field takes any date down to 0001-01-01 and up to 9999-12-31, and such a date
    overflowed where it became a time in the office's zone (the audit filter answered
    500). Every date field has this check (tests/test_form_dates.py sees to it).
    """

    FIRST_YEAR, LAST_YEAR = 1900, 2199

    def __call__(self, form: Form, field: Field) -> None:
        if field.data is not None and not self.FIRST_YEAR <= field.data.year <= self.LAST_YEAR:
            raise ValidationError(
                _(
                    "Bitte ein Datum zwischen %(first)s und %(last)s angeben.",
                    first=self.FIRST_YEAR,
                    last=self.LAST_YEAR,
                )
            )


class NoControlCharacters:
    """Refuse control characters other than tabs and line breaks.

    None belongs in a name or a note, and PostgreSQL cannot even take a NUL in a query
    parameter: without this check such input would end in a server error.
    """

    message = _l("Bitte entfernen Sie die Steuerzeichen aus Ihrer Eingabe.")

    def __call__(self, form: Form, field: Field) -> None:
        if isinstance(field.data, str) and CONTROL_CHARACTERS.search(field.data):
            raise ValidationError(str(self.message))


def database_id(text: str | None) -> int | None:
    """``text`` as the id of a database row, or None if it cannot be one.

    Only ASCII digits count (``"²".isdigit()`` holds, but ``int("²")`` fails), and only
    numbers a row's id can have: the database answers a comparison with a bigger one
    with an error, not with "no such row".
    """
    if not text or not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_DATABASE_ID else None


class NumberField(DecimalField):
    """A decimal number as people type it, safe to compare and to store.

    ``Decimal`` parses "sNaN", which raises even when a range check asks ``isnan``: it
    becomes a quiet NaN, which range checks refuse with their own message (a NaN or an
    Infinity is out of every range). A number with more than MAX_NUMBER_PLACES decimal
    places is rounded to them, so 1E-999999999 becomes 0 instead of a database error; one
    that is too large to round is no usable number at all.
    """

    data: Decimal | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse like :class:`DecimalField`, then make the number safe to use."""
        super().process_formdata(valuelist)
        number = self.data
        if number is None:
            return
        if number.is_snan():
            self.data = Decimal("NaN")
            return
        exponent = number.as_tuple().exponent
        if number.is_finite() and isinstance(exponent, int) and exponent < -MAX_NUMBER_PLACES:
            try:
                rounded = number.quantize(Decimal(1).scaleb(-MAX_NUMBER_PLACES), context=_ROUNDING)
            except InvalidOperation:
                self.data = None
                raise ValueError(self.gettext("Not a valid decimal value.")) from None
            self.data = rounded if rounded else Decimal(0)


def filter_select(label: Any, options: list[SelectChoice]) -> SelectField:
    """A list's filter: one of ``options``, whose first has the empty value (no filter).

    Deliberately without ``Optional()``: that validator clears the "not a valid choice"
    error of a value that is blank but not empty (``?state=%20``), and the view would
    then take a blank for a member of the enum.
    """
    return SelectField(label, choices=options, default="")


def filter_field(label: Any, labels: Mapping[E, Any], everything: Any) -> SelectField:
    """A list's filter: one member of ``labels``, or ``everything`` (the empty value)."""
    return filter_select(label, enum_choices(labels, blank=everything))


def reason_field(label: Any, labels: Mapping[E, Any]) -> SelectField:
    """A reason the clerk must choose from ``labels``; none is chosen at first."""
    return SelectField(
        label,
        choices=enum_choices(labels, blank=_l("– bitte wählen –")),
        validators=[DataRequired(message=_l("Bitte wählen Sie einen Grund."))],
    )


def note_field(label: Any) -> TextAreaField:
    """An optional note for the record."""
    return TextAreaField(label, validators=[Optional(), Length(max=2000), NoControlCharacters()])


def password_length() -> Length:
    """How long a new password must be."""
    return Length(min=10, max=200, message=_l("Mindestens 10 Zeichen."))


#: A new password's input keeps what was typed when the form comes back with errors
#: elsewhere (issue #14): typing it twice again was what people stumbled on. The page is
#: sent with ``Cache-Control: no-store`` (web.pages), so no cache keeps it.
KEPT_PASSWORD = PasswordInput(hide_value=False)


def new_password_field(label: Any) -> PasswordField:
    """A new password; :func:`repeated_password_field` follows it as ``confirm``."""
    return PasswordField(
        label, validators=[DataRequired(), password_length()], widget=KEPT_PASSWORD
    )


def repeated_password_field() -> PasswordField:
    """The new password again; it must equal the form's ``password``."""
    return PasswordField(
        _l("Passwort wiederholen"),
        widget=KEPT_PASSWORD,
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("Die Passwörter stimmen nicht überein.")),
        ],
    )


class VersionedForm(FlaskForm):
    """Base of an action on an object: carries the version of it that the clerk saw."""

    version = HiddenField(validators=[InputRequired()])


def form_status(form: FlaskForm) -> int:
    """The status of a page that shows ``form``: 400 once it was sent and refused."""
    return 400 if form.is_submitted() else 200


def action_forms(
    version: int, defaults: dict[str, FlaskForm], submitted: dict[str, FlaskForm]
) -> dict[str, FlaskForm]:
    """A detail page's action forms: ``defaults``, but those just ``submitted`` as sent.

    Each carries the version of the object as shown now: an action sent from the page
    acts on that version, and one sent from an older page is refused.
    """
    forms = {**defaults, **submitted}
    for form in forms.values():
        if isinstance(form, VersionedForm):
            form.version.data = str(version)
    return forms


def expected_version(form: VersionedForm) -> int:
    """The version the form carries; a tampered one is a bad request.

    Any whole number is a version (an unknown one is an old one: a conflict), as long as
    the database can compare it with its column.
    """
    text = form.version.data or ""
    try:
        version = int(text) if text.isascii() else None
    except ValueError:
        version = None
    if version is None or abs(version) > MAX_DATABASE_ID:
        abort(400)
    return version


class ConfirmLinkForm(FlaskForm):
    """One button: using a one-time link needs a POST, so mail scanners cannot use it."""

    submit = SubmitField(_l("Weiter"))


class SetPasswordForm(FlaskForm):
    """Set or change the password (volunteers and partners; staff use TOTP as well)."""

    password = new_password_field(_l("Neues Passwort"))
    confirm = repeated_password_field()
    submit = SubmitField(_l("Passwort speichern"))


class InviteForm(FlaskForm):
    """Invite a colleague by e-mail."""

    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Einladen"))


def faulty_fields(form: Form) -> list[tuple[str, str, str]]:
    """``(id, label, first error)`` of every field with an error, in the form's order, rows
    of a list included (labelled with the list's label and number): the error summary
    links each one."""
    found: list[tuple[str, str, str]] = []
    for field in form:
        if field.type == "CSRFTokenField" or isinstance(field, HiddenField):
            continue
        if field.type == "FieldList":
            for number, entry in enumerate(field.entries, start=1):
                for row_id, label, error in faulty_fields(entry.form):
                    found.append((row_id, f"{field.label.text} {number}: {label}", error))
        elif field.errors:
            errors = field.errors if isinstance(field.errors, list) else []
            found.append((field.id, str(field.label.text), str(errors[0]) if errors else ""))
    return found
