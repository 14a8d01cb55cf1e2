"""Sending a form the way a browser does: read it from the page (hidden fields, the
CSRF token, the options chosen by default), change what a person would type, send it."""

from __future__ import annotations

from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from werkzeug.test import TestResponse


class PageForms(HTMLParser):
    """Every form of a page: its action's path and the fields a browser would send."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._select: tuple[str, list[str], str | None] | None = None
        self._textarea: tuple[str, list[str]] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        name = values.get("name", "")
        if tag == "form":
            self.forms.append((urlsplit(values.get("action", "")).path, []))
        elif not self.forms:
            return
        elif tag == "input" and name:
            kind = values.get("type", "text")
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in values:
                return
            self.forms[-1][1].append((name, values.get("value", "on")))
        elif tag == "select" and name:
            self._select = (name, [], None)
        elif tag == "option" and self._select is not None:
            select_name, options, chosen = self._select
            value = values.get("value", "")
            options.append(value)
            if "selected" in values:
                chosen = value
            self._select = (select_name, options, chosen)
        elif tag == "textarea" and name:
            self._textarea = (name, [])

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            name, options, chosen = self._select
            if options:
                self.forms[-1][1].append((name, chosen if chosen is not None else options[0]))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            self.forms[-1][1].append((name, "".join(text).removeprefix("\n")))
            self._textarea = None

    def fields_of(self, action: str) -> dict[str, str]:
        """The fields of the (first) form sent to ``action``."""
        for path, fields in self.forms:
            if path == action:
                return dict(fields)
        raise AssertionError(f"no form sent to {action}: {[path for path, _ in self.forms]}")


def send_form(
    client: FlaskClient, page: str, action: str, changes: Mapping[str, Any] | None = None
) -> TestResponse:
    """Open ``page``, fill its form for ``action`` with ``changes``, and send it (a
    ``(stream, filename)`` value is a file chosen, sent as multipart like a browser)."""
    shown = client.get(page)
    assert shown.status_code == 200, (page, shown.status_code)
    return send_form_of(client, shown, page, action, changes)


def send_form_of(
    client: FlaskClient,
    shown: TestResponse,
    page: str,
    action: str,
    changes: Mapping[str, Any] | None = None,
) -> TestResponse:
    """:func:`send_form` for a page already shown at ``page`` (e.g. the answer to an
    upload, whose go-ahead form exists only there)."""
    forms = PageForms(shown.get_data(as_text=True))
    # A form without an action is sent to its own page.
    forms.forms = [(path or urlsplit(page).path, fields) for path, fields in forms.forms]
    fields = forms.fields_of(action)
    return client.post(action, data={**fields, **(changes or {})})
