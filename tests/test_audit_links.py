"""Every kind of object in the audit log links to its page, and the link opens it.

The cases name each :class:`Subject`; a new kind without a case fails
:func:`test_every_kind_of_object_has_a_case`. Where a row cannot link, the case says why.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from ehrenamt.core import audit
from ehrenamt.core.audit import AuditAction, Subject
from ehrenamt.extensions import db
from ehrenamt.models import (
    LegacyImport,
    LegacyImportState,
    Office,
    PrintLayout,
    PrintRun,
    PrintRunState,
    User,
    UserRole,
)
from ehrenamt.workflow import ApplicationState
from tests.factories import make_application, make_office, make_user
from tests.helpers import page_text, sign_in
from tests.test_cards import approve_without_worker
from tests.test_verify_pages import make_partner

PAGE = "/verwaltung/einstellungen/protokoll"


@dataclass(frozen=True)
class Case:
    """A row about ``subject``: the id its row names, and where it should link."""

    subject: Subject
    action: AuditAction
    make: Callable[[Office], tuple[int, str | None]]
    #: The reason stored on the row (a print run's id for a posted card).
    reason: str | None = None


def _application(office: Office) -> tuple[int, str | None]:
    made = make_application(office, state=ApplicationState.IN_REVIEW)
    return made.id, f"/verwaltung/antrag/{made.public_id}"


def _card(office: Office) -> tuple[int, str | None]:
    card = approve_without_worker(make_application(office, state=ApplicationState.IN_REVIEW))
    return card.id, f"/verwaltung/karten/{card.public_id}"


def _partner(office: Office) -> tuple[int, str | None]:
    partner = make_partner(office)
    return partner.id, f"/verwaltung/partner/{partner.public_id}"


def _legacy_import(office: Office) -> tuple[int, str | None]:
    found = LegacyImport(
        public_id=secrets.token_hex(16),
        office_id=office.id,
        original_name="alt.csv",
        file_kind="csv",
        sha256="0" * 64,
        state=LegacyImportState.DONE,
        total_rows=1,
    )
    db.session.add(found)
    db.session.commit()
    return found.id, f"/verwaltung/altkarten/{found.public_id}"


def _staff_member(office: Office) -> tuple[int, str | None]:
    clerk = make_user(UserRole.CLERK, office)
    return clerk.id, f"/verwaltung/mitarbeitende/{clerk.id}"


def _volunteer(office: Office) -> tuple[int, str | None]:
    # Staff have no page of a volunteer's account; the applications' rows link instead.
    return make_user(UserRole.VOLUNTEER, office).id, None


def _erased(office: Office) -> tuple[int, str | None]:
    # Erased (DSGVO Art. 17) or deleted past retention: the row stays, the object is gone.
    return 987_654_321, None


def _office(office: Office) -> tuple[int, str | None]:
    return office.id, "/verwaltung/einstellungen/amt"


def _rules(office: Office) -> tuple[int, str | None]:
    return office.rules.id, "/verwaltung/einstellungen/regeln"


def _retention(office: Office) -> tuple[int, str | None]:
    return office.rules.id, "/verwaltung/einstellungen/aufbewahrung"


CASES = {
    "application": Case(Subject.APPLICATION, AuditAction.APPROVE, _application),
    "card": Case(Subject.CARD, AuditAction.REVOKE, _card),
    "partner": Case(Subject.PARTNER, AuditAction.APPROVE, _partner),
    "legacy_import": Case(Subject.LEGACY_IMPORT, AuditAction.IMPORT, _legacy_import),
    "staff member": Case(Subject.USER, AuditAction.CHANGE_ROLE, _staff_member),
    "volunteer account": Case(Subject.USER, AuditAction.CHANGE_EMAIL, _volunteer),
    "erased person": Case(Subject.USER, AuditAction.ERASE_PERSON, _erased),
    "deleted application": Case(Subject.APPLICATION, AuditAction.SUBMIT, _erased),
    "office settings": Case(Subject.OFFICE, AuditAction.UPDATE_OFFICE, _office),
    "office export": Case(Subject.OFFICE, AuditAction.EXPORT, _office, "cards.csv"),
    "programme rules": Case(Subject.PROGRAMME_RULES, AuditAction.UPDATE_RULES, _rules),
    "retention periods": Case(Subject.PROGRAMME_RULES, AuditAction.UPDATE_RETENTION, _retention),
}


def test_every_kind_of_object_has_a_case() -> None:
    assert {case.subject for case in CASES.values()} == set(Subject)
    linked = {case.subject for case in CASES.values() if case.make not in (_volunteer, _erased)}
    assert linked == set(Subject)


def _link_of_row(text: str, subject: Subject) -> str | None:
    row = text.split(f'data-subject="{subject.value}"')[1].split("</tr>")[0]
    cell = row.split("<td>")[4]
    return cell.split('href="')[1].split('"')[0] if 'href="' in cell else None


@pytest.mark.parametrize("name", CASES)
def test_each_row_links_its_object_and_the_link_opens(
    client: FlaskClient, ctx: None, name: str
) -> None:
    case = CASES[name]
    office = make_office()
    admin = make_user(UserRole.ADMIN, office)
    subject_id, expected = case.make(office)
    audit.record(
        audit.Acting.system(),
        subject_type=case.subject,
        subject_id=subject_id,
        action=case.action,
        office_id=office.id,
        reason=case.reason,
    )
    db.session.commit()
    sign_in(client, admin)
    text = page_text(client.get(f"{PAGE}?subject_type={case.subject.value}"))
    assert _link_of_row(text, case.subject) == expected
    if expected is not None:
        assert client.get(expected).status_code == 200


def test_a_programme_admin_account_has_no_staff_page_link(client: FlaskClient, ctx: None) -> None:
    """She belongs to no office's staff: the office admin cannot open her account."""
    office = make_office()
    admin = make_user(UserRole.ADMIN, office)
    programme_admin: User = make_user(UserRole.PROGRAMME_ADMIN, office)
    audit.record(
        audit.Acting.staff(programme_admin),
        subject_type=Subject.USER,
        subject_id=programme_admin.id,
        action=AuditAction.NEW_RECOVERY_CODES,
        office_id=office.id,
    )
    db.session.commit()
    sign_in(client, admin)
    assert _link_of_row(page_text(client.get(PAGE)), Subject.USER) is None


