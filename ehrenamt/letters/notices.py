"""One way to tell a person something: an e-mail if they have an address, else a letter.

Every notice of the application and the card (status, question, rejection, card issued,
renewal reminder, revocation) goes through :func:`notify`, so a person whose paper
application staff entered without an e-mail address misses none of them: the same text
is written into a :class:`~ehrenamt.models.Letter` for the office to print and post.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel.speaklater import LazyString

from ehrenamt.core import mail
from ehrenamt.extensions import db
from ehrenamt.models import Application, Card, Letter, Office, User

log = logging.getLogger(__name__)


def notify(
    person: User,
    subject: LazyString | str,
    template: str,
    *,
    office: Office,
    application: Application | None = None,
    card: Card | None = None,
    attachments: list[dict[str, Any]] | None = None,
    **context: Any,
) -> None:
    """Queue ``templates/emails/<template>`` to ``person``, as a mail or as a letter.

    In the person's language, whoever's request (a German clerk's) sends it: ``subject``
    and lazy strings in ``context`` are translated there. Attachments only go by mail;
    a letter's card is printed in a print run.
    """
    with force_locale(person.language):
        if person.email:
            mail.queue_mail(
                person.email,
                str(subject),
                template,
                attachments=attachments,
                office=office,
                application=application,
                card=card,
                **context,
            )
            return
        about = application if application is not None else (card.application if card else None)
        if about is None:
            raise ValueError("a letter needs the application or card it is about")
        body = render_template(
            f"emails/{template}.txt",
            subject=str(subject),
            letter=True,
            office=office,
            application=application,
            card=card,
            **context,
        )
        db.session.add(
            Letter(
                public_id=secrets.token_urlsafe(16),
                office_id=office.id,
                recipient=person,
                application_id=about.id,
                card_id=card.id if card is not None else None,
                kind=template,
                language=person.language,
                subject=str(subject),
                body=body.strip(),
                address=postal_address(about),
            )
        )
    log.info("notice %s queued as a letter", template)


def postal_address(application: Application) -> str:
    """The window-envelope address of the application's person (DIN 5008 lines)."""
    return "\n".join(
        (
            application.full_name,
            application.street,
            f"{application.postcode} {application.town}",
        )
    )
