"""Proof uploads with the application form, and downloading them again."""

from __future__ import annotations

import io
import json
import os
import socket
import struct
import subprocess
import sys
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from ehrenamt.core import uploads
from ehrenamt.extensions import db
from ehrenamt.models import Application, Office, Upload, User, UserRole, utcnow
from ehrenamt.workflow import ApplicationState
from tests.factories import (
    application_form_data,
    blank_engagement_row,
    make_application,
    make_office,
    make_user,
)
from tests.harness import wait_until
from tests.helpers import csrf_token, page_text, sign_in
from tests.mailbox import free_port
from tests.processes import settings_for
from tests.test_apply import FORM, FormPage, count

# --- real files, built by hand (Pillow is not installed) ------------------------------


def make_pdf(size: int | None = None) -> bytes:
    """A minimal one-page PDF, padded by a comment line to exactly ``size`` bytes."""
    head = (
        b"%PDF-1.4\n"
        b"1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
        b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
        b"3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R>> endobj\n"
        b"4 0 obj <</Length 39>> stream\n"
        b"BT /F1 12 Tf 72 712 Td (Nachweis) Tj ET\nendstream endobj\n"
    )
    tail = b"trailer <</Root 1 0 R>>\n%%EOF\n"
    padding = 0 if size is None else size - len(head) - len(tail) - 2
    return head + b"%" + b"x" * padding + b"\n" + tail


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_png() -> bytes:
    """A 2×2 red PNG: signature, IHDR, zlib-compressed IDAT, IEND."""
    width = height = 2
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def _jpeg_segment(marker: bytes, payload: bytes) -> bytes:
    return marker + struct.pack(">H", len(payload) + 2) + payload


