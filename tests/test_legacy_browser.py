"""A clerk imports a town's XLSX of paper cards in Chromium: the dry run, the progress
while the worker imports, then the imported card in the register by its printed number."""

from __future__ import annotations

import os
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from ehrenamt.models import UserRole
from tests.factories import make_office, make_user
from tests.test_browser import browser_context_args, browser_type_launch_args
from tests.test_legacy_import import legacy_line, xlsx_file

__all__ = ["browser_context_args", "browser_type_launch_args"]  # the fixtures, used here

pytestmark = [pytest.mark.browser, pytest.mark.worker]

#: Where the screenshots go, to be looked at (the test's temporary folder if unset).
SCREENSHOTS = os.environ.get("EHRENAMT_SCREENSHOTS")


@pytest.mark.usefixtures("app")
def test_clerk_imports_old_cards_and_finds_one_in_the_register(
    app: Flask,
    live_server: str,
    browser: Browser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shots = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    # Small batches, so the progress has steps to show.
    monkeypatch.setitem(app.config, "LEGACY_IMPORT_BATCH_SIZE", 5)
    with app.app_context():
        office = make_office()
        clerk = make_user(
            UserRole.CLERK, office, email="clerk@altkarten.example.org", password="sehr-geheim-123"
        )
        secret = clerk.totp_secret
    workbook = tmp_path / "karten-2019.xlsx"
    workbook.write_bytes(xlsx_file([legacy_line(n) for n in range(1, 41)]))

    page = browser.new_context(locale="de-DE").new_page()
    page.goto(f"{live_server}/anmelden")
    page.get_by_label("E-Mail-Adresse").fill("clerk@altkarten.example.org")
    page.get_by_label("Passwort").fill("sehr-geheim-123")
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_label("Code aus der Authenticator-App").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Bestätigen").click()

    page.goto(f"{live_server}/verwaltung/karten/")
    page.get_by_role("link", name="Bisherige Karten (Papier) importieren").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bisherige Karten importieren")
    # First a file with a wrong line: the dry run names it, and offers no import.
    broken = tmp_path / "karten-fehler.xlsx"
    broken.write_bytes(
        xlsx_file([legacy_line(1), legacy_line(2, **{"Kartenart": "Platin"}), legacy_line(3)])
    )
    page.get_by_label("Datei mit den bisherigen Karten (CSV oder XLSX)").set_input_files(broken)
    page.get_by_role("button", name="Prüfen (noch nichts importieren)").click()
    expect(page.locator("#dry-run-errors")).to_contain_text("Zeile 3:")
    expect(page.get_by_role("button", name="Jetzt importieren")).to_have_count(0)
    page.screenshot(path=shots / "legacy-dry-run-errors.png", full_page=True)

    page.get_by_label("Datei mit den bisherigen Karten (CSV oder XLSX)").set_input_files(workbook)
    page.get_by_role("button", name="Prüfen (noch nichts importieren)").click()
    expect(page.locator("#dry-run-ok")).to_be_visible()
    expect(page.locator('#dry-run-ok [data-count="new"]')).to_have_text("40")
    page.screenshot(path=shots / "legacy-dry-run.png", full_page=True)

    page.get_by_role("button", name="Jetzt importieren").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Import bisheriger Karten")
    page.screenshot(path=shots / "legacy-progress.png", full_page=True)
    expect(page.locator("#import-complete")).to_be_visible(timeout=20_000)
    expect(page.locator('[data-count="created"]')).to_have_text("40")
    page.screenshot(path=shots / "legacy-done.png", full_page=True)

    page.get_by_role("link", name="Karten im Register ansehen").click()
    page.get_by_label("Kartennummer oder Name").fill("DR-2019-000017")
    page.get_by_role("button", name="Suchen").click()
    page.get_by_role("link", name="DR2019000017").click()
    expect(page.locator("[data-legacy-number]")).to_have_text("DR2019000017")
    expect(page.locator("#card-state")).to_have_attribute("data-card-state", "active")
    expect(page.locator("#legacy-reissue-hint")).to_be_visible()
    page.screenshot(path=shots / "legacy-card.png", full_page=True)
    page.context.close()
