"""The office admin sets the retention periods: form, field errors, CSRF, audit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import AuditEntry, Office, ProgrammeRules, UserRole
from ehrenamt.privacy.periods import months_before
from tests.factories import make_office, make_user
from tests.helpers import page_text, post, sign_in

PATH = "/verwaltung/einstellungen/aufbewahrung"
DEFAULTS = {
    "retention_decided_months": "6",
    "retention_card_months": "12",
    "retention_unconfirmed_days": "30",
    "retention_check_days": "90",
}


@pytest.fixture
def admin_client(ctx: None, client: FlaskClient) -> tuple[FlaskClient, Office]:
    """A signed-in office admin and their office."""
    office = make_office()
    sign_in(client, make_user(UserRole.ADMIN, office))
    return client, office


def _rules(office: Office) -> ProgrammeRules:
    db.session.rollback()
    rules = db.session.scalar(select(ProgrammeRules).where(ProgrammeRules.office_id == office.id))
    assert rules is not None
    return rules


def test_new_office_has_the_design_defaults(admin_client: tuple[FlaskClient, Office]) -> None:
    """DESIGN.md's periods, shown in the form."""
    client, office = admin_client
    html = page_text(client.get(PATH))
    for name, value in DEFAULTS.items():
        assert f'name="{name}"' in html
        assert getattr(_rules(office), name) == int(value)


def test_admin_changes_a_period_and_it_is_audited(admin_client: tuple[FlaskClient, Office]) -> None:
    """Saved, and one audit row names exactly the change."""
    client, office = admin_client
    response = post(client, PATH, {**DEFAULTS, "retention_decided_months": "3"}, page=PATH)
    assert response.status_code == 302
    assert "Die Fristen sind gespeichert." in page_text(client.get(PATH))
    assert _rules(office).retention_decided_months == 3
    [entry] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "update_retention")
    ).all()
    assert entry.reason == "retention_decided_months: 6 → 3"
    assert entry.office_id == office.id
    assert entry.actor_role == "admin"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("retention_decided_months", "0"),
        ("retention_card_months", "121"),
        ("retention_unconfirmed_days", "abc"),
        ("retention_check_days", ""),
    ],
)
def test_bad_period_gets_a_field_error(
    admin_client: tuple[FlaskClient, Office], name: str, value: str
) -> None:
    """A message at the field, status 400, nothing saved."""
    client, office = admin_client
    response = post(client, PATH, {**DEFAULTS, name: value}, page=PATH)
    assert response.status_code == 400
    assert f'id="{name}-error"' in page_text(response)
    assert getattr(_rules(office), name) == int(DEFAULTS[name])


def test_form_needs_the_csrf_token(admin_client: tuple[FlaskClient, Office]) -> None:
    """Without the token nothing changes."""
    client, office = admin_client
    response = client.post(PATH, data={**DEFAULTS, "retention_decided_months": "3"})
    assert response.status_code == 400
    assert _rules(office).retention_decided_months == 6


@pytest.mark.parametrize("role", [UserRole.CLERK, UserRole.VOLUNTEER])
def test_only_the_office_admin_may_edit(ctx: None, client: FlaskClient, role: UserRole) -> None:
    """A clerk or a volunteer does not get the page."""
    office = make_office()
    sign_in(client, make_user(role, office if role == UserRole.CLERK else None))
    assert client.get(PATH).status_code in (403, 404)


def test_months_before_keeps_the_calendar() -> None:
    """Six months before 31 August is the last day of February; across a year too."""
    assert months_before(datetime(2026, 8, 31, 12, tzinfo=UTC), 6) == datetime(
        2026, 2, 28, 12, tzinfo=UTC
    )
    assert months_before(datetime(2026, 3, 15, tzinfo=UTC), 12) == datetime(2025, 3, 15, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 10, tzinfo=UTC), 1) == datetime(2025, 12, 10, tzinfo=UTC)