def make_jpeg() -> bytes:
    """An 8×8 grey baseline JPEG (decodes cleanly with libjpeg's djpeg)."""
    one_code = bytes([1] + [0] * 15) + b"\x00"  # one Huffman code of length 1, for symbol 0
    return (
        b"\xff\xd8"
        + _jpeg_segment(b"\xff\xe0", b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _jpeg_segment(b"\xff\xdb", b"\x00" + bytes([1] * 64))
        + _jpeg_segment(b"\xff\xc0", b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")
        + _jpeg_segment(b"\xff\xc4", b"\x00" + one_code)
        + _jpeg_segment(b"\xff\xc4", b"\x10" + one_code)
        + _jpeg_segment(b"\xff\xda", b"\x01\x01\x00\x00\x3f\x00")
        + b"\x3f"  # DC difference 0, then end of block, padded with ones
        + b"\xff\xd9"
    )


# --- helpers ------------------------------------------------------------------------


def stored_files(app: Flask) -> set[str]:
    """The names in the upload folder now."""
    folder = Path(app.config["UPLOAD_FOLDER"])
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def with_proof(
    office: Office, content: bytes, name: str, content_type: str | None = None, **changes: str
) -> dict[str, object]:
    """The form claiming a qualification (no engagement) with this file as proof."""
    data: dict[str, object] = dict(
        application_form_data(
            office,
            qualification="juleica",
            **blank_engagement_row(),
            **changes,
        )
    )
    upload = (
        (io.BytesIO(content), name, content_type) if content_type else (io.BytesIO(content), name)
    )
    data["proof"] = upload
    return data


def send(client: FlaskClient, data: dict[str, object]) -> TestResponse:
    """POST the form as multipart, like a browser with a file chosen.

    The body is encoded here, in memory: the test client spools large bodies to a
    temporary file that it never closes (a ResourceWarning, an error under -W error).
    """
    fields: dict[str, object] = {"csrf_token": csrf_token(client, FORM)}
    for name, value in data.items():
        if isinstance(value, tuple):
            stream, filename, *content_type = value
            value = FileStorage(stream, filename, content_type=(content_type or [None])[0])
        fields[name] = value
    boundary, body = encode_multipart(fields)
    return client.post(FORM, data=body, content_type=f"multipart/form-data; boundary={boundary}")


# --- accepted files -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "browser_type", "detected", "extension"),
    [
        (make_pdf(), "Juleica-Nachweis.pdf", "application/pdf", "application/pdf", "pdf"),
        (make_png(), "scan.png", "image/png", "image/png", "png"),
        (make_jpeg(), "foto.jpeg", "image/jpeg", "image/jpeg", "jpg"),
        # The browser's name and type do not matter; the bytes do.
        (make_png(), "nachweis.pdf", "application/pdf", "image/png", "png"),
    ],
    ids=["pdf", "png", "jpeg", "png-named-pdf"],
)
def test_proof_is_stored_under_a_random_name_with_detected_type(
    app: Flask,
    client: FlaskClient,
    ctx: None,
    content: bytes,
    name: str,
    browser_type: str,
    detected: str,
    extension: str,
) -> None:
    """A real PDF/PNG/JPEG is kept privately, under a random name, typed by its bytes."""
    office = make_office()
    before = stored_files(app)

    response = send(client, with_proof(office, content, name, browser_type))

    assert response.status_code == 302, page_text(response)[:3000]
    application = db.session.scalars(select(Application)).one()
    [upload] = application.uploads
    assert upload.original_name == name
    assert upload.content_type == detected
    assert upload.size == len(content)
    assert stored_files(app) - before == {upload.stored_name}
    assert upload.stored_name.endswith(f".{extension}")
    assert name not in upload.stored_name
    assert len(upload.stored_name.split(".")[0]) == 32
    path = Path(app.config["UPLOAD_FOLDER"]) / upload.stored_name
    assert path.read_bytes() == content
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(path.parent).st_mode & 0o077 == 0


def test_file_of_exactly_the_limit_is_accepted(app: Flask, client: FlaskClient, ctx: None) -> None:
    """UPLOAD_MAX_BYTES itself is still allowed."""
    office = make_office()
    limit = app.config["UPLOAD_MAX_BYTES"]
    content = make_pdf(size=limit)
    assert len(content) == limit
    response = send(client, with_proof(office, content, "gross.pdf"))
    assert response.status_code == 302, FormPage(page_text(response)).error("proof")
    assert db.session.scalars(select(Upload)).one().size == limit


def test_path_in_the_file_name_only_affects_the_displayed_name(
    app: Flask, client: FlaskClient, ctx: None
) -> None:
    """ "../../etc/passwd.pdf" is stored randomly inside the folder, shown as passwd.pdf."""
    office = make_office()
    folder = Path(app.config["UPLOAD_FOLDER"])
    before = stored_files(app)

    response = send(client, with_proof(office, make_pdf(), "../../etc/passwd.pdf"))

    assert response.status_code == 302
    upload = db.session.scalars(select(Upload)).one()
    assert upload.original_name == "passwd.pdf"
    assert stored_files(app) - before == {upload.stored_name}
    assert not (folder.parent.parent / "etc" / "passwd.pdf").exists()
    assert "/" not in upload.stored_name and ".." not in upload.stored_name


def test_control_characters_in_the_file_name_are_dropped(client: FlaskClient, ctx: None) -> None:
    """A CR/LF or right-to-left override in an RFC 2231 file name neither sticks nor breaks."""
    office = make_office()
    data = with_proof(office, b"", "")
    data.pop("proof")
    fields = {"csrf_token": csrf_token(client, FORM), **data}
    boundary, body = encode_multipart(fields)
    file_part = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="proof"; '
            "filename*=UTF-8''rechnung%0D%0ASet-Cookie%3A%20a%3Db%E2%80%AEfdp.pdf\r\n"
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + make_pdf()
        + b"\r\n"
    )
    end = f"--{boundary}--".encode()
    body = body.replace(end, file_part + end)

    response = client.post(
        FORM, data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )

    assert response.status_code == 302, page_text(response)[:2000]
    upload = db.session.scalars(select(Upload)).one()
    assert upload.original_name == "rechnungSet-Cookie: a=bfdp.pdf"
    with client.get(f"/konto/nachweis/{upload.id}") as download:
        assert download.status_code == 200
        disposition = download.headers["Content-Disposition"]
        assert disposition == 'attachment; filename="rechnungSet-Cookie: a=bfdp.pdf"'
        assert not any(c.startswith("a=") for c in download.headers.getlist("Set-Cookie"))
        assert download.get_data() == make_pdf()


