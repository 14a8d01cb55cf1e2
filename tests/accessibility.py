"""What the accessibility crawl and the screenshot tour share: the people and data a page
needs, signing in with a real browser, and the pages each person can reach.

The pages are taken from the app's url_map, so a new page is crawled without anyone
remembering to add it: every GET route without arguments, and those with arguments for
which ``make_world`` knows an object of the test data. A route with arguments that is
neither filled nor listed in ``NOT_CRAWLED`` (with the reason) fails
``test_every_route_with_arguments_is_decided``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import select
from werkzeug.routing import Rule

from ehrenamt.core import security
from ehrenamt.extensions import db
from ehrenamt.models import Benefit, CardState, User, UserRole, utcnow
from ehrenamt.workflow import ApplicationState
from tests.factories import PASSWORD, make_application, make_office, make_user
from tests.helpers import next_totp
from tests.privacy_data import make_card
from tests.test_partners import make_partner

AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"

ROLES = ("anonymous", "organisation", "volunteer", "partner", "clerk", "admin", "programme_admin")

#: Routes with arguments the crawl does not visit, and why.
NOT_CRAWLED = {
    "static": "files, not pages",
    "auth.sign_in_with_link": "one-time sign-in link; it signs in and redirects",
    "auth.confirm_email": "one-time link; covered by tests/test_browser.py",
    "account.confirm_email_change": "one-time link; it redirects",
    "account.download_export": "a download (JSON), not a page",
    "account.download_card": "a download (PDF/PNG), not a page",
    "account.download_upload": "a download, not a page",
    "passwords.accept_invitation": "one-time link; its form is the reset form's",
    "passwords.reset_password": "one-time link; the form is the invitation's",
    "partners.accept_invitation": "one-time link; same form as the password reset",
    "partners.confirm_email": "one-time link; its page is auth/use_link.html, covered by "
    "tests/test_partner_form_browser.py",
    "public.office_privacy_version": "same template as public.office_privacy",
    "review.download_upload": "a download, not a page",
    "review.erase_applicant": "a confirmation step reached by POST from the detail page",
    "legacy.progress": "needs a running import; covered by tests/test_legacy_browser.py",
    "legacy.progress_status": "JSON",
    "letters.download_one": "PDF",
    "letters.print_run": "needs a print run; covered by tests/test_browser_print_run.py",
    "letters.print_run_status": "JSON",
    "letters.print_run_pdf": "PDF",
    "review.export": "a download (CSV/XLSX)",
    "register.download": "a download (PDF/PNG)",
    "register.export": "a download (CSV/XLSX)",
    "register.batch": "needs a running batch; covered by tests/test_card_issuing.py",
    "register.batch_status": "JSON",
    "public.office_logo": "an image (PNG), not a page",
    "apply.open_draft": "a draft's mailed link; it redirects to the form (test_apply_drafts.py)",
    "apply.continue_draft": "the account's link to a draft; it redirects to the form",
}

#: Routes with arguments make_world fills (test_every_route_with_arguments_is_decided).
FILLED = {
    "directory.partner",
    "public.office_privacy",
    "public.office_imprint",
    "account.confirm_withdraw",
    "confirm.respond",
    "account.application",
    "partners.edit_benefit",
    "review.detail",
    "review.correct",
    "register.detail",
    "partner_admin.detail",
    "staff.detail",
    "programme.admin_detail",
}

#: GET routes without arguments that are not HTML pages.
NOT_PAGES = ("/health", ".json", ".csv", ".pdf", "/api/v1/revocations")


@dataclass
class World:
    """The test data: one office with a person of every role, and their objects."""

    office_slug: str
    emails: dict[str, str]
    values: dict[str, dict[str, object]] = field(default_factory=dict)
    organisation_link: str = ""


def make_world(app: Flask) -> World:
    """An office with an application in review and one awaiting an organisation, a card,
    an approved partner with a benefit, and an account of every role."""
    with app.app_context():
        office = make_office()
        volunteer = make_user(UserRole.VOLUNTEER, email="erika@example.org")
        application = make_application(office, volunteer, first_name="Erika")
        card = make_card(
            application,
            state=CardState.ACTIVE,
            valid_from=date.today(),
            valid_until=date.today() + timedelta(days=3 * 365),
        )
        waiting = make_application(office, state=ApplicationState.AWAITING_CONFIRMATION)
        token = security.new_token()
        engagement = waiting.engagements[0]
        engagement.token_hash = security.hash_token(token)
        engagement.token_expires_at = utcnow() + timedelta(days=14)
        clerk = make_user(UserRole.CLERK, office, email="clerk@example.org")
        admin = make_user(UserRole.ADMIN, office, email="admin@example.org")
        programme = make_user(UserRole.PROGRAMME_ADMIN, office, email="programme@example.org")
        # A colleague, for her page on the programme's administrators.
        colleague = make_user(UserRole.PROGRAMME_ADMIN, email="colleague@example.org")
        partner, partner_user = make_partner(office, email="museum@example.org")
        benefit = db.session.scalar(select(Benefit).where(Benefit.partner_id == partner.id))
        assert benefit is not None
        db.session.commit()
        staff_values: dict[str, dict[str, object]] = {
            "review.detail": {"public_id": application.public_id},
            "review.correct": {"public_id": application.public_id},
            "register.detail": {"public_id": card.public_id},
            "partner_admin.detail": {"public_id": partner.public_id},
        }
        public_values: dict[str, dict[str, object]] = {
            "directory.partner": {"public_id": partner.public_id},
            "public.office_privacy": {"slug": office.slug},
            "public.office_imprint": {"slug": office.slug},
        }
        admin_values = {**public_values, **staff_values, "staff.detail": {"user_id": clerk.id}}
        return World(
            office_slug=office.slug,
            emails={
                "volunteer": volunteer.email,
                "partner": partner_user.email,
                "clerk": clerk.email,
                "admin": admin.email,
                "programme_admin": programme.email,
            },
            values={
                "anonymous": public_values,
                "organisation": {"confirm.respond": {"token": token}},
                "volunteer": {
                    **public_values,
                    "account.application": {"public_id": application.public_id},
                    # The withdrawal's confirmation step, for the application still open.
                    "account.confirm_withdraw": {"public_id": application.public_id},
                },
                "partner": {
                    **public_values,
                    "partners.edit_benefit": {"public_id": benefit.public_id},
                },
                "clerk": {**public_values, **staff_values},
                "admin": admin_values,
                "programme_admin": {
                    **admin_values,
                    "programme.admin_detail": {"user_id": colleague.id},
                },
            },
        )


def sign_in(app: Flask, page: Page, base: str, email: str) -> None:
    """The sign-in form as a person fills it, with the second factor for staff."""
    page.goto(f"{base}/anmelden")
    page.locator("main input[name=email]").fill(email)
    page.locator("main input[name=password]").fill(PASSWORD)
    page.locator("main form [type=submit]").first.click()
    page.wait_for_load_state()
    if "/zweiter-faktor" in page.url:
        with app.app_context():
            user = db.session.scalar(select(User).where(User.email == email))
            assert user is not None
            code = next_totp(user)
            db.session.remove()
        page.locator("main input[name=code]").fill(code)
        page.locator("main form [type=submit]").first.click()
        page.wait_for_load_state()
    assert "/anmelden" not in page.url, f"{email} could not sign in: {page.url}"


def open_as(
    app: Flask, browser: Browser, base: str, world: World, role: str, locale: str, **options: object
) -> tuple[BrowserContext, Page]:
    """A browser of its own for ``role`` in ``locale``, signed in where the role has an
    account; axe-core (from node_modules, never a CDN) is in every page it opens."""
    context = browser.new_context(locale=locale, **options)  # type: ignore[arg-type]
    context.add_init_script(path=AXE)
    page = context.new_page()
    if role in world.emails:
        sign_in(app, page, base, world.emails[role])
    return context, page


def crawl_paths(app: Flask, world: World, role: str) -> list[tuple[str, str]]:
    """(endpoint, path) of every page the crawl visits for ``role``."""
    values = world.values[role]
    paths = []
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if not _is_page(rule):
                continue
            if rule.arguments:
                if rule.endpoint not in values:
                    continue
                path = url_for(rule.endpoint, **values[rule.endpoint])
            elif role == "organisation":
                continue  # the organisation has only its link; the rest is anonymous
            else:
                path = rule.rule
            paths.append((rule.endpoint, path))
    return paths


def _is_page(rule: Rule) -> bool:
    return "GET" in (rule.methods or ()) and not any(
        part in rule.rule for part in NOT_PAGES if part
    )
