"""Import of cards a town issued on paper: dry run, all or nothing, idempotent, in batches;
the imported numbers answer at every check like new cards; holders are reminded."""

from __future__ import annotations

import csv
import io
import time
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select

from ehrenamt.cardformat import card_numbers, legacy_numbers
from ehrenamt.cards import jobs, lifecycle
from ehrenamt.cards import production as cards_production
from ehrenamt.cards import register as cards_register
from ehrenamt.cards.validity import today
from ehrenamt.core import uploads
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.legacy import importing
from ehrenamt.models import (
    Application,
    AuditEntry,
    Card,
    CardState,
    LegacyImport,
    LegacyImportState,
    Letter,
    Office,
    OutboxMessage,
    RevocationReason,
    User,
    UserRole,
)
from tests.factories import make_office, make_user
from tests.helpers import csrf_token, page_text, post, sign_in
from tests.mailbox import Mailbox
from tests.test_api import VERIFY, bearer, make_partner, new_key
from tests.test_verify_pages import make_partner_user

HEADER = [
    "Vorname",
    "Nachname",
    "Geburtsdatum",
    "Straße",
    "PLZ",
    "Ort",
    "E-Mail",
    "Kartenart",
    "Kartennummer",
    "gültig ab",
    "gültig bis",
]


def legacy_line(n: int, **changes: str) -> list[str]:
    """One good line of a town's file: card number DR-<n>, valid until next year."""
    until = (today() + timedelta(days=365)).strftime("%d.%m.%Y")
    line = {
        "Vorname": "Erika",
        "Nachname": f"Altkarte{n}",
        "Geburtsdatum": "17.05.1960",
        "Straße": "Hauptstraße 1",
        "PLZ": "06844",
        "Ort": "Dessau-Roßlau",
        "E-Mail": f"alt{n}@example.org" if n % 2 else "",
        "Kartenart": "Standard",
        "Kartennummer": f"DR-2019-{n:06d}",
        "gültig ab": "01.03.2019",
        "gültig bis": until,
    }
    line.update(changes)
    return [line[column] for column in HEADER]


def csv_file(lines: list[list[str]], delimiter: str = ";") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(HEADER)
    writer.writerows(lines)
    return out.getvalue().encode("utf-8")


def xlsx_file(lines: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    for line in lines:
        sheet.append(line)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def checked(data: bytes, name: str = "karten.csv") -> uploads.CheckedFile:
    return uploads.check_spreadsheet(io.BytesIO(data), name, 15 * 1024 * 1024)


def clerk(office: Office) -> User:
    return make_user(UserRole.CLERK, office)


def import_now(office: Office, data: bytes, name: str = "karten.csv") -> LegacyImport:
    """Dry run, go-ahead, and the worker's part, in this thread."""
    acting = Acting.staff(clerk(office))
    legacy_import, report = importing.check_upload(office.id, acting, checked(data, name))
    assert legacy_import is not None, report.errors
    importing.start(legacy_import, acting)
    assert importing.run(legacy_import.id) == LegacyImportState.DONE
    db.session.refresh(legacy_import)
    return legacy_import


def card_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(Card)) or 0)


# --- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("printed", "canonical"),
    [("DR-2019-000123", "DR2019000123"), ("4711", "4711"), ("dr 12/345", "DR12345")],
)
def test_legacy_numbers_are_normalised(printed: str, canonical: str) -> None:
    assert legacy_numbers.normalise_legacy_number(printed) == canonical
    assert card_numbers.format_card_number(canonical) == canonical  # shown as printed


@pytest.mark.parametrize("bad", ["12", "X" * 17, "DR#1234", "Müller-1"])
def test_what_cannot_be_a_legacy_number(bad: str) -> None:
    assert legacy_numbers.legacy_form(bad) is None


def test_a_new_style_number_is_never_a_legacy_number() -> None:
    for _ in range(200):
        new = card_numbers.new_card_number()
        with pytest.raises(legacy_numbers.InvalidLegacyNumber):
            legacy_numbers.normalise_legacy_number(card_numbers.format_card_number(new))


# --- the dry run ----------------------------------------------------------------------------


def test_thousand_lines_with_one_bad_line_import_nothing_and_name_the_line(
    app: Flask, ctx: None
) -> None:
    office = make_office()
    lines = [legacy_line(n) for n in range(1, 1001)]
    lines[736] = legacy_line(737, **{"Geburtsdatum": "31.02.1960"})  # line 738 of the file
    acting = Acting.staff(clerk(office))

    legacy_import, report = importing.check_upload(office.id, acting, checked(csv_file(lines)))

    assert legacy_import is None
    assert report.total == 1000
    assert list(report.errors) == [738]
    assert "Geburtsdatum" in report.errors[738][0]
    assert card_count() == 0
    assert db.session.scalar(select(func.count()).select_from(LegacyImport)) == 0


