"""The lines of a file of old cards: read, checked one by one, and against the database.

Towns keep their cards in spreadsheets with German or English headers; the columns are
found by name, in any order. Every error names its line (the header is line 1), and a
file with any error imports nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from ehrenamt.accounts import users
from ehrenamt.cardformat import legacy_numbers
from ehrenamt.cards.validity import today
from ehrenamt.core import spreadsheet
from ehrenamt.core.text import CONTROL_CHARACTERS
from ehrenamt.extensions import db
from ehrenamt.models import Card, CardType, User, UserRole

#: Each column and the headers towns give it (compared in lower case, "_" for spaces).
COLUMNS: dict[str, tuple[str, ...]] = {
    "first_name": ("vorname", "first_name"),
    "last_name": ("nachname", "name", "last_name"),
    "birth_date": ("geburtsdatum", "birth_date"),
    "street": ("straße", "strasse", "anschrift", "street"),
    "postcode": ("plz", "postleitzahl", "postcode"),
    "town": ("ort", "wohnort", "town"),
    "email": ("e-mail", "email", "e_mail"),
    "card_type": ("kartenart", "card_type"),
    "card_number": ("kartennummer", "nummer", "card_number"),
    "valid_from": ("gültig_ab", "gueltig_ab", "valid_from"),
    "valid_until": ("gültig_bis", "gueltig_bis", "valid_until"),
}
OPTIONAL = frozenset({"email", "valid_until"})
#: What towns write for a card type.
CARD_TYPES = {
    "standard": CardType.STANDARD,
    "ehrenamtskarte": CardType.STANDARD,
    "long_service": CardType.LONG_SERVICE,
    "jubiläum": CardType.LONG_SERVICE,
    "jubilaeum": CardType.LONG_SERVICE,
    "gold": CardType.LONG_SERVICE,
}
_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d")
_POSTCODE = re.compile(r"[0-9A-Za-z -]{3,10}")
#: Rows looked up in the database per query (IN lists stay small on both databases).
LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class LegacyRow:
    """One old card, as checked."""

    line: int
    first_name: str
    last_name: str
    birth_date: date
    street: str
    postcode: str
    town: str
    email: str | None
    card_type: CardType
    #: Canonical legacy number.
    number: str
    valid_from: date
    valid_until: date | None


@dataclass
class CheckReport:
    """What a dry run found: the good lines, and the errors by line number."""

    rows: list[LegacyRow] = field(default_factory=list)
    errors: dict[int, list[str]] = field(default_factory=dict)
    total: int = 0
    #: Lines whose number this office imported before (they are skipped, not errors).
    already_imported: int = 0

    def add_error(self, line: int, message: str) -> None:
        """Note one error of one line."""
        self.errors.setdefault(line, []).append(message)


def _header_key(cell: spreadsheet.Cell) -> str:
    return str(cell or "").strip().lower().replace(" ", "_")


def _columns(header: list[spreadsheet.Cell], report: CheckReport) -> dict[str, int] | None:
    keys = [_header_key(cell) for cell in header]
    found: dict[str, int] = {}
    for column, names in COLUMNS.items():
        for index, key in enumerate(keys):
            if key in names:
                found[column] = index
                break
        else:
            if column not in OPTIONAL:
                report.add_error(1, _("Spalte „%(column)s“ fehlt.", column=names[0]))
    return None if report.errors else found


def _text(cell: spreadsheet.Cell) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # a postcode or number typed into a number cell
    return spreadsheet.unquote_cell(str(cell).strip()) if cell is not None else ""


def _date(cell: spreadsheet.Cell) -> date | None:
    """A date cell, or text in German or ISO form; None if it is neither."""
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    text = _text(cell)
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def check_line(line: int, cells: dict[str, spreadsheet.Cell], report: CheckReport) -> None:
    """Check one line on its own; a good one is added to ``report.rows``."""
    errors: list[str] = []
    text = {column: _text(cells.get(column)) for column in COLUMNS}
    for column, value in text.items():
        if CONTROL_CHARACTERS.search(value):
            errors.append(_("Spalte „%(column)s“ enthält Steuerzeichen.", column=column))
        elif spreadsheet.is_formula(value):
            errors.append(_("Spalte „%(column)s“ ist eine Tabellenformel.", column=column))
    for column in COLUMNS:
        if column not in OPTIONAL and not text[column]:
            errors.append(_("Spalte „%(column)s“ ist leer.", column=COLUMNS[column][0]))
    for column, limit in (("first_name", 100), ("last_name", 100), ("street", 200), ("town", 100)):
        if len(text[column]) > limit:
            errors.append(_("Spalte „%(column)s“ ist zu lang.", column=COLUMNS[column][0]))
    if text["postcode"] and not _POSTCODE.fullmatch(text["postcode"]):
        errors.append(_("Die Postleitzahl ist ungültig."))
    email = users.normalise_email(text["email"]) or None
    if email is not None and ("@" not in email or " " in email or len(email) > 254):
        errors.append(_("Die E-Mail-Adresse ist ungültig."))
    card_type = CARD_TYPES.get(text["card_type"].lower())
    if text["card_type"] and card_type is None:
        errors.append(_("Unbekannte Kartenart „%(value)s“.", value=text["card_type"]))
    number = None
    if text["card_number"]:
        try:
            number = legacy_numbers.normalise_legacy_number(text["card_number"])
        except legacy_numbers.InvalidLegacyNumber as error:
            errors.append(str(error))
    dates: dict[str, date | None] = {}
    for column, label in (
        ("birth_date", _("Geburtsdatum")),
        ("valid_from", _("gültig ab")),
        ("valid_until", _("gültig bis")),
    ):
        dates[column] = _date(cells.get(column)) if text[column] else None
        if text[column] and dates[column] is None:
            errors.append(_("%(label)s: kein gültiges Datum (TT.MM.JJJJ).", label=label))
    birth, start, end = dates["birth_date"], dates["valid_from"], dates["valid_until"]
    if birth is not None and not date(1900, 1, 1) <= birth < today():
        errors.append(_("Das Geburtsdatum liegt nicht in der Vergangenheit."))
    if card_type == CardType.STANDARD and text["valid_until"] == "":
        errors.append(_("Eine Standardkarte braucht „gültig bis“."))
    if card_type == CardType.LONG_SERVICE and end is not None:
        errors.append(_("Eine Jubiläumskarte gilt unbefristet: „gültig bis“ bleibt leer."))
    if start is not None and end is not None and end < start:
        errors.append(_("„gültig bis“ liegt vor „gültig ab“."))
    if errors:
        report.errors[line] = errors
        return
    assert birth is not None and start is not None and card_type is not None and number
    report.rows.append(
        LegacyRow(
            line=line,
            first_name=text["first_name"],
            last_name=text["last_name"],
            birth_date=birth,
            street=text["street"],
            postcode=text["postcode"],
            town=text["town"],
            email=email,
            card_type=card_type,
            number=number,
            valid_from=start,
            valid_until=end,
        )
    )


def check_file(data: bytes, kind: str, office_id: int) -> CheckReport:
    """Read and check every line of a file (a dry run: nothing is written)."""
    report = CheckReport()
    rows = spreadsheet.read_rows(data, kind)
    line = 1
    try:
        header = next(rows, None)
        if header is None:
            report.add_error(1, _("Die Datei ist leer."))
            return report
        columns = _columns(header, report)
        if columns is None:
            return report
        for line, cells in enumerate(rows, start=2):
            if not any(cell not in (None, "") for cell in cells):
                continue  # spreadsheets keep empty lines at the end
            report.total += 1
            by_name = {c: cells[i] if i < len(cells) else None for c, i in columns.items()}
            check_line(line, by_name, report)
    except spreadsheet.UnreadableTable as error:
        report.add_error(error.line, _("Die Zeile ist nicht lesbar (ein Feld ist zu lang?)."))
    if report.total == 0 and not report.errors:
        report.add_error(2, _("Die Datei enthält keine Karten."))
    _check_against_each_other(report)
    _check_against_database(report, office_id)
    return report


def _check_against_each_other(report: CheckReport) -> None:
    first_line: dict[str, int] = {}
    for row in report.rows:
        seen = first_line.setdefault(row.number, row.line)
        if seen != row.line:
            report.add_error(
                row.line,
                _("Die Kartennummer steht schon in Zeile %(line)s.", line=seen),
            )


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), LOOKUP_CHUNK):
        yield items[start : start + LOOKUP_CHUNK]


def _check_against_database(report: CheckReport, office_id: int) -> None:
    """Numbers taken by cards of other offices; addresses of staff or partner accounts."""
    numbers = sorted({row.number for row in report.rows})
    taken: dict[str, tuple[int, str | None]] = {}
    for chunk in _chunks(numbers):
        query = select(Card.number, Card.legacy_number, Card.office_id).where(
            Card.number.in_(chunk) | Card.legacy_number.in_(chunk)
        )
        for number, legacy, office in db.session.execute(query):
            taken[legacy or number] = (office, legacy)
    emails = sorted({row.email for row in report.rows if row.email})
    not_volunteers: set[str] = set()
    for chunk in _chunks(emails):
        staff = select(User.email).where(User.email.in_(chunk), User.role != UserRole.VOLUNTEER)
        not_volunteers.update(email for email in db.session.scalars(staff) if email)
    for row in report.rows:
        owner = taken.get(row.number)
        if owner is not None and (owner[0] != office_id or owner[1] is None):
            report.add_error(row.line, _("Die Kartennummer gehört zu einer anderen Karte."))
        elif owner is not None:
            report.already_imported += 1
        if row.email in not_volunteers:
            report.add_error(
                row.line, _("Die E-Mail-Adresse gehört zu einem Konto der Verwaltung.")
            )
