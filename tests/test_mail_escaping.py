"""Every mail the service sends escapes every value in its HTML part and shows it as
typed in its text part.

The mails are found in templates/emails/ (each name with a .txt and an .html part), so
a new one is covered without touching this file; a value it needs that the poisoned
context below lacks fails :func:`test_the_poisoned_context_covers_every_mail`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from jinja2 import meta

from ehrenamt import ROOT
from ehrenamt.cardformat import card_numbers
from ehrenamt.core import mail
from ehrenamt.workflow import ApplicationState

EMAILS = ROOT / "templates" / "emails"
#: Markup a clerk, applicant or partner could type, with the characters HTML escapes.
MARKUP = "<b>x</b><script>alert(1)</script>\"'&"
ESCAPED = "&lt;b&gt;x&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;"
#: What Flask and our context processors give every template.
GLOBAL_NAMES = {"current_locale"}


def _mails() -> list[str]:
    """Each mail: a template name with both parts (not the layout, not a shared piece)."""
    return sorted(
        path.stem
        for path in EMAILS.glob("*.html")
        if not path.stem.startswith("_") and (EMAILS / f"{path.stem}.txt").exists()
    )


def _variables(app: Flask, name: str) -> set[str]:
    """The names a template and every template it extends or includes use."""
    source = app.jinja_loader.get_source(app.jinja_env, name)[0]  # type: ignore[union-attr]
    tree = app.jinja_env.parse(source)
    found = set(meta.find_undeclared_variables(tree))
    for other in meta.find_referenced_templates(tree):
        if other is not None:
            found |= _variables(app, other)
    return found


def _poisoned_context(state: ApplicationState) -> dict[str, Any]:
    """Every value any mail shows, each carrying MARKUP where it is text (the subject,
    also shown, is queue_mail's own argument)."""
    office = SimpleNamespace(name=MARKUP)
    return {
        "office": office,
        "application": SimpleNamespace(
            full_name=MARKUP,
            state=state,
            information_request=MARKUP,
            rejection_text=MARKUP,
            submitted_at=datetime(2030, 1, 2, 9, tzinfo=UTC),
        ),
        "reason_label": MARKUP,
        "reason": MARKUP,
        "note": MARKUP,
        "link": f"http://testserver.local/{MARKUP}",
        "account_link": f"http://testserver.local/{MARKUP}",
        "renewal_link": f"http://testserver.local/{MARKUP}",
        "review_link": f"http://testserver.local/{MARKUP}",
        "check_link": f"http://testserver.local/{MARKUP}",
        "keys_link": f"http://testserver.local/{MARKUP}",
        "with_file": True,
        "card": SimpleNamespace(
            holder_name=MARKUP,
            number=card_numbers.new_card_number(),
            valid_until=date(2030, 1, 31),
            office=office,
        ),
        "engagement": SimpleNamespace(
            contact_name=MARKUP, organisation_name=MARKUP, activity=MARKUP
        ),
        "applicant_name": MARKUP,
        "expires_at": datetime(2030, 1, 31, 12, tzinfo=UTC),
        "reminder": True,
        "partner": SimpleNamespace(name=MARKUP),
        "inviter": SimpleNamespace(display_name=MARKUP, email=MARKUP),
        "attempts": 5,
        "minutes": 15,
        "hours": 24,
        "new_email": MARKUP,
        "change": SimpleNamespace(state=SimpleNamespace(value="declined"), decline_reason=MARKUP),
        # The text part doubles as a letter's body (ehrenamt/letters); mails say False.
        "letter": False,
        "days": 7,
        "left": 9,
        "role": SimpleNamespace(value="clerk"),
        "user": SimpleNamespace(display_name=MARKUP, email=MARKUP),
        "what_changed": MARKUP,
    }


def _carries_markup(value: object) -> bool:
    if isinstance(value, str):
        return MARKUP in value
    if isinstance(value, SimpleNamespace):
        return any(_carries_markup(v) for v in vars(value).values())
    return False


def test_the_mails_are_found() -> None:
    """The enumeration sees real templates (a moved folder must not pass silently)."""
    assert {"application_status", "sign_in_link", "card_revoked"} <= set(_mails())


@pytest.mark.parametrize("template", _mails())
def test_the_poisoned_context_covers_every_mail(app: Flask, template: str) -> None:
    """A mail using a value the test does not poison fails here, not silently."""
    context = {"subject": MARKUP, **_poisoned_context(ApplicationState.SUBMITTED)}
    for part in ("txt", "html"):
        missing = _variables(app, f"emails/{template}.{part}") - set(context) - GLOBAL_NAMES
        assert not missing, f"add {sorted(missing)} to _poisoned_context for {template}"


CASES = [
    pytest.param(template, state, id=f"{template}-{state.value}")
    for template in _mails()
    for state in (
        ApplicationState
        if "application" in (EMAILS / f"{template}.txt").read_text(encoding="utf-8")
        else [ApplicationState.SUBMITTED]
    )
]


@pytest.mark.parametrize(("template", "state"), CASES)
def test_html_part_escapes_and_text_part_keeps_every_value(
    app: Flask, ctx: None, template: str, state: ApplicationState
) -> None:
    """Markup typed by anyone arrives escaped in the HTML and literally in the text."""
    with app.test_request_context():
        queued = mail.queue_mail("a@example.org", MARKUP, template, **_poisoned_context(state))
        message = mail.build_message(queued.payload, queued.id)

    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert ESCAPED in html
    assert MARKUP not in html
    for tag in ("<b>", "<script"):
        assert tag not in html, html
    # A mail that shows no typed text (only numbers) has nothing to keep literally.
    shows_text = any(
        _carries_markup(value)
        for name, value in _poisoned_context(state).items()
        if name in _variables(app, f"emails/{template}.txt")
    )
    assert (MARKUP in text) == shows_text
    for entity in ("&lt;", "&#34;", "&#39;", "&amp;"):
        assert entity not in text, text


def test_every_template_of_the_folder_is_a_mail_or_a_shared_piece() -> None:
    """No stray part: each .html has its .txt, except the layout."""
    stems = {p.stem for p in EMAILS.iterdir() if p.suffix == ".html"}
    assert stems - set(_mails()) == {"layout"}
    assert all(Path(EMAILS / f"{m}.txt").exists() for m in _mails())
