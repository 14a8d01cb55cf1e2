"""Post/redirect/get everywhere (issue #14): a form a person sent successfully is answered
with a redirect, so the browser's Back never lands on "resubmit form?".

Every POST route of the app is decided here: walked (its form read from its page, filled
as a person would, sent, and the answer must be a redirect) or exempt with the reason.
A new POST route fails test_every_post_route_is_decided until it is one or the other.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask

from ehrenamt.models import LinkPurpose
from ehrenamt.workflow import ApplicationState
from tests.post_walks import (
    IN_REVIEW,
    NEW_PASSWORD,
    MakeClient,
    Walk,
    account,
    admin_form,
    anonymous,
    answer,
    apply,
    approve_partner,
    card_action,
    check_card,
    colleagues,
    confirm,
    correct,
    delete_account,
    engagement_action,
    erase,
    link,
    login,
    logout,
    member,
    new_office,
    partner_admin,
    partner_form,
    partner_register,
    reauthenticate,
    review,
    revoke,
    revoke_api_key,
    save_draft,
    second_factor,
    switch_office,
    withdraw,
)
from tests.post_walks_more import (
    accept_partner_invitation,
    bulk_issue,
    confirm_email_change,
    confirm_partner_email,
    confirm_run_posted,
    decide_name_change,
    mark_letters_printed,
    recovery_code,
    resend_partner_confirmation,
)
from tests.post_walks_staff import (
    invite_programme_admin,
    programme_admin,
    resend_staff_invitation,
)
from tests.post_walks_uploads import (
    import_partners,
    new_print_run,
    paper_application,
    remove_logo,
    resend_partner_confirmation_by_staff,
    start_legacy_import,
    upload_logo,
)

#: POST routes not walked here, and why.
EXEMPT = {
    # JSON answers to scripts and tills: no page a browser goes Back to.
    "api.verify": "the till API (JSON)",
    "apply.eligibility": "the form's live check (JSON, fetched by its script)",
    "verify.result_json": "the scan page's script (JSON)",
    # A secret shown once is never stored to be shown after a redirect, not even in the
    # session cookie (a permanent session's cookie is written to disk). Left as they are:
    # Back offers to send the form again, which would make another secret.
    "api_keys.create": "shows the new API key once (a secret kept nowhere)",
    "auth.enrol_second_factor": "shows the recovery codes once (secrets kept nowhere)",
    "auth.recovery_codes": "shows new recovery codes once (secrets kept nowhere)",
    # Dry runs of an uploaded file: nothing changes until the go-ahead (a POST that
    # redirects); re-sending only checks the file again.
    "legacy.upload": "dry run of an uploaded file; the go-ahead (legacy.start) redirects",
    "partner_admin.import_csv": "dry run of an uploaded file; the go-ahead redirects",
}


WALKS: dict[str, Walk] = {
    # The applicant
    "apply.form": apply,
    "apply.save_draft": save_draft,
    "account.answer": answer,
    "account.withdraw": withdraw,
    "account.set_password": account(
        "/konto/passwort",
        {"password": "ein neues Passwort 456", "confirm": "ein neues Passwort 456"},
    ),
    "account.change_address": account(
        "/konto/anschrift",
        {"street": "Askanische Straße 5", "postcode": "06842", "town": "Dessau-Roßlau"},
    ),
    "account.request_name_change": account(
        "/konto/name", {"first_name": "Erika", "last_name": "Neumann"}
    ),
    "account.change_email": account("/konto/email", {"email": "neu@example.org"}),
    "account.request_export": account("/konto/daten/export", {}),
    "account.reauthenticate": reauthenticate,
    "account.delete_account": delete_account,
    # The organisation
    "confirm.respond": confirm,
    # The clerk
    "review.approve": review("bewilligen", {}, IN_REVIEW),
    "review.reject": review(
        "ablehnen", {"reason": "too_few_hours", "text": "Die Stunden reichen nicht."}, IN_REVIEW
    ),
    "review.request_information": review("rueckfrage", {"question": "Seit wann genau?"}, IN_REVIEW),
    "review.record_answer": review(
        "antwort", {"answer": "Telefonisch: seit 2019."}, ApplicationState.NEEDS_INFORMATION
    ),
    "review.start_review": review(
        "pruefung-beginnen",
        {"note": "Organisation telefonisch erreicht."},
        ApplicationState.AWAITING_CONFIRMATION,
    ),
    "review.engagement_action": engagement_action,
    "review.correct": correct,
    "register.revoke": revoke,
    "partner_admin.approve": approve_partner,
    # The partner
    "partners.register": partner_register,
    "partners.profile": partner_form("/partner/profil", "/partner/profil", {"town": "Roßlau"}),
    "partners.add_benefit": partner_form(
        "/partner/verguenstigungen/neu", "/partner/verguenstigungen/neu", {"title": "Kaffee gratis"}
    ),
    "partners.edit_benefit": partner_form(
        "/partner/verguenstigungen/{benefit}",
        "/partner/verguenstigungen/{benefit}",
        {"title": "Freier Eintritt sonntags"},
    ),
    "partners.delete_benefit": partner_form(
        "/partner/verguenstigungen/{benefit}", "/partner/verguenstigungen/{benefit}/loeschen", {}
    ),
    "partners.password": partner_form(
        "/partner/passwort",
        "/partner/passwort",
        {"password": "ein neues Passwort 456", "confirm": "ein neues Passwort 456"},
    ),
    "verify.scan": check_card,
    # The office admin
    "admin.edit_office": admin_form(
        "/verwaltung/einstellungen/amt", {"opening_hours": "Mo–Fr 9–12 Uhr"}
    ),
    "admin.edit_rules": admin_form("/verwaltung/einstellungen/regeln", {}),
    "admin.edit_retention": admin_form("/verwaltung/einstellungen/aufbewahrung", {}),
    "staff.invite": admin_form(
        "/verwaltung/mitarbeitende/",
        {"email": "neu@stadt.example.org", "display_name": "Neue Kollegin"},
        "/verwaltung/mitarbeitende/einladen",
    ),
    # The office's staff, its partners and cards
    "staff.change_role": member("rolle", {"role": "admin"}),
    "staff.deactivate": member("deaktivieren", {}),
    "staff.reactivate": member("reaktivieren", {}, active=False),
    "staff.reset_second_factor": member("zweiter-faktor", {}),
    "staff.resend_invitation": resend_staff_invitation,
    # The programme's administrators
    "programme.invite_admin": invite_programme_admin,
    "programme.deactivate_admin": programme_admin("deaktivieren"),
    "programme.reactivate_admin": programme_admin("reaktivieren", active=False),
    "programme.reset_admin_second_factor": programme_admin("zweiter-faktor"),
    "programme.resend_admin_invitation": programme_admin("einladung", invited=True),
    "admin.apply_preset": admin_form(
        "/verwaltung/einstellungen/regeln", {}, "/verwaltung/einstellungen/vorlage"
    ),
    "partner_admin.decline": partner_admin(
        "ablehnen", {"reason": "Kein Angebot im Stadtgebiet."}, approve=False
    ),
    "partner_admin.invite_account": partner_admin(
        "zugang", {"email": "zweite@example.org"}, approve=True
    ),
    "partner_admin.unpublish_benefit": partner_admin("ausblenden", {}, approve=True, benefit=True),
    "partner_admin.republish_benefit": partner_admin("einblenden", {}, approve=True, benefit=True),
    "register.replace_lost": card_action("ersetzen", {"confirmed": "y"}),
    "register.extend": card_action(
        "verlaengern", {"valid_until": (date.today() + timedelta(days=1000)).isoformat()}
    ),
    "register.reissue": card_action("neu-ausstellen", {}),
    "review.erase_applicant": erase,
    "programme.switch_office": switch_office,
    "partners.colleagues": colleagues,
    "programme.new_office": new_office,
    "api_keys.revoke": revoke_api_key,
    "auth.second_factor": second_factor,
    "account.confirm_email_change": confirm_email_change,
    "review.decide_name_change": decide_name_change,
    "auth.recovery_code": recovery_code,
    "letters.mark_printed": mark_letters_printed,
    "letters.confirm_posted": confirm_run_posted,
    "register.bulk_issue": bulk_issue,
    "partners.accept_invitation": accept_partner_invitation,
    "partners.confirm_email": confirm_partner_email,
    "partners.resend_confirmation": resend_partner_confirmation,
    # Files and go-aheads
    "apply.paper_form": paper_application,
    "admin.upload_logo": upload_logo,
    "admin.remove_logo": remove_logo,
    "partner_admin.import_confirmed": import_partners,
    "legacy.start": start_legacy_import,
    "letters.new_print_run": new_print_run,
    "partner_admin.resend_confirmation": resend_partner_confirmation_by_staff,
    # One-time links
    "auth.sign_in_with_link": link("/anmelden/link/{token}", LinkPurpose.SIGN_IN, {}),
    "auth.confirm_email": link("/email-bestaetigen/{token}", LinkPurpose.CONFIRM_EMAIL, {}),
    "passwords.reset_password": link(
        "/passwort-neu/{token}", LinkPurpose.RESET_PASSWORD, NEW_PASSWORD
    ),
    "passwords.accept_invitation": link("/einladung/{token}", LinkPurpose.INVITATION, NEW_PASSWORD),
    # Anyone
    "auth.login": login,
    "auth.logout": logout,
    "auth.request_sign_in_link": anonymous("/anmelden/link", {"email": "x@example.org"}),
    "passwords.forgotten_password": anonymous("/passwort-vergessen", {"email": "x@example.org"}),
    "public.set_language": anonymous("/", {"language": "en"}, "/sprache"),
}


def test_every_post_route_is_decided(session_app: Flask) -> None:
    """Each POST route is walked or exempt (with its reason), and not both."""
    posts = {
        rule.endpoint
        for rule in session_app.url_map.iter_rules()
        if "POST" in (rule.methods or set())
    }
    assert set(WALKS) & set(EXEMPT) == set()
    assert posts - set(WALKS) - set(EXEMPT) == set(), "decide these POST routes"
    assert (set(WALKS) | set(EXEMPT)) - posts == set(), "no such POST routes any more"


@pytest.mark.parametrize("endpoint", sorted(WALKS))
def test_a_form_sent_successfully_is_answered_with_a_redirect(
    endpoint: str, app: Flask, ctx: None, make_client: MakeClient
) -> None:
    response = WALKS[endpoint](make_client)
    html = response.get_data(as_text=True)
    # Where a refused form says why: its error summary (or the page's start).
    why = html[html.find("error-summary") :][:3000] if "error-summary" in html else html[:3000]
    assert response.status_code in (302, 303), (endpoint, response.status_code, why)
    location = response.headers.get("Location", "")
    assert location, endpoint
    # Not sent back to sign in (a form of a page the person could not use), unless
    # signing in is what comes next.
    if endpoint not in GO_ON_TO_SIGN_IN:
        assert not location.startswith("/anmelden"), (endpoint, location)


#: Forms after which signing in is the next step.
GO_ON_TO_SIGN_IN = {
    "auth.request_sign_in_link",
    "passwords.forgotten_password",
    "passwords.reset_password",
    "passwords.accept_invitation",
}
