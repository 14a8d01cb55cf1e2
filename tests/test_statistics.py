"""The statistics page: its numbers equal hand-counted fixtures, on both databases."""

from __future__ import annotations

import csv
import io
import os
import secrets
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect
from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.insight import statistics
from ehrenamt.models import (
    Application,
    Card,
    CardState,
    CardType,
    Office,
    Partner,
    StatisticsSnapshot,
    UserRole,
    Verification,
    VerificationChannel,
    utcnow,
)
from ehrenamt.workflow import ApplicationState
from tests.factories import PASSWORD, make_application, make_office, make_user
from tests.helpers import page_text, sign_in
from tests.test_browser import (  # noqa: F401 - fixtures: Debian's Chromium
    browser_context_args,
    browser_type_launch_args,
)
from tests.test_cards import approve_without_worker
from tests.test_verify_pages import make_partner

TODAY = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
PAGE = "/verwaltung/einstellungen/statistik"
#: Where the browser test leaves its screenshots for a person to look at.
SCREENSHOTS = Path(os.environ.get("EHRENAMT_SCREENSHOTS", tempfile.gettempdir()))


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def application(
    office: Office,
    submitted: datetime,
    state: ApplicationState,
    decided_after_hours: int | None = None,
) -> Application:
    made = make_application(office, make_user(UserRole.VOLUNTEER, password=None), state=state)
    made.submitted_at = submitted
    if decided_after_hours is not None:
        made.decided_at = submitted + timedelta(hours=decided_after_hours)
    db.session.commit()
    return made


def card(
    office: Office,
    source: Office,
    state: CardState,
    valid_until: date | None,
    card_type: CardType = CardType.STANDARD,
) -> Card:
    # Each card its own application, in an office whose applications are not counted.
    of = application(source, at("2024-01-01"), ApplicationState.APPROVED, 1)
    made = Card(
        public_id=secrets.token_hex(16),
        number=secrets.token_hex(6).upper(),
        application_id=of.id,
        office_id=office.id,
        holder_id=of.applicant_id,
        state=state,
        card_type=card_type,
        holder_name="Erika Muster",
        search_name="erika muster",
        valid_from=date(2025, 1, 1),
        valid_until=valid_until,
    )
    db.session.add(made)
    db.session.commit()
    return made


def checks(partner: Partner | None, when: datetime, result: str, count: int = 1) -> None:
    for _ in range(count):
        db.session.add(
            Verification(
                partner_id=partner.id if partner else None,
                channel=VerificationChannel.PAGE,
                result=result,
                at=when,
            )
        )
    db.session.commit()


@pytest.fixture
def office(ctx: None) -> Office:
    """An office with hand-counted data, and another office whose data must not count."""
    office, other = make_office(), make_office()
    application(office, at("2026-06-01"), ApplicationState.APPROVED, 48)
    application(office, at("2026-06-02"), ApplicationState.REJECTED, 24)
    application(office, at("2026-05-10"), ApplicationState.APPROVED, 72)
    application(office, at("2026-05-11"), ApplicationState.APPROVED, 240)
    application(office, at("2026-05-12"), ApplicationState.WITHDRAWN)
    application(office, at("2026-04-01"), ApplicationState.IN_REVIEW)
    application(office, at("2026-06-10"), ApplicationState.SUBMITTED)
    application(office, at("2026-06-11"), ApplicationState.AWAITING_CONFIRMATION)
    # Before the twelve months: neither counted nor timed.
    application(office, at("2025-01-05"), ApplicationState.APPROVED, 24)
    # Open since long ago: counted as open and as waiting, not in a month.
    application(office, at("2025-06-20"), ApplicationState.NEEDS_INFORMATION)
    application(other, at("2026-06-01"), ApplicationState.APPROVED, 1)

    holder = make_office()
    card(office, holder, CardState.ACTIVE, date(2026, 7, 1))
    card(office, holder, CardState.ACTIVE, date(2027, 1, 1))
    card(office, holder, CardState.ACTIVE, date(2026, 9, 13))  # day 90: ending soon
    card(office, holder, CardState.ACTIVE, date(2026, 9, 14))  # day 91: not
    card(office, holder, CardState.ACTIVE, None, CardType.LONG_SERVICE)
    card(office, holder, CardState.EXPIRED, date(2026, 1, 1))
    card(office, holder, CardState.REVOKED, date(2026, 8, 1))
    card(other, holder, CardState.ACTIVE, date(2026, 7, 1))

    museum, zoo = make_partner(office), make_partner(office)
    museum.name, zoo.name = "Museum A", "Zoo B"
    checks(museum, at("2026-06-03"), "valid", 3)
    checks(museum, at("2026-06-04"), "expired")
    checks(museum, at("2026-05-20"), "revoked")
    checks(zoo, at("2026-06-05"), "valid")
    checks(zoo, at("2025-03-01"), "valid")  # before the twelve months
    checks(make_partner(other), at("2026-06-01"), "valid", 5)
    checks(None, at("2026-06-01"), "invalid")  # the public check: no partner, no office
    return office