def test_errors_per_line(app: Flask, ctx: None) -> None:
    office = make_office()
    new_style = card_numbers.format_card_number(card_numbers.new_card_number())
    lines = [
        legacy_line(1),
        legacy_line(2, **{"Kartennummer": "DR-2019-000001"}),  # duplicate of line 2
        legacy_line(3, **{"Kartenart": "Platin"}),
        legacy_line(4, **{"Kartennummer": new_style}),
        legacy_line(5, **{"gültig ab": "gestern"}),
        legacy_line(6, **{"Nachname": '=HYPERLINK("x")'}),
        legacy_line(7, **{"Kartenart": "Jubiläum"}),  # long service has no end
        legacy_line(8, **{"Kartenart": "Jubiläum", "gültig bis": ""}),  # fine
    ]
    report = importing.check_upload(
        office.id, Acting.staff(clerk(office)), checked(csv_file(lines))
    )[1]

    assert sorted(report.errors) == [3, 4, 5, 6, 7, 8]
    assert "Zeile 2" in report.errors[3][0]
    assert "Platin" in report.errors[4][0]
    assert "Kartennummer dieses Dienstes" in report.errors[5][0]
    assert "gültig ab" in report.errors[6][0]
    assert "Tabellenformel" in report.errors[7][0]
    assert "unbefristet" in report.errors[8][0]


def test_a_number_of_another_office_is_refused(app: Flask, ctx: None) -> None:
    import_now(make_office(), csv_file([legacy_line(1)]))
    other = make_office()
    report = importing.check_upload(
        other.id, Acting.staff(clerk(other)), checked(csv_file([legacy_line(1)]))
    )[1]
    assert list(report.errors) == [2]


def test_missing_columns_and_files_that_are_no_table(app: Flask, ctx: None) -> None:
    office = make_office()
    acting = Acting.staff(clerk(office))
    report = importing.check_upload(office.id, acting, checked(b"Vorname;Nachname\nA;B\n"))[1]
    assert list(report.errors) == [1]
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40 + b"IEND\xaeB`\x82"
    with pytest.raises(uploads.UploadRejected):
        checked(png, "karten.csv")
    with pytest.raises(uploads.UploadRejected):
        checked("Vorname\n".encode("utf-16"), "karten.csv")


# --- importing ------------------------------------------------------------------------------


def test_a_good_file_imported_twice_imports_once(app: Flask, ctx: None) -> None:
    office = make_office()
    data = xlsx_file([legacy_line(n) for n in range(1, 21)])

    first = import_now(office, data, "karten.xlsx")
    second = import_now(office, data, "karten.xlsx")

    assert (first.created_cards, first.skipped_rows) == (20, 0)
    assert (second.created_cards, second.skipped_rows) == (0, 20)
    assert card_count() == 20
    assert first.content is None  # the personal data goes once imported
    card = db.session.scalar(select(Card).where(Card.legacy_number == "DR2019000003"))
    assert card is not None
    assert card.number == "DR2019000003"
    assert card.state == CardState.ACTIVE
    assert card.holder.email == "alt3@example.org"
    assert card.application.birth_date == date(1960, 5, 17)
    no_mail = db.session.scalar(select(Card).where(Card.legacy_number == "DR2019000004"))
    assert no_mail is not None and no_mail.holder.email is None
    actions = set(
        db.session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.subject_type == "card", AuditEntry.subject_id == card.id
            )
        )
    )
    assert actions == {"import"}


