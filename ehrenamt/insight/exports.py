"""Exports of an office's applications and cards, and the audit row of each export.

Rows are read as plain columns (no ORM objects, so nothing piles up in the session)
in batches of :data:`BATCH` from the database, and handed on one by one: an export
of any size holds about one batch in memory (tests/test_exports.py measures it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from ehrenamt.applications.queries import QueueFilter, queue_query
from ehrenamt.cardformat.card_numbers import format_card_number
from ehrenamt.cards.register import RegisterFilter, register_query
from ehrenamt.core import audit
from ehrenamt.core.access import check_staff
from ehrenamt.extensions import db
from ehrenamt.labels import CARD_STATE_LABELS, CARD_TYPE_SHORT, STATE_SHORT
from ehrenamt.models import Application, Card

#: Rows fetched from the database at a time.
BATCH = 1000

APPLICATION_COLUMNS = (
    _l("Antrag"),
    _l("Status"),
    _l("Kartenart"),
    _l("Vorname"),
    _l("Nachname"),
    _l("Geburtsdatum"),
    _l("Straße"),
    _l("PLZ"),
    _l("Ort"),
    _l("Eingegangen (UTC)"),
    _l("Entschieden (UTC)"),
)

CARD_COLUMNS = (
    _l("Kartennummer"),
    _l("Name"),
    _l("Kartenart"),
    _l("Status"),
    _l("gültig ab"),
    _l("gültig bis"),
    _l("ausgestellt am (UTC)"),
)


def record_export(acting: audit.Acting, office_id: int, what: str, filters: str) -> None:
    """Audit an export before its first byte is sent, and commit: a download cut off
    half-way still happened. ``what`` names the data and format ("cards.csv"), ``filters``
    the list's filters as the request gave them (no names: they are search terms)."""
    check_staff(acting, office_id, what)
    audit.record(
        acting,
        subject_type=audit.Subject.OFFICE,
        subject_id=office_id,
        action=audit.AuditAction.EXPORT,
        office_id=office_id,
        reason=f"{what} {filters}".strip()[:2000],
    )
    db.session.commit()


def _naive(moment: Any) -> Any:
    """A UTC time without its zone (spreadsheets have none; the header says UTC)."""
    return moment.replace(tzinfo=None, microsecond=0) if moment is not None else None


def _words(labels: Mapping[Any, Any]) -> dict[Any, str]:
    """Labels translated once per export, not once per row."""
    return {key: str(label) for key, label in labels.items()}


def _stream(query: Any) -> Iterator[Any]:
    """The query's rows in batches of :data:`BATCH` (a server-side cursor on PostgreSQL)."""
    yield from db.session.execute(query.execution_options(yield_per=BATCH))


def application_rows(office_id: int, filters: QueueFilter) -> Iterator[list[object]]:
    """The queue's applications as rows of :data:`APPLICATION_COLUMNS`."""
    query = queue_query(office_id, filters).with_only_columns(
        Application.public_id,
        Application.state,
        Application.card_type,
        Application.first_name,
        Application.last_name,
        Application.birth_date,
        Application.street,
        Application.postcode,
        Application.town,
        Application.submitted_at,
        Application.decided_at,
    )
    states, card_types = _words(STATE_SHORT), _words(CARD_TYPE_SHORT)
    for row in _stream(query):
        yield [
            row.public_id,
            states[row.state],
            card_types[row.card_type],
            row.first_name,
            row.last_name,
            row.birth_date,
            row.street,
            row.postcode,
            row.town,
            _naive(row.submitted_at),
            _naive(row.decided_at),
        ]


def card_rows(office_id: int, filters: RegisterFilter) -> Iterator[list[object]]:
    """The register's cards as rows of :data:`CARD_COLUMNS`."""
    query = register_query(office_id, filters).with_only_columns(
        Card.number,
        Card.holder_name,
        Card.card_type,
        Card.state,
        Card.valid_from,
        Card.valid_until,
        Card.issued_at,
    )
    states, card_types = _words(CARD_STATE_LABELS), _words(CARD_TYPE_SHORT)
    for row in _stream(query):
        yield [
            format_card_number(row.number),
            row.holder_name,
            card_types[row.card_type],
            states[row.state],
            row.valid_from,
            row.valid_until,
            _naive(row.issued_at),
        ]
