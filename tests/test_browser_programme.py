"""The programme administrator in a real browser: the overview, the statistics of all
offices and of one, the audit log of every office filtered by office, and inviting a
colleague. Screenshots for a person to look at go to EHRENAMT_SCREENSHOTS."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from ehrenamt.models import Office, UserRole
from tests.factories import PASSWORD, make_office, make_user
from tests.test_browser import (  # noqa: F401 - fixtures: Debian's Chromium
    browser_context_args,
    browser_type_launch_args,
)
from tests.test_programme_insight import Programme, programme  # noqa: F401 - fixture

SCREENSHOTS = Path(os.environ.get("EHRENAMT_SCREENSHOTS", tempfile.gettempdir()))


@pytest.mark.browser
def test_programme_admin_reads_every_office_and_invites_a_colleague(
    app: Flask,
    programme: Programme,  # noqa: F811 - the fixture imported above
    live_server: str,
    page: Page,
) -> None:
    admin = programme.admin
    second: Office = programme.second
    make_user(UserRole.ADMIN, make_office())  # an office with nothing in it yet
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(f"{live_server}/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(admin.email or "")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_label("Code aus der Authenticator-App").fill(
        pyotp.TOTP(admin.totp_secret or "").now()
    )
    page.get_by_role("button", name="Bestätigen").click()

    page.get_by_role("link", name="Programm", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Programmübersicht")
    first_row = page.locator(f'#overview tr[data-office="{programme.first.slug}"]')
    expect(first_row.locator('[data-figure="open"]')).to_have_text("3")
    expect(first_row.locator('[data-figure="checks"]')).to_have_text("3")
    page.screenshot(path=str(SCREENSHOTS / "programme-overview.png"), full_page=True)

    page.get_by_role("link", name="Statistik aller Ämter").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("alle Ämter")
    expect(page.locator("#waiting")).to_contain_text(": 2")
    page.get_by_label("Amt", exact=True).select_option(label=second.name)
    page.get_by_role("button", name="Anzeigen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(second.name)
    expect(page.locator("#waiting")).to_contain_text(": 1")
    page.screenshot(path=str(SCREENSHOTS / "programme-statistics.png"), full_page=True)

    page.get_by_role("link", name="Programmadministration").click()
    page.get_by_label("Name").fill("Petra Programm")
    page.get_by_label("E-Mail-Adresse").fill("petra@example.org")
    page.get_by_role("button", name="Einladen").click()
    expect(page.locator("#programme-admins")).to_contain_text("petra@example.org")
    page.screenshot(path=str(SCREENSHOTS / "programme-admins.png"), full_page=True)

    page.get_by_role("link", name="Protokoll aller Ämter").click()
    expect(page.locator("#audit tbody")).to_contain_text("Programm")
    page.get_by_label("Amt", exact=True).select_option(label=programme.first.name)
    page.get_by_role("button", name="Filtern").click()
    expect(page.locator("#audit tbody tr[data-action]")).to_have_count(0)
    page.get_by_label("Amt", exact=True).select_option(label="alle Ämter")
    page.get_by_role("button", name="Filtern").click()
    expect(page.locator('#audit tbody tr[data-action="invite_staff"] a')).to_have_count(1)
    page.screenshot(path=str(SCREENSHOTS / "programme-audit.png"), full_page=True)
    assert [text for text in problems if not text.startswith("Failed to load resource")] == []
