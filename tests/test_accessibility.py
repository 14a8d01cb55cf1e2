"""Every page type, in German and English, as every role, checked by axe-core against
WCAG 2.1 A and AA, and what axe cannot check: the skip link lands on the main content,
the page fits 390 px without scrolling sideways, and after a form is sent empty focus is
on the error summary (and axe checks the page with its errors).

The pages come from the app's url_map (see tests/accessibility.py); a failure lists every
violation of the crawl at once, with the page, the rule and the elements.
"""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page

from tests.accessibility import (
    FILLED,
    NOT_CRAWLED,
    ROLES,
    World,
    crawl_paths,
    make_world,
    open_as,
)
from tests.test_browser import (  # noqa: F401 - fixtures: Debian's Chromium
    browser_context_args,
    browser_type_launch_args,
)

pytestmark = pytest.mark.browser

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

#: Pages still wider than a phone, and why (each one is an open task, not a decision).
TOO_WIDE: dict[str, str] = {}

#: Forms each role sends empty, to check the page with its errors.
EMPTY_FORMS = {
    "anonymous": [
        "apply.form",
        "auth.login",
        "partners.register",
        "passwords.forgotten_password",
        "auth.request_sign_in_link",
    ],
    "organisation": ["confirm.respond"],
    "volunteer": ["account.reauthenticate"],
    "partner": ["partners.add_benefit", "partners.profile"],
    "clerk": ["apply.paper_form", "review.correct"],
    "admin": ["staff.index"],
    "programme_admin": ["programme.new_office"],
}

AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map(v => `${v.id} (${v.impact}): ${v.help}\\n` +
    v.nodes.map(n => `      ${n.target.join(" ")}: ${n.failureSummary.replace(/\\n/g, " ")}`)
      .join("\\n"));
}"""

EMPTY_THE_FORM = """() => {
  const form = [...document.querySelectorAll("main form")].find(f =>
    f.method === "post" && f.querySelector("input[type=text], input[type=email], " +
      "input[type=password], input:not([type]), textarea, input[type=number], input[type=date]"));
  if (!form) return false;
  form.noValidate = true;
  for (const el of form.elements) {
    if (["hidden", "submit", "button", "file"].includes(el.type) || el.tagName === "SELECT")
      continue;
    if (el.type === "checkbox" || el.type === "radio") el.checked = false;
    else el.value = "";
  }
  form.dataset.sentEmpty = "yes";
  return true;
}"""


# The page's width, and the innermost elements reaching past the screen, to name them.
WIDEST = """() => {
  const root = document.scrollingElement, width = root.clientWidth;
  const over = [...document.body.querySelectorAll("*")].filter(e =>
    e.getBoundingClientRect().right > width + 1 &&
    ![...e.children].some(c => c.getBoundingClientRect().right > width + 1));
  return [root.scrollWidth, width, over.slice(0, 3).map(e =>
    e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
    (e.className ? "." + String(e.className).split(" ").join(".") : "")).join(", ")];
}"""


def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is, one readable entry each."""
    return list(page.evaluate(AXE_RUN, TAGS))


