"""The readable summary of a data export (``uebersicht.html``): the JSON document of
:mod:`ehrenamt.privacy.export_data` in words.

The JSON keeps the program's names (``birth_date``, ``awaiting_confirmation``) so a
program can read it; a person reads labels in their language, states in words, dates and
numbers as Babel writes them in that language. Called inside ``force_locale`` of the
person's language. A key without a label shows as the key, so a field added to the JSON
is never lost from the summary (tests/test_export.py checks that every key has one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import format_currency, format_date, format_datetime, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from ehrenamt import labels
from ehrenamt.core.audit import Subject
from ehrenamt.models import NameChangeState, UserRole, VerificationChannel

#: Every key of the export's JSON, as a person reads it.
FIELD_LABELS: dict[str, LazyString] = {
    "email": _l("E-Mail-Adresse"),
    "email_confirmed_at": _l("E-Mail-Adresse bestätigt am"),
    "display_name": _l("Anzeigename"),
    "language": _l("Sprache"),
    "created_at": _l("Angelegt am"),
    "role": _l("Rolle"),
    "has_password": _l("Passwort gesetzt"),
    "public_id": _l("Vorgangsnummer"),
    "state": _l("Stand"),
    "card_type": _l("Kartenart"),
    "first_name": _l("Vorname"),
    "last_name": _l("Nachname"),
    "birth_date": _l("Geburtsdatum"),
    "street": _l("Straße und Hausnummer"),
    "postcode": _l("Postleitzahl"),
    "town": _l("Ort"),
    "phone": _l("Telefon"),
    "qualification": _l("Qualifikation"),
    "honour": _l("Staatliche Ehrung"),
    "consent_version": _l("Fassung der Datenschutzhinweise"),
    "consent_at": _l("Einwilligung am"),
    "submitted_at": _l("Gestellt am"),
    "decided_at": _l("Entschieden am"),
    "rejection_reason": _l("Ablehnungsgrund"),
    "rejection_text": _l("Begründung"),
    "information_request": _l("Rückfrage"),
    "information_answer": _l("Ihre Antwort"),
    "office": _l("Ausgabestelle"),
    "organisation_name": _l("Organisation"),
    "organisation_postcode": _l("Postleitzahl der Organisation"),
    "contact_name": _l("Ansprechperson"),
    "contact_email": _l("E-Mail-Adresse der Ansprechperson"),
    "activity": _l("Tätigkeit"),
    "hours_per_week": _l("Stunden pro Woche"),
    "hours_per_year": _l("Stunden pro Jahr"),
    "engaged_since": _l("Engagiert seit"),
    "allowance_euros_per_year": _l("Aufwandsentschädigung pro Jahr"),
    "confirmation_state": _l("Bestätigung"),
    "request_sent_at": _l("Angefragt am"),
    "confirmed_hours_per_week": _l("Bestätigte Stunden pro Woche"),
    "confirmed_hours_per_year": _l("Bestätigte Stunden pro Jahr"),
    "answer_comment": _l("Bemerkung der Organisation"),
    "answered_at": _l("Beantwortet am"),
    "original_name": _l("Dateiname"),
    "content_type": _l("Dateiart"),
    "size": _l("Größe in Bytes"),
    "sha256": _l("Prüfsumme (SHA-256)"),
    "file": _l("Datei im Archiv"),
    "note": _l("Bemerkung"),
    "decline_reason": _l("Ablehnungsgrund"),
    "at": _l("Zeitpunkt"),
    "action": _l("Vorgang"),
    "from_state": _l("Vorher"),
    "to_state": _l("Nachher"),
    "reason": _l("Begründung"),
    "by": _l("Durch"),
    "number": _l("Kartennummer"),
    "holder_name": _l("Name auf der Karte"),
    "valid_from": _l("Gültig ab"),
    "valid_until": _l("Gültig bis"),
    "issued_at": _l("Ausgestellt am"),
    "revoked_at": _l("Gesperrt am"),
    "revocation_reason": _l("Sperrgrund"),
    "revocation_note": _l("Bemerkung zur Sperrung"),
    "application": _l("Antrag"),
    "replaces": _l("Ersetzt Karte"),
    "result": _l("Ergebnis"),
    "channel": _l("Geprüft über"),
    "partner": _l("Akzeptanzstelle"),
    "benefit": _l("Vorteil"),
    "to": _l("Empfänger"),
    "subject": _l("Betreff"),
    "queued_at": _l("Erstellt am"),
    "sent_at": _l("Versandt am"),
    "old_email": _l("Frühere E-Mail-Adresse"),
    "new_email": _l("Neue E-Mail-Adresse"),
    "expires_at": _l("Gültig bis"),
    "used_at": _l("Benutzt am"),
    "saved_at": _l("Zuletzt gespeichert am"),
}

#: Keys holding a calendar day; every other key ending in ``_at`` holds a moment.
DATE_KEYS = frozenset({"birth_date", "engaged_since", "valid_from", "valid_until"})
NUMBER_KEYS = frozenset(
    {
        "hours_per_week",
        "hours_per_year",
        "confirmed_hours_per_week",
        "confirmed_hours_per_year",
        "size",
    }
)
EURO_KEYS = frozenset({"allowance_euros_per_year"})

LANGUAGE_LABELS = {"de": _l("Deutsch"), "en": _l("Englisch")}
ROLE_LABELS = {
    UserRole.VOLUNTEER.value: _l("Ehrenamtliche Person"),
    UserRole.PARTNER.value: _l("Akzeptanzstelle"),
    UserRole.CLERK.value: _l("Sachbearbeitung"),
    UserRole.ADMIN.value: _l("Administration"),
    UserRole.PROGRAMME_ADMIN.value: _l("Programmverwaltung"),
}
#: Who acted on an audit row (workflow.Actor's values): by role, never by name.
ACTOR_LABELS = {
    "applicant": _l("Sie selbst"),
    "organisation": _l("Ihre Organisation"),
    "clerk": _l("Sachbearbeitung"),
    "admin": _l("Administration"),
    "system": _l("automatisch"),
}
CHANNEL_LABELS = {
    VerificationChannel.PAGE.value: _l("Prüfseite der Akzeptanzstelle"),
    VerificationChannel.API.value: _l("Kassensystem"),
    VerificationChannel.PUBLIC.value: _l("öffentliche Prüfseite"),
}
NAME_CHANGE_LABELS = {
    NameChangeState.PENDING.value: _l("beantragt"),
    NameChangeState.APPLIED.value: _l("übernommen"),
    NameChangeState.DECLINED.value: _l("abgelehnt"),
}

#: Enum values in words, per key; ``state`` depends on the kind of object (below).
VALUE_LABELS: dict[str, Mapping[Any, LazyString]] = {
    "card_type": labels.CARD_TYPE_SHORT,
    "confirmation_state": labels.CONFIRMATION_LABELS,
    "qualification": labels.QUALIFICATION_LABELS,
    "rejection_reason": labels.REJECTION_LABELS,
    "revocation_reason": labels.REVOCATION_LABELS,
    "result": labels.CHECK_RESULT_LABELS,
    "channel": CHANNEL_LABELS,
    "language": LANGUAGE_LABELS,
    "role": ROLE_LABELS,
    "by": ACTOR_LABELS,
}
STATE_LABELS: dict[str, Mapping[Any, LazyString]] = {
    "application": labels.STATE_SHORT,
    "card": labels.CARD_STATE_LABELS,
    "name_change": NAME_CHANGE_LABELS,
}


@dataclass(frozen=True)
class Table:
    """A list of objects of one kind: labelled columns, one row of texts per object."""

    columns: list[str]
    rows: list[list[str]]


def label(key: str) -> str:
    """A JSON key as the person reads it."""
    return str(FIELD_LABELS.get(key, key))


def facts(item: Mapping[str, Any], kind: str) -> list[tuple[str, str]]:
    """The single values of one object (lists are shown as tables of their own)."""
    return [
        (label(key), text(key, value, kind))
        for key, value in item.items()
        if not isinstance(value, list | dict)
    ]


#: A draft's answers are named as the form's fields: an engagement's with its place.
_ENGAGEMENT_FIELD = re.compile(r"^engagements-(\d+)-(.+)$")


def draft_answers(answers: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """A saved draft's answers as the form's labels and what was typed."""
    found = []
    for name, values in answers.items():
        if name == "csrf_token":
            continue
        key, engagement = name, None
        if match := _ENGAGEMENT_FIELD.match(name):
            engagement, key = int(match.group(1)) + 1, match.group(2)
        name_in_words = label(key)
        if engagement is not None:
            name_in_words = _("%(field)s (Engagement %(n)s)", field=name_in_words, n=engagement)
        found.append((name_in_words, ", ".join(v for v in values if v) or "–"))
    return found


def table(items: list[Mapping[str, Any]], kind: str) -> Table:
    """Objects of one kind as a table (no rows for none)."""
    if not items:
        return Table([], [])
    keys = list(items[0].keys())
    return Table(
        [label(key) for key in keys],
        [[text(key, item.get(key), kind) for key in keys] for item in items],
    )


def text(key: str, value: Any, kind: str) -> str:
    """One JSON value in words: "–" for none, states and enums by their label, dates and
    numbers formatted for the current language."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return _("ja") if value else _("nein")
    if isinstance(value, list):
        return ", ".join(str(part) for part in value) or "–"
    words = _words(key, value, kind)
    if words is not None:
        return words
    if key in DATE_KEYS or key.endswith("_at") or key == "at":
        return _when(key, str(value))
    if key in NUMBER_KEYS or key in EURO_KEYS:
        return _number(key, value)
    return str(value)


def _words(key: str, value: Any, kind: str) -> str | None:
    if key == "state":
        table_of_kind = STATE_LABELS.get(kind, {})
        found = table_of_kind.get(value)
        return str(found) if found is not None else None
    if key == "action":
        return labels.action_words(_subject(kind), str(value))
    if key in ("from_state", "to_state"):
        return labels.state_words(_subject(kind), str(value))
    found = VALUE_LABELS.get(key, {}).get(value)
    return str(found) if found is not None else None


def _subject(kind: str) -> str:
    """The audit subject of a history table (``history_card`` → card)."""
    return Subject.CARD.value if kind.endswith("card") else Subject.APPLICATION.value


def _when(key: str, value: str) -> str:
    try:
        if key in DATE_KEYS:
            return format_date(date.fromisoformat(value[:10]), "long")
        return format_datetime(datetime.fromisoformat(value), "medium")
    except ValueError:
        return value


def _number(key: str, value: Any) -> str:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if key in EURO_KEYS:
        return format_currency(amount, "EUR")
    return format_decimal(amount, format="#,##0.##")