# --- rejected files -----------------------------------------------------------------

NOT_A_PROOF = "Bitte laden Sie eine PDF-, JPEG- oder PNG-Datei hoch."
LIMIT = 5 * 1024 * 1024

ATTACKS = [
    pytest.param(
        b"<!DOCTYPE html><html><script>fetch('/konto/').then(r=>r.text())</script></html>",
        "proof.pdf",
        NOT_A_PROOF,
        id="html-as-pdf",
    ),
    pytest.param(
        b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        "proof.png",
        NOT_A_PROOF,
        id="svg-as-png",
    ),
    pytest.param(
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
        + b"\x00" * 44
        + b"\x80\x00\x00\x00"
        + b"\x00" * 64
        + b"PE\x00\x00L\x01\x03\x00"
        + b"\x00" * 200,
        "proof.png",
        NOT_A_PROOF,
        id="pe-exe-as-png",
    ),
    pytest.param(
        b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 300,
        "proof.png",
        NOT_A_PROOF,
        id="elf-as-png",
    ),
    pytest.param(make_pdf()[:-7], "abgeschnitten.pdf", NOT_A_PROOF, id="pdf-without-eof"),
    pytest.param(make_png()[:-12], "abgeschnitten.png", NOT_A_PROOF, id="png-without-iend"),
    pytest.param(make_jpeg()[:-2], "abgeschnitten.jpg", NOT_A_PROOF, id="jpeg-without-eoi"),
    pytest.param(
        b"%%EOF" + b"PK\x03\x04" + b"\x00" * 100, "proof.pdf", NOT_A_PROOF, id="zip-as-pdf"
    ),
    pytest.param(b"", "leer.pdf", "Die Datei ist leer.", id="empty"),
    pytest.param(
        make_pdf(size=LIMIT + 1),
        "zu-gross.pdf",
        "Die Datei ist zu groß (höchstens 5 MB).",
        id="5MB-plus-one-byte",
    ),
]


@pytest.mark.parametrize(("content", "name", "message"), ATTACKS)
def test_bad_files_are_refused_at_the_field_and_nothing_stored(
    app: Flask, client: FlaskClient, ctx: None, content: bytes, name: str, message: str
) -> None:
    """Wrong type, truncated, empty or too large: form error, no file, no row, data kept."""
    assert app.config["UPLOAD_MAX_BYTES"] == LIMIT
    office = make_office()
    before = stored_files(app)

    response = send(client, with_proof(office, content, name, "application/pdf"))

    assert response.status_code == 400
    page = FormPage(page_text(response))
    assert page.error("proof") == message
    assert page.field("proof").get("aria-invalid") == "true"
    assert page.value("first_name") == "Erika"
    assert page.value("qualification") == "juleica"
    assert page.value("proof_token") == ""
    assert "Nachweis hochgeladen" not in page_text(response)
    assert stored_files(app) == before
    assert count(Upload) == 0
    assert count(Application) == 0
    assert count(User) == 0


def test_request_larger_than_allowed_gets_a_413_page(
    app: Flask, client: FlaskClient, ctx: None
) -> None:
    """A body above MAX_CONTENT_LENGTH is answered with a readable 413, not a 500."""
    office = make_office()
    before = stored_files(app)
    content = b"%PDF-1.4\n" + b"0" * app.config["MAX_CONTENT_LENGTH"] + b"\n%%EOF\n"

    response = send(client, with_proof(office, content, "riesig.pdf"))

    assert response.status_code == 413
    assert "höchstens 5 MB" in page_text(response)
    assert stored_files(app) == before
    assert count(Upload) == 0


# --- an upload kept over a failed submission ----------------------------------------


NOT_STORED = (
    "Die Datei wurde nicht gespeichert, weil das Formular noch Fehler enthält. "
    "Bitte wählen Sie sie nach dem Korrigieren erneut aus."
)


def test_failing_form_stores_no_file_and_asks_for_it_again(
    app: Flask, client: FlaskClient, ctx: None
) -> None:
    """A form with errors keeps what was typed, not the file: it says so at the field."""
    office = make_office()
    before = stored_files(app)

    failed = send(client, with_proof(office, make_pdf(), "juleica.pdf", first_name=""))

    assert failed.status_code == 400
    page = FormPage(page_text(failed))
    assert page.error("proof") == NOT_STORED
    assert "proof-kept" not in page.texts
    assert page.value("proof_token") == ""
    assert page.value("last_name") == "Musterfrau"
    assert count(Upload) == 0
    assert stored_files(app) == before


