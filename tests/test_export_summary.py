"""The readable summary of a data export: labels in the person's language, states in
words, dates and numbers as Babel writes them; the JSON beside it keeps the raw names."""

from __future__ import annotations

import json
import re
from datetime import date
from html import unescape
from typing import Any

from flask.testing import FlaskClient

from ehrenamt.applications import drafts
from ehrenamt.extensions import db
from ehrenamt.privacy import export as data_export
from ehrenamt.privacy.export_summary import FIELD_LABELS
from tests.helpers import sign_in
from tests.test_export import download, make_person

#: Raw enum values the JSON holds for the test person, which the summary must put in words.
RAW_VALUES = {
    "rejected",
    "approved",
    "in_review",
    "awaiting_confirmation",
    "active",
    "issuing",
    "confirmed",
    "pending",
    "valid",
    "page",
    "volunteer",
    "applicant",
    "clerk",
    "system",
    "standard",
    "de",
    "en",
    "True",
    "False",
}


#: What Anna typed into the form before saving it as a draft.
DRAFT_ANSWERS = {
    "csrf_token": ["x"],
    "first_name": ["Anna"],
    "engagements-0-activity": ["Übungsleiterin"],
    "engagements-1-activity": ["Kassenwartin"],
}


def cells(summary: str) -> list[str]:
    """The text of every table cell and heading cell of the summary."""
    found = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", summary, flags=re.S)
    return [unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in found]


def keys_of(value: Any) -> set[str]:
    """Every key of a JSON document, at any depth (a draft's answers are named as the
    form's fields, not as keys of the document)."""
    if isinstance(value, dict):
        return set(value) | {
            k for key, inner in value.items() if key != "answers" for k in keys_of(inner)
        }
    if isinstance(value, list):
        return {k for inner in value for k in keys_of(inner)}
    return set()


def summary_of(client: FlaskClient, language: str) -> tuple[str, dict[str, Any]]:
    """Anna's export in ``language``: the summary's HTML and the JSON."""
    anna = make_person("anna", date(1980, 5, 17), 900)
    anna.user.language = language
    db.session.commit()
    drafts.save_draft(DRAFT_ANSWERS, anna.user.email or "", anna.user, None)
    sign_in(client, anna.user)
    archive = download(client)
    summary = archive.read(data_export.SUMMARY_NAME).decode()
    return summary, json.loads(archive.read(data_export.JSON_NAME))


def test_a_german_summary_has_german_labels_and_no_raw_names(
    client: FlaskClient, ctx: None
) -> None:
    summary, data = summary_of(client, "de")
    texts = cells(summary)

    for label in ("Geburtsdatum", "Vorname", "Stand", "Kartenart", "Bestätigung", "Vorgang"):
        assert label in texts, label
    assert "17. Mai 1980" in texts  # Babel's long date, not 1980-05-17
    assert {"Abgelehnt", "Bewilligt", "gültig", "bestätigt", "beantragt"} <= set(texts)
    assert "Namensänderung beantragt" in texts  # an audit action in words
    assert "Prüfseite der Akzeptanzstelle" in texts
    assert "ja" in texts  # has_password
    # No cell holds a key of the JSON or a raw enum value.
    raw = keys_of(data) | RAW_VALUES
    assert not raw & set(texts), raw & set(texts)
    assert "birth_date" not in summary and "awaiting_confirmation" not in summary
    # The JSON keeps the names a program reads.
    assert data["applications"][0]["birth_date"] == "1980-05-17"


def test_an_english_summary_has_english_labels(client: FlaskClient, ctx: None) -> None:
    summary, data = summary_of(client, "en")
    texts = cells(summary)

    assert "Date of birth" in texts and "Geburtsdatum" not in texts
    assert "May 17, 1980" in texts
    assert {"Rejected", "Approved", "valid"} <= set(texts)
    assert '<html lang="en">' in summary
    # "valid" and "confirmed" are the English words for gültig and bestätigt as well.
    overlap = (keys_of(data) | RAW_VALUES - {"valid", "confirmed"}) & set(texts)
    assert not overlap, overlap


def test_every_key_of_the_json_has_a_label(client: FlaskClient, ctx: None) -> None:
    _summary, data = summary_of(client, "de")
    unlabelled = keys_of(data) - set(FIELD_LABELS)
    # Keys that are headings of their own (lists and the document's frame), not cells.
    frame = {
        "format_version",
        "exported_at",
        "account",
        "applications",
        "cards",
        "mails",
        "email_changes",
        "engagements",
        "uploads",
        "name_changes",
        "history",
        "checks",
        "files",
        "drafts",
        "answers",
    }
    assert unlabelled <= frame, unlabelled - frame


def test_a_draft_s_answers_are_named_as_on_the_form(client: FlaskClient, ctx: None) -> None:
    summary, data = summary_of(client, "de")
    assert data["drafts"][0]["answers"]["first_name"] == ["Anna"]
    texts = cells(summary)
    assert "Zuletzt gespeichert am" in texts
    assert {"Tätigkeit (Engagement 1)", "Übungsleiterin", "Tätigkeit (Engagement 2)"} <= set(texts)
    assert not {"engagements-0-activity", "csrf_token", "first_name"} & set(texts)
