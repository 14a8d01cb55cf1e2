"""The office admin sets the retention periods (form, field errors, CSRF, audit) and
reads the deletion report."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import (
    AuditEntry,
    DeletionCount,
    Office,
    ProgrammeRules,
    RetentionRun,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.privacy import erasure
from ehrenamt.privacy.periods import months_before
from ehrenamt.privacy.retention import apply_retention
from ehrenamt.workflow import ApplicationState
from tests.factories import make_application, make_office, make_user
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
    page = page_text(response)
    assert f'id="{name}-error"' in page
    # The summary above the form links to the field (it was given no form before).
    summary = page.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert f'href="#{name}"' in summary
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


# --- the deletion report --------------------------------------------------------------


def test_report_counts_per_kind_and_month_and_names_the_next_run(
    admin_client: tuple[FlaskClient, Office],
) -> None:
    """After a run the page shows its counts for the month and when the job runs next;
    another office's counts are not shown."""
    client, office = admin_client
    assert "Der Auftrag ist noch nicht gelaufen." in page_text(client.get(PATH))
    other = make_office()
    now = utcnow()
    for place in (office, other):
        application = make_application(place, state=ApplicationState.REJECTED)
        application.state_changed_at = now - timedelta(days=400)
    db.session.commit()
    apply_retention(now)
    [run] = db.session.scalars(select(RetentionRun)).all()
    assert run.deleted == 2 and run.finished_at is not None
    counts = {
        (row.office_id, row.kind): row.count for row in db.session.scalars(select(DeletionCount))
    }
    assert counts == {(office.id, "decided_applications"): 1, (other.id, "decided_applications"): 1}
    html = page_text(client.get(PATH))
    assert "Abgelehnte und zurückgezogene Anträge" in html
    assert '<td data-kind="decided_applications">1</td>' in html
    assert "Nächster Lauf" in html


def test_report_counts_an_erasure_for_the_person_s_offices(
    admin_client: tuple[FlaskClient, Office],
) -> None:
    """A person erased at their request is counted for the office they applied to."""
    _client, office = admin_client
    application = make_application(office)
    person = db.session.get(User, application.applicant_id)
    assert person is not None
    erasure.erase_person(person, erasure.self_acting(person), self_request=True)
    [row] = db.session.scalars(select(DeletionCount)).all()
    assert (row.office_id, row.kind, row.count) == (office.id, "erased_persons", 1)


def test_report_rows_live_three_years(ctx: None) -> None:
    """Counts older than REPORT_KEPT_MONTHS go with the next run."""
    old = DeletionCount(office_id=None, kind="sent_mails", month=date(2020, 1, 1), count=3)
    db.session.add(old)
    db.session.commit()
    apply_retention(utcnow())
    assert db.session.scalars(select(DeletionCount)).all() == []