def skip_link_problem(page: Page) -> str | None:
    """The first Tab reaches the skip link, and following it puts focus on <main>."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    page.keyboard.press("Tab")
    first = page.evaluate("() => document.activeElement.className")
    if first != "skip-link":
        return f"the first Tab reaches {first!r}, not the skip link"
    page.keyboard.press("Enter")
    focused = page.evaluate("() => document.activeElement.tagName")
    if focused != "MAIN":
        return f"after the skip link focus is on {focused}, not on <main>"
    return None


def overflow_problem(page: Page) -> str | None:
    """At 390 px nothing is wider than the screen (no sideways scrolling)."""
    wide, width, culprits = page.evaluate(WIDEST)
    if wide > width:
        return f"at 390 px the page is {wide} px wide (scrolls sideways): {culprits}"
    return None


def check_page(page: Page, label: str, problems: list[str], *, phone: bool, first: bool) -> None:
    """axe on the page now open; on a phone whether it fits; on the first page the skip link
    (it is base.html's, the same on every page)."""
    for violation in axe_violations(page):
        problems.append(f"{label}: {violation}")
    path = label.split(" ")[-1]
    checks = [
        overflow_problem(page) if phone and path not in TOO_WIDE else None,
        skip_link_problem(page) if first else None,
    ]
    problems.extend(f"{label}: {problem}" for problem in checks if problem)


def send_empty(page: Page, label: str, problems: list[str]) -> None:
    """Send the page's form with every field empty; check the page with its errors and
    that focus moved to the error summary."""
    if not page.evaluate(EMPTY_THE_FORM):
        problems.append(f"{label}: no form to send empty")
        return
    form = page.locator("form[data-sent-empty]")
    with page.expect_navigation():
        form.locator("button[type=submit], input[type=submit]").last.click()
    label = f"{label} sent empty"
    if page.locator("#error-summary").count():
        # Where the page has a summary (short forms say it at the field or in a flash).
        page.wait_for_load_state("load")
        focused = page.evaluate("() => document.activeElement.id")
        if focused != "error-summary":
            problems.append(f"{label}: focus is on {focused or 'the page'}, not the summary")
    for violation in axe_violations(page):
        problems.append(f"{label}: {violation}")


def test_every_route_with_arguments_is_decided(session_app: Flask) -> None:
    """A new page with arguments is either filled by the crawl or listed with a reason."""
    known = set(NOT_CRAWLED) | FILLED
    undecided = [
        rule.endpoint
        for rule in session_app.url_map.iter_rules()
        if rule.arguments and "GET" in (rule.methods or ()) and rule.endpoint not in known
    ]
    assert undecided == [], "fill these in make_world (and FILLED) or list them in NOT_CRAWLED"


#: Pages everyone sees alike: crawled for the anonymous visitor only (a signed-in person's
#: header differs, and their home page shows it).
PUBLIC = ("/datenschutz", "/verguenstigungen", "/karte", "/akzeptanzstelle", "/passwort-vergessen")


# German at desktop size, English (longer words) at phone size: axe sees both layouts, and
# every page is measured at 390 px, without loading each page twice.
@pytest.mark.parametrize("locale", ["de-DE", "en-GB"])
@pytest.mark.parametrize("role", ROLES)
def test_pages_meet_wcag_21_aa(
    app: Flask, live_server: str, browser: Browser, role: str, locale: str
) -> None:
    world: World = make_world(app)
    phone = locale == "en-GB"
    viewport = PHONE if phone else DESKTOP
    context, page = open_as(app, browser, live_server, world, role, locale, viewport=viewport)
    problems: list[str] = []
    visited = []
    paths = dict(crawl_paths(app, world, role))
    for endpoint, path in paths.items():
        if role != "anonymous" and path.startswith(PUBLIC) and endpoint not in EMPTY_FORMS[role]:
            continue
        response = page.goto(f"{live_server}{path}")
        assert response is not None
        content_type = response.headers.get("content-type", "")
        redirected = response.request.redirected_from is not None
        if redirected or response.status != 200 or not content_type.startswith("text/html"):
            if endpoint in world.values[role]:
                problems.append(f"{path}: {response.status} {content_type} for a filled page")
            continue
        visited.append(path)
        label = f"{role} {locale} {path}"
        check_page(page, label, problems, phone=phone, first=not visited[:-1])
    for endpoint in EMPTY_FORMS[role]:
        page.goto(f"{live_server}{paths[endpoint]}")
        send_empty(page, f"{role} {locale} {paths[endpoint]}", problems)
    context.close()
    print(f"{role} {locale}: {len(visited)} pages: {' '.join(visited)}")
    assert not problems, "\n" + "\n".join(problems)
