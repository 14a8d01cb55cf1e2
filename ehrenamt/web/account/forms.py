"""Forms in the volunteer's account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length

from ehrenamt.web.forms import POSTCODE, NoControlCharacters, PrintableOnCard, note_field


class AnswerForm(FlaskForm):
    """The applicant's answer to the clerk's question."""

    answer = TextAreaField(
        _l("Ihre Antwort"), validators=[DataRequired(), Length(max=5000), NoControlCharacters()]
    )
    #: The proof the clerk asked for, if any; checked on its bytes (core.uploads).
    proof = FileField(_l("Datei anhängen (PDF, JPEG oder PNG, höchstens 5 MB, optional)"))
    submit = SubmitField(_l("Antwort senden"))


class WithdrawForm(FlaskForm):
    """Withdraw an open application."""

    submit = SubmitField(_l("Antrag zurückziehen"))


class ExportForm(FlaskForm):
    """Ask for a download of everything stored about oneself."""

    submit = SubmitField(_l("Meine Daten herunterladen"))


class ReauthenticateForm(FlaskForm):
    """The password again, before a download of all one's data."""

    password = PasswordField(_l("Passwort"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Bestätigen"))


class SendSignInLinkForm(FlaskForm):
    """Without a password: a fresh sign-in by an e-mailed link instead."""

    submit = SubmitField(_l("Anmeldelink senden"))


class EmailChangeForm(FlaskForm):
    """A new e-mail address; it counts once the link mailed to it is used."""

    email = EmailField(
        _l("Neue E-Mail-Adresse"), validators=[DataRequired(), Email(), Length(max=254)]
    )
    submit = SubmitField(_l("E-Mail-Adresse ändern"))


class AddressForm(FlaskForm):
    """The postal address, corrected on the current applications."""

    street = StringField(
        _l("Straße und Hausnummer"),
        validators=[DataRequired(), Length(max=200), NoControlCharacters()],
        render_kw={"autocomplete": "street-address"},
    )
    postcode = StringField(
        _l("Postleitzahl"),
        validators=[DataRequired(), POSTCODE],
        render_kw={"autocomplete": "postal-code", "inputmode": "numeric"},
    )
    town = StringField(
        _l("Ort"),
        validators=[DataRequired(), Length(max=100), NoControlCharacters()],
        render_kw={"autocomplete": "address-level2"},
    )
    submit = SubmitField(_l("Anschrift speichern"))


class NameChangeForm(FlaskForm):
    """A new name, sent to the office as a request."""

    first_name = StringField(
        _l("Vorname"),
        validators=[DataRequired(), Length(max=100), NoControlCharacters(), PrintableOnCard()],
        render_kw={"autocomplete": "given-name"},
    )
    last_name = StringField(
        _l("Nachname"),
        validators=[DataRequired(), Length(max=100), NoControlCharacters(), PrintableOnCard()],
        render_kw={"autocomplete": "family-name"},
    )
    note = note_field(_l("Anlass (optional), z. B. Heirat"))
    submit = SubmitField(_l("Namensänderung beantragen"))


class DeleteAccountForm(FlaskForm):
    """Delete the account and every piece of data about the person, at once."""

    confirm = BooleanField(
        _l("Ich möchte mein Konto und alle meine Daten jetzt endgültig löschen."),
        validators=[DataRequired(_l("Bitte bestätigen Sie die Löschung."))],
    )
    submit = SubmitField(_l("Konto und Daten löschen"))
