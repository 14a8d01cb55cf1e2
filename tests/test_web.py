"""What every page shares: refusing control characters, error pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from ehrenamt.models import UserRole
from ehrenamt.workflow import ApplicationState
from tests.factories import make_application, make_office, make_user
from tests.helpers import page_text, post, sign_in

#: What the paths below carry: C0 controls and DEL.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@pytest.mark.parametrize("value", ["a\x00b", "\x1b[31m", "x\x7f"])
def test_control_characters_in_an_answer_are_refused_at_the_field(
    client: FlaskClient, ctx: None, value: str
) -> None:
    """The applicant's answer: a message at the field, never a 500."""
    application = make_application(make_office(), state=ApplicationState.NEEDS_INFORMATION)
    sign_in(client, application.applicant)
    path = f"/konto/antrag/{application.public_id}"
    response = post(client, f"{path}/antworten", {"answer": value}, page=path)
    assert response.status_code == 400
    assert "Steuerzeichen" in page_text(response)


@pytest.mark.parametrize(
    "path",
    ["/verwaltung/antrag/a%00b", "/konto/antrag/%00", "/bestaetigung/x%00y", "/anmelden/link/%01"],
)
def test_control_characters_in_a_path_are_not_found(
    client: FlaskClient, ctx: None, path: str
) -> None:
    """An id or token with a control character names nothing: 404, never a 500, and it
    never gets as far as the database (PostgreSQL refuses a NUL in a parameter)."""
    clerk = make_user(UserRole.CLERK, make_office())
    sign_in(client, clerk)
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, _statement: str, parameters: Any, *_args: Any) -> None:
        values = parameters.values() if isinstance(parameters, dict) else parameters or ()
        sent.extend(value for value in values if isinstance(value, str))

    event.listen(Engine, "before_cursor_execute", note)
    try:
        response = client.get(path)
    finally:
        event.remove(Engine, "before_cursor_execute", note)
    assert response.status_code == 404
    assert [value for value in sent if CONTROL.search(value)] == []


def test_tabs_and_line_breaks_are_fine(client: FlaskClient, ctx: None) -> None:
    """Multi-line answers keep working."""
    application = make_application(make_office(), state=ApplicationState.NEEDS_INFORMATION)
    sign_in(client, application.applicant)
    path = f"/konto/antrag/{application.public_id}"
    response = post(client, f"{path}/antworten", {"answer": "Zeile 1\r\nZeile 2\tEnde"}, page=path)
    assert response.status_code == 302
