"""The card type has one name everywhere (issue #14): the form, the account, the clerk's
pages and the check page said "Ehrenamtskarte (befristet)" here and "Standard" there."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from ehrenamt.labels import CARD_TYPE_SHORT
from ehrenamt.models import CardType, UserRole
from tests.factories import make_application, make_office, make_user
from tests.helpers import page_text, sign_in


def test_one_name_on_every_page(client: FlaskClient, make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    office = make_office()
    names = {str(CARD_TYPE_SHORT[t]) for t in CardType}
    assert names == {"Ehrenamtskarte", "Jubiläumskarte"}
    form = page_text(client.get("/antrag/"))
    for name in names:
        assert f"> {name}</label>" in form or f">{name}</label>" in form, name
    application = make_application(office, card_type=CardType.LONG_SERVICE)
    sign_in(client, application.applicant)
    assert "<dd>Jubiläumskarte</dd>" in page_text(
        client.get(f"/konto/antrag/{application.public_id}")
    )
    clerk = make_client()
    sign_in(clerk, make_user(UserRole.CLERK, office))
    queue = page_text(clerk.get("/verwaltung/?state="))
    # The cell may carry its column's head for the phone layout (data-label).
    assert re.search(r"<td[^>]*>Jubiläumskarte</td>", queue)
    for old in ("Standard", "(befristet)", ">Jubiläum<"):
        assert old not in form + queue
