"""The programme administrator's read-only views: the overview of every office, the
statistics across offices and the audit log of every office; who reaches them, what
they count, and that nothing on them changes anything."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ehrenamt.core import audit
from ehrenamt.extensions import db
from ehrenamt.insight import overview, statistics
from ehrenamt.models import AuditEntry, CardState, Office, User, UserRole, utcnow
from ehrenamt.workflow import ApplicationState
from tests.factories import make_office, make_user
from tests.helpers import page_text, sign_in
from tests.test_statistics import application, card, checks
from tests.test_verify_pages import make_partner

OVERVIEW = "/programm/uebersicht"
STATISTICS = "/programm/statistik"
STATISTICS_CSV = "/programm/statistik.csv"
AUDIT = "/programm/protokoll"
VIEWS = (OVERVIEW, STATISTICS, STATISTICS_CSV, AUDIT)


@dataclass
class Programme:
    first: Office
    second: Office
    admin: User


def _first_of_month(now: datetime) -> datetime:
    return datetime(now.year, now.month, 1, tzinfo=UTC)


@pytest.fixture
def programme(ctx: None) -> Programme:
    """Two offices with hand-counted figures (waiting days: the app's 30)."""
    now = utcnow()
    first, second = make_office(), make_office()
    holder = make_office()
    # First: 3 open (1 waiting longer), 1 decided; 2 active cards, 1 revoked; 3 checks
    # this month, 1 before it.
    application(first, now - timedelta(days=2), ApplicationState.IN_REVIEW)
    application(first, now - timedelta(days=3), ApplicationState.SUBMITTED)
    application(first, now - timedelta(days=45), ApplicationState.NEEDS_INFORMATION)
    application(first, now - timedelta(days=45), ApplicationState.APPROVED, 24)
    card(first, holder, CardState.ACTIVE, date(2099, 1, 1))
    card(first, holder, CardState.ACTIVE, date(2099, 1, 1))
    card(first, holder, CardState.REVOKED, date(2099, 1, 1))
    partner = make_partner(first)
    checks(partner, now - timedelta(minutes=5), "valid", 2)
    checks(partner, _first_of_month(now), "expired")
    checks(partner, _first_of_month(now) - timedelta(seconds=1), "valid")
    # Second: 1 open, waiting longer; 1 active card; no checks.
    application(second, now - timedelta(days=90), ApplicationState.IN_REVIEW)
    card(second, holder, CardState.ACTIVE, date(2099, 1, 1))
    admin = make_user(UserRole.PROGRAMME_ADMIN, first)
    return Programme(first, second, admin)


def test_overview_figures_equal_the_hand_count(programme: Programme) -> None:
    figures = overview.office_figures([programme.first.id, programme.second.id, 999_999])
    assert figures[programme.first.id] == overview.OfficeFigures(3, 2, 1, 3)
    assert figures[programme.second.id] == overview.OfficeFigures(1, 1, 1, 0)
    assert figures[999_999] == overview.OfficeFigures()
    assert overview.office_figures([]) == {}


def test_overview_reads_the_kept_figures(
    app: Flask, client: FlaskClient, programme: Programme, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like the statistics page: a new application shows once the snapshot is renewed."""
    sign_in(client, programme.admin)
    assert _cells(page_text(client.get(OVERVIEW)), programme.second.slug)["open"] == "1"
    application(programme.second, utcnow(), ApplicationState.SUBMITTED)
    assert _cells(page_text(client.get(OVERVIEW)), programme.second.slug)["open"] == "1"
    monkeypatch.setitem(app.config, "STATISTICS_MAX_AGE_SECONDS", 0)
    assert _cells(page_text(client.get(OVERVIEW)), programme.second.slug)["open"] == "2"


def _cells(text: str, slug: str) -> dict[str, str]:
    row = text.split(f'data-office="{slug}"')[1].split("</tr>")[0]
    return dict(re.findall(r'data-figure="(\w+)">([^<]*)<', row))


def test_overview_page_shows_one_row_per_office(client: FlaskClient, programme: Programme) -> None:
    sign_in(client, programme.admin)
    response = client.get(OVERVIEW)
    assert response.status_code == 200
    text = page_text(response)
    assert _cells(text, programme.first.slug) == {
        "open": "3",
        "cards": "2",
        "waiting": "1",
        "checks": "3",
    }
    assert _cells(text, programme.second.slug)["waiting"] == "1"
    assert "Offen seit mehr als 30 Tagen" in text


def test_statistics_across_offices_add_up_and_one_office_can_be_chosen(
    client: FlaskClient, programme: Programme
) -> None:
    sign_in(client, programme.admin)
    text = page_text(client.get(STATISTICS))
    assert 'id="waiting">Davon seit mehr als 30 Tagen eingereicht: 2<' in text
    assert "alle Ämter" in text
    one = page_text(client.get(f"{STATISTICS}?office={programme.second.id}"))
    assert 'id="waiting">Davon seit mehr als 30 Tagen eingereicht: 1<' in one
    assert f"– {programme.second.name}" in one
    assert f"/programm/statistik.csv?office={programme.second.id}" in one
    body = client.get(f"{STATISTICS_CSV}?office={programme.first.id}", buffered=True).get_data(
        as_text=True
    )
    assert "Offene Anträge,länger als 30 Tage,,1" in body
    assert "Offene Anträge,länger als 30 Tage,,2" in client.get(
        STATISTICS_CSV, buffered=True
    ).get_data(as_text=True)


def test_every_offices_snapshot_key_fits_its_column(ctx: None) -> None:
    """A programme of many offices: the key of their snapshot is a digest of the ids."""
    many = set(range(1_000_000, 1_000_100))
    assert statistics._scope(many).startswith("sha256:")
    assert statistics._scope(many) == statistics._scope(sorted(many, reverse=True))
    assert statistics._scope({3, 1}) == "1,3"


@pytest.mark.parametrize("path", [STATISTICS, STATISTICS_CSV, AUDIT])
@pytest.mark.parametrize("office", ["999999999", "abc", " "])
def test_an_unknown_office_is_told_at_the_field(
    client: FlaskClient, programme: Programme, path: str, office: str
) -> None:
    sign_in(client, programme.admin)
    response = client.get(f"{path}?office={office}", buffered=True)
    assert response.status_code == 400
    assert 'id="office-error"' in page_text(response)


def _audit_rows(text: str) -> list[tuple[str, str]]:
    body = text.split('id="audit"')[1].split("</table>")[0]
    return re.findall(r'data-action="(\w+)" data-subject="\w+" data-office="(\d+)"', body)


def test_audit_of_every_office_filters_by_office_and_links_only_hers(
    client: FlaskClient, programme: Programme
) -> None:
    for office in (programme.first, programme.second):
        audit.record(
            audit.Acting.system(),
            subject_type=audit.Subject.PROGRAMME_RULES,
            subject_id=office.id,
            action=audit.AuditAction.UPDATE_RULES,
            office_id=office.id,
        )
    db.session.commit()
    sign_in(client, programme.admin)
    text = page_text(client.get(AUDIT))
    offices = {office for _action, office in _audit_rows(text)}
    assert offices == {str(programme.first.id), str(programme.second.id)}
    # Links open the object as the admin of the office she works in: only there.
    first_row = text.split(f'data-office="{programme.first.id}"')[1].split("</tr>")[0]
    second_row = text.split(f'data-office="{programme.second.id}"')[1].split("</tr>")[0]
    assert 'href="/verwaltung/einstellungen/regeln"' in first_row
    assert "<a " not in second_row
    assert programme.second.name in second_row
    narrowed = page_text(client.get(f"{AUDIT}?office={programme.second.id}"))
    assert {office for _action, office in _audit_rows(narrowed)} == {str(programme.second.id)}


def test_a_programme_admin_without_an_office_reads_everything(
    client: FlaskClient, programme: Programme
) -> None:
    """The read-only views need no office chosen (the office pages do)."""
    admin = make_user(UserRole.PROGRAMME_ADMIN)
    sign_in(client, admin)
    for path in VIEWS:
        assert client.get(path, buffered=True).status_code == 200, path
    assert "<a " not in page_text(client.get(AUDIT)).split('id="audit"')[1].split("</table>")[0]


@pytest.mark.parametrize("path", VIEWS)
@pytest.mark.parametrize("which", ["first", "second"])
@pytest.mark.parametrize("who", ["anonymous", "volunteer", "partner", "clerk", "admin"])
def test_nobody_else_reaches_the_programme_views(
    client: FlaskClient, programme: Programme, path: str, which: str, who: str
) -> None:
    """Role × view × the office she works in (the one with the admin, or the other): 403;
    anonymous visitors are sent to sign in."""
    if who == "anonymous":
        assert client.get(path).headers["Location"].startswith("/anmelden")
        return
    office = programme.first if which == "first" else programme.second
    sign_in(client, make_user(UserRole(who), office))
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", VIEWS)
def test_the_programme_views_change_nothing(
    client: FlaskClient, programme: Programme, path: str
) -> None:
    """GET only: a POST is not allowed, no form on the page posts, no row is written."""
    sign_in(client, programme.admin)
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    assert client.post(path).status_code == 405
    response = client.get(path, buffered=True)
    assert response.status_code == 200
    if response.mimetype == "text/html":
        main = page_text(response).split("<main", 1)[1]
        assert 'method="post"' not in main
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before