def test_numbers_equal_the_hand_count(office: Office) -> None:
    figures = statistics.compute({office.id}, TODAY, 30, NOW)
    assert figures.months[0] == "2025-07"
    assert figures.months[-1] == "2026-06"
    assert figures.applications["2026-06"] == {
        "approved": 1,
        "rejected": 1,
        "withdrawn": 0,
        "open": 2,
    }
    assert figures.applications["2026-05"] == {
        "approved": 2,
        "rejected": 0,
        "withdrawn": 1,
        "open": 0,
    }
    assert figures.applications["2026-04"]["open"] == 1
    assert sum(sum(month.values()) for month in figures.applications.values()) == 8
    # 24, 48, 72, 240 hours: median the 2nd (48 h), 90th percentile the 4th (240 h).
    assert figures.decided == 4
    assert figures.median_days == 2.0
    assert figures.p90_days == 10.0
    assert figures.open_by_state == {
        "submitted": 1,
        "awaiting_confirmation": 1,
        "in_review": 1,
        "needs_information": 1,
    }
    assert figures.waiting_longer == 2
    assert figures.active_cards == {"standard": 4, "long_service": 1}
    assert figures.ending_soon == 2
    assert figures.checks["2026-06"] == {"valid": 4, "expired": 1}
    assert figures.checks["2026-05"] == {"revoked": 1}
    assert figures.top_partners == [("Museum A", 5), ("Zoo B", 1)]


def test_several_offices_add_up(office: Office) -> None:
    other = make_office()
    application(other, at("2026-06-01"), ApplicationState.REJECTED, 24)
    both = statistics.compute({office.id, other.id}, TODAY, 30, NOW)
    assert both.applications["2026-06"]["rejected"] == 2


def test_the_waiting_days_are_a_setting(office: Office) -> None:
    assert statistics.compute({office.id}, TODAY, 400, NOW).waiting_longer == 0
    assert statistics.compute({office.id}, TODAY, 5, NOW).waiting_longer == 3


@pytest.mark.parametrize(
    ("histogram", "median", "p90"),
    [({}, None, None), ({5: 1}, 5, 5), ({1: 9, 100: 1}, 1, 1), ({1: 8, 100: 2}, 1, 100)],
)
def test_percentiles_by_nearest_rank(
    histogram: dict[int, int], median: int | None, p90: int | None
) -> None:
    assert statistics.percentile(histogram, 0.5) == median
    assert statistics.percentile(histogram, 0.9) == p90


def _recent(office: Office) -> None:
    """Two applications decided this month, 36 and 60 hours after submission."""
    now = utcnow()
    application(office, now - timedelta(hours=61), ApplicationState.APPROVED, 36)
    application(office, now - timedelta(hours=61), ApplicationState.APPROVED, 60)


@pytest.mark.parametrize(("language", "median"), [("de", "1,5"), ("en", "1.5")])
def test_page_shows_charts_tables_and_numbers_for_the_language(
    client: FlaskClient, ctx: None, language: str, median: str
) -> None:
    office = make_office()
    _recent(office)
    sign_in(client, make_user(UserRole.ADMIN, office))
    response = client.get(PAGE, headers={"Accept-Language": language})
    assert response.status_code == 200
    text = page_text(response)
    assert text.count("<svg") == 3  # applications, open, checks; no partners: no chart
    assert 'id="applications-table"' in text
    assert f'<dd id="median-days">{median}</dd>' in text
    this_month = utcnow().strftime("%Y-%m")
    row = text.split(f'data-month="{this_month}"')[1].split("</tr>")[0]
    assert '<td data-outcome="approved">2</td>' in row