def test_twenty_anonymous_posts_with_a_file_leave_no_row_and_no_file(
    app: Flask, client: FlaskClient, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack of the issue: a 1 MB PDF and every other field missing, twenty times.
    (The rate limit is raised here: this is about what is stored, not how often.)"""
    monkeypatch.setitem(app.config, "RATELIMIT_APPLICATION_FORM", "1000 per minute")
    make_office()
    before = stored_files(app)

    for n in range(20):
        response = send(client, {"proof": (io.BytesIO(make_pdf(size=1024 * 1024)), "a.pdf")})
        assert response.status_code == 400, n

    assert count(Upload) == 0
    assert stored_files(app) == before


def test_adding_rows_keeps_one_file_per_session(
    app: Flask, client: FlaskClient, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The add-a-row button keeps the chosen file, but a new file replaces the session's
    earlier one: twenty such POSTs leave one file, the last."""
    monkeypatch.setitem(app.config, "RATELIMIT_APPLICATION_FORM", "1000 per minute")
    make_office()
    before = stored_files(app)

    for n in range(20):
        data = {
            "add_engagement": "Weitere Organisation hinzufügen",
            "proof": (io.BytesIO(make_pdf()), f"datei{n}.pdf"),
        }
        assert send(client, data).status_code == 200, n

    upload = db.session.scalars(select(Upload)).one()
    assert upload.original_name == "datei19.pdf"
    assert stored_files(app) - before == {upload.stored_name}
    assert len(stored_files(app)) == len(before) + 1


def test_valid_form_refused_for_its_address_keeps_its_file_for_the_retry(
    app: Flask, client: FlaskClient, make_client, ctx: None
) -> None:
    """A complete form answered 409 (the address has an account) keeps the proof; the
    retry with another address attaches it without choosing it again. Another session
    cannot use the token."""
    office = make_office()
    taken = make_user(UserRole.VOLUNTEER)
    data = with_proof(office, make_pdf(), "juleica.pdf", email=taken.email)

    refused = send(client, data)

    assert refused.status_code == 409, page_text(refused)[:2000]
    page = FormPage(page_text(refused))
    assert "Nachweis hochgeladen: juleica.pdf" in page.texts["proof-kept"]
    upload = db.session.scalars(select(Upload)).one()
    assert upload.application_id is None and page.value("proof_token") == upload.claim_token

    data.pop("proof")
    data.update(email="neu@example.org", proof_token=upload.claim_token)
    stranger = send(make_client(), data)
    assert stranger.status_code == 400
    assert "Nachweis der Qualifikation" in FormPage(page_text(stranger)).error("proof")

    response = send(client, data)

    assert response.status_code == 302, page_text(response)[:3000]
    application = db.session.scalars(select(Application)).one()
    assert [u.id for u in application.uploads] == [upload.id]
    assert count(Upload) == 1


def test_application_form_is_rate_limited_with_the_form_page(
    app: Flask, client: FlaskClient, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After RATELIMIT_APPLICATION_FORM POSTs the form answers 429: the form again, as
    typed, with the reason; the file of the refused POST is not stored."""
    monkeypatch.setitem(app.config, "RATELIMIT_APPLICATION_FORM", "3 per minute")
    office = make_office()
    before = stored_files(app)
    for n in range(3):
        assert (
            send(client, with_proof(office, make_pdf(), "a.pdf", first_name="")).status_code == 400
        ), n

    blocked = send(client, with_proof(office, make_pdf(), "a.pdf"))

    assert blocked.status_code == 429
    html = page_text(blocked)
    assert "Zu viele Versuche in kurzer Zeit" in html
    assert '<html lang="de">' in html
    page = FormPage(html)
    assert page.value("first_name") == "Erika"
    assert page.value("csrf_token")
    assert "Retry-After" in blocked.headers
    assert count(Upload) == 0 and count(Application) == 0
    assert stored_files(app) == before
    assert client.get(FORM).status_code == 200, "reading the form is not limited"


# --- the periodic job deleting unclaimed uploads --------------------------------------


def _upload_made(hours_ago: float, application: Application | None = None) -> Upload:
    upload = uploads.store_upload(io.BytesIO(make_pdf()), "nachweis.pdf")
    upload.application = application
    upload.created_at = utcnow() - timedelta(hours=hours_ago)
    db.session.commit()
    return upload


def test_job_deletes_old_unclaimed_uploads_and_their_files_only(
    app: Flask, ctx: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Older than UNCLAIMED_UPLOAD_MAX_AGE_HOURS and never attached: row and file go, in
    batches; a claimed one and a fresh one stay; the log has the count, no names."""
    import workers.tasks

    monkeypatch.setitem(app.config, "RETENTION_BATCH_SIZE", 2)
    hours = app.config["UNCLAIMED_UPLOAD_MAX_AGE_HOURS"]
    folder = Path(app.config["UPLOAD_FOLDER"])
    old = [_upload_made(hours + 1) for _ in range(5)]
    old_names = [u.stored_name for u in old]
    claimed = _upload_made(hours + 1, make_application(make_office()))
    fresh = _upload_made(hours - 1)

    with caplog.at_level("INFO", logger="ehrenamt.core.uploads"):
        assert workers.tasks.apply_retention() == 5

    assert {u.id for u in db.session.scalars(select(Upload))} == {claimed.id, fresh.id}
    assert not any((folder / name).exists() for name in old_names)
    assert (folder / claimed.stored_name).exists() and (folder / fresh.stored_name).exists()
    assert "deleted 5 unclaimed uploads" in caplog.text and "nachweis" not in caplog.text
    assert workers.tasks.apply_retention() == 0  # running twice changes nothing
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["apply-retention"]["task"] == "ehrenamt.apply_retention"


def test_upload_is_kept_when_adding_an_engagement_row(
    app: Flask, client: FlaskClient, ctx: None
) -> None:
    """Choosing a file, then "Weitere Organisation hinzufügen", does not lose the file."""
    office = make_office()
    data = with_proof(
        office, make_png(), "feuerwehr.png", add_engagement="Weitere Organisation hinzufügen"
    )

    response = send(client, data)

    assert response.status_code == 200
    page = FormPage(page_text(response))
    assert "engagements-1-organisation_name" in page.inputs
    assert "Nachweis hochgeladen: feuerwehr.png" in page.texts.get("proof-kept", "")
    upload = db.session.scalars(select(Upload)).one()
    assert page.value("proof_token") == upload.claim_token


def test_unknown_or_claimed_proof_token_is_no_proof(
    app: Flask, client: FlaskClient, ctx: None
) -> None:
    """A made-up token, or one of an upload already attached, does not count as proof."""
    office = make_office()
    claimed = uploads.store_upload(io.BytesIO(make_pdf()), "fremd.pdf")
    claimed.application = make_application(office)
    db.session.commit()
    for token in ("ausgedacht", claimed.claim_token):
        data = with_proof(office, b"", "", proof_token=token)
        data.pop("proof")
        response = send(client, data)
        assert response.status_code == 400
        page = FormPage(page_text(response))
        assert "Nachweis der Qualifikation" in page.error("proof")
        assert "fremd.pdf" not in page_text(response)
    assert count(Application) == 1


# --- downloads ----------------------------------------------------------------------


@pytest.fixture
def proof(ctx: None) -> Upload:
    """An uploaded PDF with a non-ASCII name, attached to an application in review."""
    office = make_office()
    application = make_application(office, state=ApplicationState.IN_REVIEW)
    upload = uploads.store_upload(io.BytesIO(make_pdf()), "Nachweis Müller.pdf")
    upload.application = application
    db.session.commit()
    return upload


def _person(who: str, upload: Upload) -> User | None:
    office = upload.application.office  # type: ignore[union-attr]
    return {
        "applicant": lambda: upload.application.applicant,  # type: ignore[union-attr]
        "other volunteer": lambda: make_user(UserRole.VOLUNTEER),
        "clerk": lambda: make_user(UserRole.CLERK, office),
        "admin": lambda: make_user(UserRole.ADMIN, office),
        "clerk of another office": lambda: make_user(UserRole.CLERK, make_office()),
        "anonymous": lambda: None,
    }[who]()


@pytest.mark.parametrize(
    ("who", "prefix", "expected"),
    [
        ("applicant", "/konto", 200),
        ("other volunteer", "/konto", 404),
        ("clerk", "/verwaltung", 200),
        ("admin", "/verwaltung", 200),
        ("clerk of another office", "/verwaltung", 404),
        ("anonymous", "/konto", 302),
        ("anonymous", "/verwaltung", 302),
        ("applicant", "/verwaltung", 403),
    ],
)
def test_who_may_download_a_proof(
    client: FlaskClient, proof: Upload, who: str, prefix: str, expected: int
) -> None:
    """Only the applicant and their office's staff get the file; others 404 or sign in."""
    person = _person(who, proof)
    if person is not None:
        sign_in(client, person)

    with client.get(f"{prefix}/nachweis/{proof.id}") as response:
        body = response.get_data()

    assert response.status_code == expected
    if expected == 200:
        assert body == make_pdf()
        assert response.mimetype == "application/pdf"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert "filename*=UTF-8''Nachweis%20M%C3%BCller.pdf" in disposition
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert "no-store" in response.headers["Cache-Control"]
    elif expected == 302:
        assert response.headers["Location"].startswith("/anmelden")
    else:
        assert body != make_pdf()


@pytest.mark.parametrize("prefix", ["/konto", "/verwaltung"])
def test_unattached_or_unknown_upload_is_not_found(
    client: FlaskClient, ctx: None, prefix: str
) -> None:
    """An upload not (yet) part of an application, or no upload at all: 404."""
    office = make_office()
    loose = uploads.store_upload(io.BytesIO(make_pdf()), "lose.pdf")
    db.session.commit()
    person = (
        make_user(UserRole.VOLUNTEER) if prefix == "/konto" else make_user(UserRole.CLERK, office)
    )
    sign_in(client, person)
    assert client.get(f"{prefix}/nachweis/{loose.id}").status_code == 404
    assert client.get(f"{prefix}/nachweis/{loose.id + 1000}").status_code == 404


def _exchange(port: int, request: bytes, *, until: bytes | None = None) -> bytes:
    """Send on a fresh connection; what comes back until the server closes or ``until``
    (the end of a last expected response) has arrived."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
            if until is not None and until in received:
                break
        return received


def test_a_413_leaves_a_kept_alive_connection_usable_under_gunicorn(
    app: Flask, tmp_path: Path
) -> None:
    """Production's server with keep-alive (threaded workers): the refused body is read
    away, not taken for the next request, which is answered on the same connection."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EHRENAMT_")}
    for key, value in settings_for(app, MAX_CONTENT_LENGTH=1000).items():
        env[f"EHRENAMT_{key}"] = value if isinstance(value, str) else json.dumps(value)
    env["EHRENAMT_INSTANCE_PATH"] = str(tmp_path)
    command = [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "2"]
    command += ["--keep-alive", "30", "-b", f"127.0.0.1:{port}", "ehrenamt:create_app()"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _answers(port), timeout=30, message="gunicorn did not start")
        body = b"email=" + b"x" * 3000
        too_large = (
            "POST /anmelden/link HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        health = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        received = _exchange(port, too_large + health)
        assert received.startswith(b"HTTP/1.1 413"), received[:300]
        second = received.split(b"HTTP/1.1 ")[2:]
        assert [answer[:3] for answer in second] == [b"200"], received[-500:]
    finally:
        server.terminate()
        server.wait(15)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_a_413_from_the_development_server_closes_the_connection(live_server: str) -> None:
    """Werkzeug's server (the launcher's) closes after every response, a 413 too, so the
    unread body is never taken for a next request."""
    port = int(live_server.rsplit(":", 1)[1])
    head = (
        "POST /anmelden/link HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20000000\r\n\r\n"
    )
    received = _exchange(port, head.encode() + b"x" * 100)
    assert received.startswith(b"HTTP/1.1 413")
    assert b"connection: close" in received.lower()
