"""The clerk's tables and headings (issue #14): no word is broken in the middle, measured
on the rendered pages at phone and desktop width; the eligibility panel counts unconfirmed hours
as "to check"."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Page, Playwright, expect

from ehrenamt.extensions import db
from ehrenamt.models import ConfirmationState, UserRole
from tests.factories import PASSWORD, make_application, make_office, make_user
from tests.test_verify_pages import plain_browser

#: The words of every table cell and main heading whose parts lie on more than one line. Hyphens and
#: slashes are places a line may break ("Dessau-Roßlau"), so they end a word here.
SPLIT_WORDS = """() => {
  const split = [];
  for (const cell of document.querySelectorAll("td, th, h1")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const words = /[^\\s\\-\\u2010-\\u2014\\/]+/g;
      let match;
      while ((match = words.exec(node.data))) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set(
          [...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))
        );
        if (tops.size > 1) split.push(match[0]);
      }
    }
  }
  return split;
}"""


def sign_in_clerk(page: Page, live_server: str, email: str, secret: str) -> None:
    page.goto(f"{live_server}/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_label("Code aus der Authenticator-App").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Bestätigen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Anträge")


@pytest.mark.browser
def test_no_word_is_split_in_the_clerks_tables(
    app: Flask, live_server: str, playwright: Playwright, tmp_path: Path
) -> None:
    with app.app_context():
        office = make_office()
        clerk = make_user(UserRole.CLERK, office)
        application = make_application(
            office, first_name="Anna", last_name="Schmidt-Aufwandsentschädigung"
        )
        application.engagements[0].confirmation_state = ConfirmationState.PENDING
        db.session.commit()
        email, secret, public_id = clerk.email, clerk.totp_secret or "", application.public_id

    browser = plain_browser(playwright)
    try:
        page = browser.new_page(locale="de-DE", viewport={"width": 1280, "height": 900})
        sign_in_clerk(page, live_server, email, secret)
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            for path in ("/verwaltung/", f"/verwaltung/antrag/{public_id}"):
                page.goto(f"{live_server}{path}")
                expect(page.locator("table").first).to_be_visible()
                page.screenshot(
                    path=str(tmp_path / f"{width}-{path.count('/')}.png"), full_page=True
                )
                assert page.evaluate(SPLIT_WORDS) == [], (width, path)
                # The page itself never scrolls sideways; a wide table scrolls on its own.
                wide = page.evaluate(
                    "w => [...document.querySelectorAll('body *')].filter(e => "
                    "e.getBoundingClientRect().right > w + 1 && !e.closest('table'))"
                    ".map(e => e.tagName + '.' + e.className + ':' + e.textContent.slice(0, 40))",
                    width,
                )
                assert page.evaluate("document.documentElement.scrollWidth") <= width, wide
        # Hours an organisation has not confirmed yet are to check, not met.
        expect(page.locator('[data-rule="hours"]')).to_have_attribute("data-outcome", "check")
    finally:
        browser.close()


def test_numbers_follow_the_language(client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    """Hours on the clerk's page and in the eligibility panel are written by Babel:
    "5,0 h/Woche" in German, "5.0 h/week" in English (issue #14)."""
    from decimal import Decimal

    from tests.helpers import page_text, sign_in

    office = make_office()
    application = make_application(office, hours_per_week=Decimal(5))
    sign_in(client, make_user(UserRole.CLERK, office))
    path = f"/verwaltung/antrag/{application.public_id}"
    german = page_text(client.get(path))
    assert "5,0 h/Woche" in german and "5.0 h" not in german
    english = page_text(client.get(path, headers={"Accept-Language": "en"}))
    assert "5.0 h/week" in english and "5,0" not in english


#: Per cell with a data-label: its display, the label drawn before it, and whether it
#: starts below the row's first cell (stacked) or beside it (a table row).
STACKED_CELLS = """() => [...document.querySelectorAll("table.stacked td[data-label]")]
  .map((td) => {
    const first = td.parentElement.firstElementChild;
    return {
      display: getComputedStyle(td).display,
      label: getComputedStyle(td, "::before").content,
      expected: td.dataset.label,
      first: td === first,
      below: td.getBoundingClientRect().top >= first.getBoundingClientRect().bottom - 1,
    };
  })"""

#: Sideways scrolling of the page or of any table in it.
SIDEWAYS = """() => ({
  page: document.documentElement.scrollWidth - window.innerWidth,
  tables: [...document.querySelectorAll("table")].map((t) => t.scrollWidth - t.clientWidth),
})"""


@pytest.mark.browser
def test_the_clerks_tables_stack_on_a_phone(
    app: Flask, live_server: str, playwright: Playwright
) -> None:
    """At 390 px the queue and the eligibility checks are blocks, each cell labelled with
    its column's head; nothing scrolls sideways, no word is split. At 1280 px they are
    tables again."""
    # A fixed folder a person opens to look at the pages (the task's screenshot tour).
    shots = Path("/tmp/shots/drafts")  # noqa: S108
    shots.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        office = make_office()
        clerk = make_user(UserRole.CLERK, office)
        application = make_application(
            office, first_name="Anna", last_name="Schmidt-Aufwandsentschädigung"
        )
        make_application(office, first_name="Bernd", last_name="Feuerwehrkamerad")
        email, secret, public_id = clerk.email, clerk.totp_secret or "", application.public_id

    browser = plain_browser(playwright)
    try:
        page = browser.new_page(locale="de-DE", viewport={"width": 390, "height": 844})
        sign_in_clerk(page, live_server, email, secret)
        for path, name in (
            ("/verwaltung/", "queue"),
            (f"/verwaltung/antrag/{public_id}", "checks"),
        ):
            page.set_viewport_size({"width": 390, "height": 844})
            page.goto(f"{live_server}{path}")
            page.screenshot(path=str(shots / f"clerk-{name}-390.png"), full_page=True)
            cells = page.evaluate(STACKED_CELLS)
            assert cells, path
            for cell in cells:
                assert cell["display"] == "block", (path, cell)
                assert cell["label"].startswith(f'"{cell["expected"]}: "'), (path, cell)
            # Every cell after the first starts below it: the row is a block, not a line.
            assert all(cell["below"] for cell in cells if not cell["first"]), (path, cells)
            sideways = page.evaluate(SIDEWAYS)
            assert sideways["page"] <= 0 and max(sideways["tables"]) <= 0, (path, sideways)
            assert page.evaluate(SPLIT_WORDS) == [], path
            # The column heads are there for screen readers, out of sight.
            assert page.locator("table.stacked thead").bounding_box()["height"] <= 1  # type: ignore[index]

            page.set_viewport_size({"width": 1280, "height": 900})
            page.screenshot(path=str(shots / f"clerk-{name}-1280.png"), full_page=True)
            wide = page.evaluate(STACKED_CELLS)
            assert {cell["display"] for cell in wide} == {"table-cell"}, path
            assert not any(cell["below"] for cell in wide if not cell["first"]), path
    finally:
        browser.close()