def test_a_posted_card_links_its_print_run(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    admin = make_user(UserRole.ADMIN, office)
    card_id, card_page = _card(office)
    run = PrintRun(
        public_id=secrets.token_hex(16),
        office_id=office.id,
        layout=PrintLayout.SHEET,
        state=PrintRunState.READY,
        size=1,
    )
    db.session.add(run)
    db.session.flush()
    audit.record(
        audit.Acting.staff(admin),
        subject_type=Subject.CARD,
        subject_id=card_id,
        action=AuditAction.POST,
        office_id=office.id,
        reason=run.public_id,
    )
    db.session.commit()
    sign_in(client, admin)
    text = page_text(client.get(f"{PAGE}?action=post"))
    row = text.split('data-action="post"')[1].split("</tr>")[0]
    assert f'href="{card_page}"' in row
    run_page = f"/verwaltung/briefe/druckauftrag/{run.public_id}"
    assert f'href="{run_page}"' in row
    assert client.get(run_page).status_code == 200


@pytest.mark.parametrize(
    ("language", "words"),
    [("de", "– → Programmadministration"), ("en", "– → Programme administration")],
)
def test_staff_changes_name_the_role_in_words(
    client: FlaskClient, ctx: None, language: str, words: str
) -> None:
    office = make_office()
    admin = make_user(UserRole.ADMIN, office)
    audit.record(
        audit.Acting.staff(admin),
        subject_type=Subject.USER,
        subject_id=admin.id,
        action=AuditAction.INVITE_STAFF,
        office_id=office.id,
        to_state="programme_admin",
    )
    db.session.commit()
    sign_in(client, admin)
    text = page_text(client.get(PAGE, headers={"Accept-Language": language}))
    assert words in text