def test_the_worker_writes_in_batches_and_goes_on_where_it_stopped(
    app: Flask, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    office = make_office()
    monkeypatch.setitem(app.config, "LEGACY_IMPORT_BATCH_SIZE", 7)
    acting = Acting.staff(clerk(office))
    legacy_import, _ = importing.check_upload(
        office.id, acting, checked(csv_file([legacy_line(n) for n in range(1, 31)]))
    )
    assert legacy_import is not None
    importing.start(legacy_import, acting)
    commits: list[int] = []
    real = importing.import_rows

    def counting(office_id: int, rows: list[Any], acting: Acting) -> int:
        commits.append(len(rows))
        if len(commits) == 3:
            raise RuntimeError("worker died")
        return real(office_id, rows, acting)

    monkeypatch.setattr(importing, "import_rows", counting)
    with pytest.raises(RuntimeError):
        importing.run(legacy_import.id)
    db.session.rollback()
    assert card_count() == 14  # two batches committed, the third not

    monkeypatch.setattr(importing, "import_rows", real)
    assert importing.run(legacy_import.id) == LegacyImportState.DONE
    assert commits == [7, 7, 7]
    assert card_count() == 30
    assert db.session.get(LegacyImport, legacy_import.id).processed_rows == 30  # type: ignore[union-attr]


def test_expired_cards_are_imported_as_expired(app: Flask, ctx: None) -> None:
    office = make_office()
    import_now(office, csv_file([legacy_line(1, **{"gültig bis": "31.12.2020"})]))
    [card] = db.session.scalars(select(Card))
    assert card.state == CardState.EXPIRED


# --- imported numbers at every check --------------------------------------------------------


def test_imported_number_checks_valid_everywhere_and_revoked_after_revocation(
    app: Flask, ctx: None, client: FlaskClient, make_client: Any
) -> None:
    partner, _ = make_partner()
    key = new_key(partner)
    office = partner.office
    import_now(office, csv_file([legacy_line(5)]))
    printed = "DR-2019-000005"
    page_client = make_client()
    sign_in(page_client, make_partner_user(partner))

    def answers() -> tuple[str, str, str]:
        api = client.post(VERIFY, json={"code": printed}, headers=bearer(key)).get_json()
        typed = page_text(
            post(
                page_client,
                "/pruefen/",
                {"code": printed.lower()},
                page="/pruefen/",
                follow_redirects=True,
            )
        )
        # The scan page's script sends what the camera read and gets JSON back.
        scan = page_client.post(
            "/pruefen/ergebnis",
            json={"code": printed},
            headers={"X-CSRFToken": csrf_token(page_client, "/pruefen/")},
        ).get_json()
        word = typed.split('data-status="', 1)[1].split('"', 1)[0]
        return api["status"], word, scan["status"]

    assert answers() == ("valid", "valid", "valid")
    api = client.post(VERIFY, json={"code": printed}, headers=bearer(key)).get_json()
    assert api["card_number"] == "DR2019000005"
    assert api["holder_name"] == "Erika Altkarte5"

    card = db.session.scalar(select(Card).where(Card.legacy_number == "DR2019000005"))
    assert card is not None
    lifecycle.revoke(card, Acting.staff(clerk(office)), RevocationReason.LOST)
    assert answers() == ("revoked", "revoked", "revoked")


def test_the_register_finds_an_imported_card_by_its_printed_number(app: Flask, ctx: None) -> None:
    office = make_office()
    import_now(office, csv_file([legacy_line(n) for n in range(1, 4)]))
    filters = cards_register.RegisterFilter(text="dr 2019 000002")
    page = cards_register.list_register(office.id, filters, 1, 25)
    assert [card.legacy_number for card in page.items] == ["DR2019000002"]
    by_name = cards_register.list_register(
        office.id, cards_register.RegisterFilter(text="Altkarte3"), 1, 25
    )
    assert [card.legacy_number for card in by_name.items] == ["DR2019000003"]


def test_reissue_gives_a_signed_card_with_a_new_number_and_retires_the_old(
    app: Flask, ctx: None, client: FlaskClient
) -> None:
    partner, _ = make_partner()
    key = new_key(partner)
    import_now(partner.office, csv_file([legacy_line(1)]))
    card = db.session.scalar(select(Card))
    assert card is not None
    lifecycle.reissue(card, Acting.staff(clerk(partner.office)))
    assert cards_production.produce(card.id) == cards_production.Produced.MADE
    db.session.refresh(card)

    assert card_numbers.is_valid(card.number)
    assert card.legacy_number == "DR2019000001"
    assert card.token is not None and card.state == CardState.ACTIVE
    new = client.post(VERIFY, json={"code": card.number}, headers=bearer(key)).get_json()
    old = client.post(VERIFY, json={"code": "DR-2019-000001"}, headers=bearer(key)).get_json()
    assert (new["status"], old["status"]) == ("valid", "revoked")


def test_renewal_reminders_reach_holders_by_mail_or_by_letter(
    app: Flask, ctx: None, mailbox: Mailbox
) -> None:
    soon = (today() + timedelta(days=10)).strftime("%d.%m.%Y")
    office = make_office()
    import_now(office, csv_file([legacy_line(n, **{"gültig bis": soon}) for n in (1, 2)]))

    assert jobs.remind_expiring() == 2
    reminded = db.session.scalars(
        select(Card.legacy_number)
        .where(Card.expiry_reminder_sent_at.is_not(None))
        .order_by(Card.legacy_number)
    ).all()
    assert reminded == ["DR2019000001", "DR2019000002"]
    mails = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.task == "ehrenamt.send_mail")
    ).all()
    # Line 1 has an address and gets a mail; line 2 has none and gets a letter to print.
    assert [message.payload["to"] for message in mails] == ["alt1@example.org"]
    lettered = db.session.scalars(
        select(Card.legacy_number).join(Letter, Letter.card_id == Card.id)
    ).all()
    assert lettered == ["DR2019000002"]
    assert jobs.remind_expiring() == 0


