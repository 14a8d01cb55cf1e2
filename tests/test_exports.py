"""Staff exports of applications and cards: filters, formats, defused cells, audit, memory."""

from __future__ import annotations

import csv
import io
import secrets
import tracemalloc
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, insert, select

from ehrenamt.cards.register import RegisterFilter
from ehrenamt.core import spreadsheet
from ehrenamt.extensions import db
from ehrenamt.insight import exports
from ehrenamt.models import AuditEntry, Card, CardState, CardType, Office, User, UserRole
from ehrenamt.workflow import ApplicationState
from tests.factories import make_application, make_office, make_user
from tests.helpers import page_text, sign_in

QUEUE_EXPORT = "/verwaltung/export"
CARDS_EXPORT = "/verwaltung/karten/export"
FORMULA = '=HYPERLINK("http://evil","x")'


def _csv(body: str) -> list[list[str]]:
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def add_cards(office: Office, count: int, *, name: str = "Erika Muster") -> None:
    """``count`` active cards, inserted in one statement (one application: each card
    replaces the one before, as lost cards do, so one approval holds them all)."""
    application = make_application(office, make_user(UserRole.VOLUNTEER, password=None))
    # After every card so far: the register lists the newest (highest id) first.
    first = (db.session.scalar(select(func.max(Card.id))) or 0) + 1_000
    db.session.execute(
        insert(Card),
        [
            {
                "id": first + n,
                "public_id": secrets.token_hex(16),
                "number": f"{first + n:012d}",
                "application_id": application.id,
                "office_id": office.id,
                "holder_id": application.applicant_id,
                "replaces_id": first + n - 1 if n else None,
                "state": CardState.ACTIVE,
                "card_type": CardType.STANDARD,
                "holder_name": name,
                "search_name": name.lower(),
                "valid_from": date(2026, 1, 1),
                "valid_until": date(2028, 1, 1),
            }
            for n in range(count)
        ],
    )
    db.session.commit()


@pytest.fixture
def office(ctx: None) -> Office:
    return make_office()


@pytest.fixture
def clerk(office: Office) -> User:
    return make_user(UserRole.CLERK, office)


def test_queue_export_as_csv_keeps_the_filters_and_defuses_formulas(
    client: FlaskClient, office: Office, clerk: User
) -> None:
    make_application(office, state=ApplicationState.IN_REVIEW, first_name=FORMULA)
    make_application(office, state=ApplicationState.SUBMITTED, first_name="Nicht")
    make_application(make_office(), state=ApplicationState.IN_REVIEW, first_name="Fremd")
    clerk_id = clerk.id
    sign_in(client, clerk)
    response = client.get(f"{QUEUE_EXPORT}.csv?state=in_review", buffered=True)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="antraege.csv"' in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    rows = _csv(response.get_data(as_text=True))
    assert rows[0][:4] == ["Antrag", "Status", "Kartenart", "Vorname"]
    assert len(rows) == 2
    assert rows[1][1] == "In Prüfung"
    assert rows[1][3] == "'" + FORMULA
    db.session.rollback()
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert (entry.actor_id, entry.subject_type) == (clerk_id, "office")
    assert entry.reason == "applications.csv state=in_review"


def test_card_export_as_xlsx(client: FlaskClient, office: Office, clerk: User) -> None:
    add_cards(office, 3)
    add_cards(office, 1, name="-2+3+cmd|' /C calc'!A0")
    add_cards(make_office(), 2, name="Fremd")
    sign_in(client, clerk)
    response = client.get(f"{CARDS_EXPORT}.xlsx", buffered=True, headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert 'filename="cards.xlsx"' in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Card number", "Name", "Type of card")
    assert len(rows) == 5
    assert rows[1][1] == "'-2+3+cmd|' /C calc'!A0"  # newest first; defused
    assert rows[1][5].date() == date(2028, 1, 1)  # a real date cell
    assert "Fremd" not in {row[1] for row in rows}


def test_card_export_uses_the_register_filters(
    client: FlaskClient, office: Office, clerk: User
) -> None:
    add_cards(office, 2, name="Anna Beispiel")
    add_cards(office, 3, name="Otto Muster")
    sign_in(client, clerk)
    rows = _csv(client.get(f"{CARDS_EXPORT}.csv?q=beisp", buffered=True).get_data(as_text=True))
    assert [row[1] for row in rows[1:]] == ["Anna Beispiel", "Anna Beispiel"]


@pytest.mark.parametrize(
    "path",
    [f"{QUEUE_EXPORT}.csv?state=bogus", f"{CARDS_EXPORT}.xlsx?expires_by=2026-02-31"],
)
def test_bad_filters_answer_at_the_field(client: FlaskClient, clerk: User, path: str) -> None:
    sign_in(client, clerk)
    response = client.get(path)
    assert response.status_code == 400
    assert 'class="error"' in page_text(response)
    db.session.rollback()
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "export")) is None


@pytest.mark.parametrize("path", [f"{QUEUE_EXPORT}.csv", f"{CARDS_EXPORT}.xlsx"])
def test_only_staff_export(client: FlaskClient, ctx: None, path: str) -> None:
    assert client.get(path).status_code == 302  # to the sign-in page
    sign_in(client, make_user(UserRole.VOLUNTEER))
    assert client.get(path).status_code == 403


def test_the_lists_link_their_exports_with_the_filters(client: FlaskClient, clerk: User) -> None:
    sign_in(client, clerk)
    assert 'href="/verwaltung/export.xlsx?state=in_review"' in page_text(
        client.get("/verwaltung/?state=in_review")
    )
    assert 'href="/verwaltung/karten/export.csv?q=otto"' in page_text(
        client.get("/verwaltung/karten/?q=otto")
    )


def _peak_bytes(office_id: int, kind: str, *, trace: bool = True) -> int:
    """Peak memory while the whole export of the office's cards is produced."""
    rows = exports.card_rows(office_id, RegisterFilter())
    header = [str(title) for title in exports.CARD_COLUMNS]
    chunks = (
        spreadsheet.xlsx_stream("x", header, rows)
        if kind == "xlsx"
        else spreadsheet.csv_stream(header, rows)
    )
    if not trace:
        for _chunk in chunks:
            pass
        return 0
    tracemalloc.start()
    try:
        total = sum(len(chunk) for chunk in chunks)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > 0
    return peak


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_ten_thousand_rows_keep_memory_flat(app: Flask, office: Office, kind: str) -> None:
    """Five times the rows may not need much more memory: rows flow, they do not pile up."""
    small = make_office()
    add_cards(small, 2_000)
    add_cards(office, 10_000)
    with app.test_request_context():
        # The first run loads code and fills caches, which is no export's memory.
        _peak_bytes(small.id, kind, trace=False)
        peak_small = _peak_bytes(small.id, kind)
        peak_large = _peak_bytes(office.id, kind)
    # 10,000 rows of ~100 bytes would be 1 MB and more as Python objects if kept.
    print(f"{kind}: peak {peak_small} bytes for 2,000 rows, {peak_large} for 10,000")
    assert peak_large < peak_small * 1.5 + 256 * 1024, (peak_small, peak_large)
    assert peak_large < 4 * 1024 * 1024