def test_page_keeps_its_figures_for_the_configured_time(
    app: Flask, client: FlaskClient, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    office = make_office()
    sign_in(client, make_user(UserRole.ADMIN, office))
    assert '<dd id="decided">0</dd>' in page_text(client.get(PAGE))
    _recent(office)
    assert '<dd id="decided">0</dd>' in page_text(client.get(PAGE))  # the snapshot
    monkeypatch.setitem(app.config, "STATISTICS_MAX_AGE_SECONDS", 0)
    assert '<dd id="decided">2</dd>' in page_text(client.get(PAGE))


def test_csv_has_every_figure(client: FlaskClient, office: Office) -> None:
    sign_in(client, make_user(UserRole.ADMIN, office))
    response = client.get(PAGE.replace("statistik", "statistik.csv"), buffered=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0] == ["Bereich", "Was", "Art", "Anzahl"]
    sections = {row[0] for row in rows[1:]}
    assert sections >= {"Anträge", "Offene Anträge", "Gültige Karten", "Prüfungen"}
    assert ["Gültige Karten", "Jubiläumskarte", "", "1"] in rows
    assert ["Meistgenutzte Partner", "Museum A", "", "5"] in rows[-2:]


@pytest.mark.parametrize("path", [PAGE, PAGE + ".csv"])
def test_clerks_are_refused_and_other_offices_see_their_own(
    client: FlaskClient, office: Office, path: str
) -> None:
    sign_in(client, make_user(UserRole.CLERK, office))
    assert client.get(path).status_code == 403


def test_another_offices_admin_sees_its_own_figures(client: FlaskClient, office: Office) -> None:
    sign_in(client, make_user(UserRole.ADMIN, make_office()))
    text = page_text(client.get(PAGE))
    assert "Museum A" not in text
    assert '<dd id="decided">0</dd>' in text


@pytest.mark.browser
def test_statistics_and_audit_in_the_browser(
    app: Flask, office: Office, live_server: str, page: Page, tmp_path: Path
) -> None:
    """The charts render under the CSP with no console error, and both CSV downloads
    stream through a real server."""
    admin = make_user(UserRole.ADMIN, office)
    admin_email = admin.email
    approve_without_worker(make_application(office, state=ApplicationState.IN_REVIEW))
    problems: list[str] = []
    failed: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(f"{live_server}/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(admin.email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_label("Code aus der Authenticator-App").fill(
        pyotp.TOTP(admin.totp_secret or "").now()
    )
    page.get_by_role("button", name="Bestätigen").click()
    page.get_by_role("link", name="Statistik", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Statistik")
    expect(page.locator("#partners-table")).to_contain_text("Museum A")
    page.set_viewport_size({"width": 1100, "height": 900})
    page.screenshot(path=str(SCREENSHOTS / "statistics.png"), full_page=True)
    with page.expect_download() as download:
        page.locator("#statistics-csv").click()
    saved = tmp_path / "statistik.csv"
    download.value.save_as(saved)
    assert saved.read_text(encoding="utf-8").startswith("\ufeffBereich")

    page.get_by_role("link", name="Protokoll", exact=True).click()
    expect(page.locator("#audit tbody tr[data-action]")).to_have_count(2)
    page.screenshot(path=str(SCREENSHOTS / "audit.png"), full_page=True)
    with page.expect_download() as download:
        page.locator("#audit-csv").click()
    download.value.save_as(saved)
    assert "In Prüfung → Bewilligt" in saved.read_text(encoding="utf-8")
    # The download itself is in the log now; the filter finds it alone.
    page.get_by_label("Aktion").select_option("export")
    page.get_by_role("button", name="Filtern").click()
    expect(page.locator("#audit tbody tr[data-action]")).to_have_count(1)
    expect(page.locator("#audit tbody")).to_contain_text(admin_email)
    # The browser asks for a favicon of its own accord; that 404 is not these pages'.
    assert [url for url in failed if not url.endswith("/favicon.ico")] == []
    assert [text for text in problems if not text.startswith("Failed to load resource")] == []


def test_the_periodic_job_keeps_every_offices_figures(app: Flask, office: Office) -> None:
    import workers.tasks

    other = make_office()
    assert workers.tasks.refresh_statistics() >= 2
    db.session.rollback()
    scopes = set(db.session.scalars(select(StatisticsSnapshot.scope)))
    assert {str(office.id), str(other.id)} <= scopes
    kept = statistics.current({office.id})
    assert kept.top_partners == [("Museum A", 5), ("Zoo B", 1)]
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["refresh-statistics"]["task"] == "ehrenamt.refresh_statistics"