# --- the pages ------------------------------------------------------------------------------


def upload(client: FlaskClient, data: bytes, name: str = "karten.csv") -> Any:
    return post(
        client,
        "/verwaltung/altkarten/",
        {"file": (io.BytesIO(data), name)},
        page="/verwaltung/altkarten/",
        content_type="multipart/form-data",
    )


def test_pages_dry_run_then_import_with_progress(
    app: Flask, ctx: None, client: FlaskClient
) -> None:
    office = make_office()
    sign_in(client, clerk(office))
    bad = [legacy_line(1), legacy_line(2, **{"Kartenart": "Platin"})]
    response = upload(client, csv_file(bad))
    assert response.status_code == 400
    assert "Zeile 3:" in page_text(response)
    assert card_count() == 0

    response = upload(client, xlsx_file([legacy_line(1), legacy_line(2)]), "karten.xlsx")
    assert response.status_code == 200
    html = page_text(response)
    assert 'data-count="new">2<' in html
    legacy_import = db.session.scalar(select(LegacyImport))
    assert legacy_import is not None
    path = f"/verwaltung/altkarten/{legacy_import.public_id}"
    response = post(client, f"{path}/importieren", page="/verwaltung/altkarten/")
    assert response.status_code == 302
    assert client.get(f"{path}.json").get_json()["state"] == "importing"
    assert card_count() == 0  # the worker does it

    importing.run(legacy_import.id)
    figures = client.get(f"{path}.json").get_json()
    assert figures == {
        "state": "done",
        "total": 2,
        "processed": 2,
        "created": 2,
        "skipped": 0,
        "complete": True,
    }
    assert 'id="import-complete"' in page_text(client.get(path))
    # A second go-ahead for the same file does nothing.
    assert post(client, f"{path}/importieren", page="/verwaltung/altkarten/").status_code == 302
    assert card_count() == 2


def test_another_office_and_other_roles_see_nothing(
    app: Flask, ctx: None, client: FlaskClient, make_client: Any
) -> None:
    office = make_office()
    legacy_import = import_now(office, csv_file([legacy_line(1)]))
    other = make_client()
    sign_in(other, clerk(make_office()))
    assert other.get(f"/verwaltung/altkarten/{legacy_import.public_id}").status_code == 404
    assert other.get(f"/verwaltung/altkarten/{legacy_import.public_id}.json").status_code == 404
    volunteer = make_client()
    sign_in(volunteer, make_user(UserRole.VOLUNTEER))
    assert volunteer.get("/verwaltung/altkarten/").status_code == 403


def test_a_file_that_is_not_a_table_gets_a_message_at_the_field(
    app: Flask, ctx: None, client: FlaskClient
) -> None:
    sign_in(client, clerk(make_office()))
    response = upload(client, b"%PDF-1.4\n1 0 obj\n%%EOF\n", "karten.csv")
    assert response.status_code == 400
    assert "CSV- oder XLSX-Datei" in page_text(response)


@pytest.mark.worker
def test_the_worker_imports_a_confirmed_file(app: Flask, ctx: None, client: FlaskClient) -> None:
    office = make_office()
    sign_in(client, clerk(office))
    assert upload(client, csv_file([legacy_line(n) for n in range(1, 6)])).status_code == 200
    legacy_import = db.session.scalar(select(LegacyImport))
    assert legacy_import is not None
    path = f"/verwaltung/altkarten/{legacy_import.public_id}"
    post(client, f"{path}/importieren", page="/verwaltung/altkarten/")
    deadline = time.monotonic() + 15
    while client.get(f"{path}.json").get_json()["state"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert card_count() == 5
    assert db.session.scalar(select(func.count()).select_from(Application)) == 5
