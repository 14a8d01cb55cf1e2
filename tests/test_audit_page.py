"""The office admin's audit log: filters, paging, links, CSV, and who may see it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.core import audit
from ehrenamt.extensions import db
from ehrenamt.insight import audit_log
from ehrenamt.models import Application, AuditEntry, Card, Office, User, UserRole
from ehrenamt.workflow import ApplicationState
from tests.factories import make_application, make_office, make_user
from tests.helpers import page_text, sign_in
from tests.test_cards import approve_without_worker

PAGE = "/verwaltung/einstellungen/protokoll"
CSV = "/verwaltung/einstellungen/protokoll.csv"


@dataclass
class Setting:
    office: Office
    admin: User
    clerk: User
    application: Application
    card: Card
    other_application: Application


def _entry_at(
    office: Office, when: datetime, action: audit.AuditAction, reason: str = ""
) -> AuditEntry:
    """A system row on a given moment (the service stamps the present)."""
    entry = audit.record(
        audit.Acting.system(),
        subject_type=audit.Subject.USER,
        subject_id=1,
        action=action,
        office_id=office.id,
        reason=reason or None,
    )
    entry.at = when
    db.session.commit()
    return entry


@pytest.fixture
def setting(ctx: None) -> Setting:
    office = make_office()
    admin = make_user(UserRole.ADMIN, office)
    clerk = make_user(UserRole.CLERK, office)
    application = make_application(office, state=ApplicationState.IN_REVIEW)
    card = approve_without_worker(application)
    other = make_office()
    other_application = make_application(other, state=ApplicationState.IN_REVIEW)
    approve_without_worker(other_application)
    return Setting(office, admin, clerk, application, card, other_application)


def _rows(text: str) -> list[str]:
    """The data-action of each row of the audit table."""
    body = text.split('id="audit"')[1].split("</table>")[0]
    return [part.split('"')[0] for part in body.split('data-action="')[1:]]


def test_the_admin_sees_the_office_rows_with_links(client: FlaskClient, setting: Setting) -> None:
    sign_in(client, setting.admin)
    response = client.get(PAGE)
    assert response.status_code == 200
    text = page_text(response)
    assert _rows(text) == ["create", "approve"]  # newest first: the card, then the approval
    assert f'href="/verwaltung/antrag/{setting.application.public_id}"' in text
    assert f'href="/verwaltung/karten/{setting.card.public_id}"' in text
    assert "In Prüfung → Bewilligt" in text
    assert setting.other_application.public_id not in text


def test_english_page_shows_actions_in_english(client: FlaskClient, setting: Setting) -> None:
    sign_in(client, setting.admin)
    text = page_text(client.get(PAGE, headers={"Accept-Language": "en"}))
    assert "Being reviewed → Approved" in text
    assert "Card created" in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=approve", ["approve"]),
        ("subject_type=card", ["create"]),
        ("subject_type=application&action=create", []),
        ("actor=system", []),
    ],
)
def test_filters_narrow_the_rows(
    client: FlaskClient, setting: Setting, query: str, expected: list[str]
) -> None:
    sign_in(client, setting.admin)
    assert _rows(page_text(client.get(f"{PAGE}?{query}"))) == expected


def test_filter_by_actor(client: FlaskClient, setting: Setting) -> None:
    other_clerk = make_user(UserRole.CLERK, setting.office)
    sign_in(client, setting.admin)
    # approve_without_worker acts as a fresh clerk of the office; find that one.
    actor_id = db.session.scalar(select(AuditEntry.actor_id).where(AuditEntry.action == "approve"))
    assert _rows(page_text(client.get(f"{PAGE}?actor={actor_id}"))) == ["create", "approve"]
    assert _rows(page_text(client.get(f"{PAGE}?actor={other_clerk.id}"))) == []


def test_date_range_includes_both_days(client: FlaskClient, setting: Setting) -> None:
    for day in (9, 10, 11, 12):
        _entry_at(setting.office, datetime(2026, 3, day, 10, tzinfo=UTC), audit.AuditAction.EXPIRE)
    # 23:30 UTC is the next day in Berlin: the range is in the office's time zone.
    _entry_at(setting.office, datetime(2026, 3, 11, 23, 30, tzinfo=UTC), audit.AuditAction.EXPIRE)
    sign_in(client, setting.admin)
    text = page_text(client.get(f"{PAGE}?since=2026-03-10&until=2026-03-11"))
    assert len(_rows(text)) == 2
    assert _rows(page_text(client.get(f"{PAGE}?since=2026-03-12"))) != []
    assert len(_rows(page_text(client.get(f"{PAGE}?since=2026-03-12&until=2026-03-12")))) == 2


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("since=2026-03-12&until=2026-03-10", "until", "Das Ende liegt vor dem Anfang."),
        ("since=2026-13-40", "since", ""),
        # Once a 500: the first day of the calendar overflowed in the office's time zone.
        ("since=0001-01-01", "since", "Bitte ein Datum zwischen 1900 und 2199 angeben."),
        ("until=9999-12-31", "until", "Bitte ein Datum zwischen 1900 und 2199 angeben."),
        ("action=drop_tables", "action", ""),
        ("actor=999999", "actor", ""),
        ("subject_type=%20", "subject_type", ""),
    ],
)
def test_bad_filters_are_told_at_the_field(
    client: FlaskClient, setting: Setting, query: str, field: str, message: str
) -> None:
    sign_in(client, setting.admin)
    response = client.get(f"{PAGE}?{query}")
    assert response.status_code == 400
    text = page_text(response)
    assert f'id="{field}-error"' in text
    assert message in text
    assert 'id="error-summary"' in text
    assert client.get(f"{CSV}?{query}").status_code == 400


def test_paged_in_the_database(app: Flask, client: FlaskClient, setting: Setting) -> None:
    size = app.config["PAGE_SIZE"]
    for _ in range(size + 3):
        _entry_at(setting.office, datetime(2026, 1, 1, tzinfo=UTC), audit.AuditAction.EXPIRE)
    sign_in(client, setting.admin)
    first = page_text(client.get(f"{PAGE}?action=expire"))
    assert len(_rows(first)) == size
    assert 'rel="next"' in first
    second = page_text(client.get(f"{PAGE}?action=expire&page=2"))
    assert len(_rows(second)) == 3
    assert 'rel="next"' not in second


def test_csv_export_is_filtered_defused_and_audited(client: FlaskClient, setting: Setting) -> None:
    _entry_at(
        setting.office,
        datetime(2026, 1, 1, tzinfo=UTC),
        audit.AuditAction.EXPIRE,
        reason='=HYPERLINK("http://evil")',
    )
    admin_id, office_id = setting.admin.id, setting.office.id
    sign_in(client, setting.admin)
    response = client.get(f"{CSV}?action=expire", buffered=True)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][0] == "Zeit (UTC)"
    assert len(rows) == 2
    assert rows[1][3] == "Abgelaufen"
    assert rows[1][7] == '\'=HYPERLINK("http://evil")'
    db.session.rollback()
    export = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert export.actor_id == admin_id
    assert export.office_id == office_id
    assert export.reason == "audit.csv action=expire"


@pytest.mark.parametrize("path", [PAGE, CSV])
def test_a_clerk_is_refused(client: FlaskClient, setting: Setting, path: str) -> None:
    sign_in(client, setting.clerk)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", [PAGE, CSV])
def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, ctx: None, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert "/anmelden" in response.headers["Location"]


def test_another_offices_admin_sees_none_of_it(client: FlaskClient, setting: Setting) -> None:
    other_admin = make_user(UserRole.ADMIN, setting.other_application.office)
    sign_in(client, other_admin)
    text = page_text(client.get(PAGE))
    assert setting.application.public_id not in text
    assert setting.card.public_id not in text
    assert _rows(text) == ["create", "approve"]
    body = client.get(CSV, buffered=True).get_data(as_text=True)
    assert setting.card.public_id not in body
    assert setting.other_application.public_id in body


@pytest.mark.parametrize("until", [None, date(2020, 1, 2)])
def test_a_range_long_ago_pages_newest_first_like_any_other(
    app: Flask, setting: Setting, until: date | None
) -> None:
    # A closed range far back is read by its date index (a query of its own); it must
    # give the rows, their order (by id, not by time) and the pages of the open range.
    size = app.config["PAGE_SIZE"]
    written = [
        _entry_at(
            setting.office,
            # Later rows carry earlier times: the order is the rows' order, not the clock's.
            datetime(2020, 1, 2, 20, tzinfo=UTC) - timedelta(minutes=n),
            audit.AuditAction.EXPIRE,
        ).id
        for n in range(size + 3)
    ]
    filters = audit_log.AuditFilter(action="expire", since=date(2020, 1, 1), until=until)
    first = audit_log.audit_page({setting.office.id}, filters, 1, size)
    second = audit_log.audit_page({setting.office.id}, filters, 2, size)
    assert [row.entry.id for row in first.items + second.items] == sorted(written, reverse=True)
    assert (first.has_next, second.has_next) == (True, False)
    # Another office's rows of the same days stay out.
    other = audit_log.audit_page({setting.other_application.office_id}, filters, 1, size)
    assert other.items == []
