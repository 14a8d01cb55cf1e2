"""The screenshot tour (``make screenshots``): the main pages of every role, in German, at
phone (390×844) and desktop (1280×800) size, as whole-page PNGs in ``EHRENAMT_SCREENSHOTS``
(default ``instance/screenshots``), for a person to look at. A form sent empty shows its
errors. Runs only when selected with ``-m screenshots`` (tests/conftest.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser

from tests.accessibility import make_world, open_as
from tests.test_accessibility import EMPTY_THE_FORM
from tests.test_browser import (  # noqa: F401 - fixtures: Debian's Chromium
    browser_context_args,
    browser_type_launch_args,
)

pytestmark = [pytest.mark.browser, pytest.mark.screenshots]

FOLDER = Path(os.environ.get("EHRENAMT_SCREENSHOTS") or "instance/screenshots")
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}

#: (role, name, endpoint or path); endpoints with arguments take the test data's object.
TOUR = [
    ("anonymous", "home", "/"),
    ("anonymous", "apply", "/antrag/"),
    ("anonymous", "apply-errors", "/antrag/#empty"),
    ("anonymous", "directory", "/verguenstigungen/"),
    ("anonymous", "check-card", "/karte"),
    ("anonymous", "partner-register", "/akzeptanzstelle/registrieren"),
    ("organisation", "confirm", "confirm.respond"),
    ("volunteer", "account", "/konto/"),
    ("volunteer", "application", "account.application"),
    ("partner", "area", "/partner/"),
    ("partner", "scan", "/pruefen/"),
    ("clerk", "queue", "/verwaltung/"),
    ("clerk", "review", "review.detail"),
    ("clerk", "cards", "/verwaltung/karten/"),
    ("clerk", "card", "register.detail"),
    ("clerk", "partners", "/verwaltung/partner/"),
    ("admin", "staff", "/verwaltung/mitarbeitende/"),
    ("admin", "statistics", "/verwaltung/einstellungen/statistik"),
    ("admin", "rules", "/verwaltung/einstellungen/regeln"),
    ("programme_admin", "offices", "/programm/aemter"),
]


@pytest.mark.parametrize("size", SIZES)
def test_screenshot_tour(app: Flask, live_server: str, browser: Browser, size: str) -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    world = make_world(app)
    pages = {}
    for role, name, where in TOUR:
        if role not in pages:
            pages[role] = open_as(
                app, browser, live_server, world, role, "de-DE", viewport=SIZES[size]
            )
        _context, page = pages[role]
        if where.startswith("/"):
            path = where.split("#")[0]
        else:
            with app.test_request_context():
                from flask import url_for

                path = url_for(where, **world.values[role][where])
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        if where.endswith("#empty"):
            assert page.evaluate(EMPTY_THE_FORM)
            with page.expect_navigation():
                page.locator("form[data-sent-empty] [type=submit]").last.click()
        target = FOLDER / f"{role}-{name}-{size}.png"
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 0
    for context, _page in pages.values():
        context.close()
