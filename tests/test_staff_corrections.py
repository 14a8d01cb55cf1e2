"""Staff correct a person's data with a reason; the audit keeps old → new; a corrected
name on an active card is offered for re-issuing, which prints it."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.applications import corrections
from ehrenamt.cards import lifecycle
from ehrenamt.cards import production as cards_production
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import Application, AuditEntry, Card, UserRole
from ehrenamt.workflow import ApplicationState
from tests.factories import make_application, make_office, make_user
from tests.helpers import page_text, post, sign_in
from tests.test_cards import approve_without_worker


def form_data(application: Application, **changes: str) -> dict[str, str]:
    data = {
        "version": str(application.version),
        "first_name": application.first_name,
        "last_name": application.last_name,
        "birth_date": application.birth_date.isoformat(),
        "street": application.street,
        "postcode": application.postcode,
        "town": application.town,
        "phone": application.phone or "",
        "correction_reason": "Schreibfehler laut Personalausweis",
    }
    data.update(changes)
    return data


def corrections_of(application: Application) -> list[str]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(AuditEntry.reason)
            .where(
                AuditEntry.subject_type == "application",
                AuditEntry.subject_id == application.id,
                AuditEntry.action == "correct",
            )
            .order_by(AuditEntry.id)
        )
    )


def test_a_correction_is_audited_old_to_new_with_the_reason(
    app: Flask, ctx: None, client: FlaskClient
) -> None:
    application = make_application(make_office(), first_name="Erkia", last_name="Meier")
    clerk = make_user(UserRole.CLERK, application.office)
    sign_in(client, clerk)
    path = f"/verwaltung/antrag/{application.public_id}/korrigieren"
    assert 'value="Erkia"' in page_text(client.get(path))

    response = post(
        client,
        path,
        form_data(application, first_name="Erika", street="Neue Straße 5", town="Roßlau"),
        page=path,
    )

    assert response.status_code == 302
    assert corrections_of(application) == [
        "first_name: Erkia → Erika; Schreibfehler laut Personalausweis",
        "street: Hauptstraße 1 → Neue Straße 5; Schreibfehler laut Personalausweis",
        "town: Dessau-Roßlau → Roßlau; Schreibfehler laut Personalausweis",
    ]
    db.session.refresh(application)
    assert (application.full_name, application.search_name) == ("Erika Meier", "erika meier")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "correct"))
    assert entry is not None and entry.actor_id == clerk.id
    history = page_text(client.get(f"/verwaltung/antrag/{application.public_id}"))
    assert "Erkia → Erika" in history


def test_bad_input_is_refused_at_the_field_and_nothing_changes(
    app: Flask, ctx: None, client: FlaskClient
) -> None:
    application = make_application(make_office())
    sign_in(client, make_user(UserRole.CLERK, application.office))
    path = f"/verwaltung/antrag/{application.public_id}/korrigieren"
    for changes in (
        {"correction_reason": ""},
        {"postcode": "6844"},
        {"birth_date": "2999-01-01"},
        {"last_name": ""},
        {"first_name": "名前"},
    ):
        response = post(client, path, form_data(application, **changes), page=path)
        assert response.status_code == 400, changes
        assert 'aria-invalid="true"' in page_text(response) or "error" in page_text(response)
    assert corrections_of(application) == []


def test_a_stale_page_does_not_overwrite_a_newer_change(
    app: Flask, ctx: None, client: FlaskClient
) -> None:
    application = make_application(make_office())
    sign_in(client, make_user(UserRole.CLERK, application.office))
    path = f"/verwaltung/antrag/{application.public_id}/korrigieren"
    stale = form_data(application, town="Alt")
    post(client, path, form_data(application, town="Neu"), page=path)
    response = post(client, path, stale, page=path)
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.town == "Neu"
    assert len(corrections_of(application)) == 1


def test_another_office_gets_404(app: Flask, ctx: None, client: FlaskClient) -> None:
    application = make_application(make_office())
    sign_in(client, make_user(UserRole.CLERK, make_office()))
    path = f"/verwaltung/antrag/{application.public_id}/korrigieren"
    assert client.get(path).status_code == 404
    assert post(client, path, form_data(application), page="/").status_code == 404


def test_a_corrected_name_on_an_active_card_is_offered_for_reissue(
    app: Flask, ctx: None, client: FlaskClient
) -> None:
    application = make_application(make_office(), first_name="Erkia", last_name="Meier")
    card = approve_without_worker(application)
    assert cards_production.produce(card.id) == cards_production.Produced.MADE
    db.session.rollback()
    sign_in(client, make_user(UserRole.CLERK, application.office))
    path = f"/verwaltung/antrag/{application.public_id}/korrigieren"
    db.session.refresh(application)
    assert application.state == ApplicationState.APPROVED

    response = post(client, path, form_data(application, first_name="Erika"), page=path)

    assert response.headers["Location"].endswith(f"/verwaltung/karten/{card.public_id}")
    detail = page_text(client.get(f"/verwaltung/karten/{card.public_id}"))
    assert 'id="name-corrected"' in detail
    card = db.session.get(Card, card.id, populate_existing=True)  # type: ignore[assignment]
    assert card is not None and card.holder_name == "Erkia Meier"  # printed as it was
    lifecycle.reissue(card, Acting.staff(make_user(UserRole.CLERK, application.office)))
    assert cards_production.produce(card.id) == cards_production.Produced.MADE
    db.session.refresh(card)
    assert card.holder_name == "Erika Meier"
    assert 'id="name-corrected"' not in page_text(
        client.get(f"/verwaltung/karten/{card.public_id}")
    )


def test_no_change_records_nothing(app: Flask, ctx: None) -> None:
    application = make_application(make_office())
    clerk = make_user(UserRole.CLERK, application.office)
    same = corrections.PersonData.of(application)
    changed: Any = corrections.correct(
        application, Acting.staff(clerk), same, "nichts", expected_version=application.version
    )
    assert changed == []
    assert corrections_of(application) == []
    assert corrections.PersonData.of(application).birth_date == date(1980, 5, 17)
