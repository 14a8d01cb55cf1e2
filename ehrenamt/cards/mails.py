"""Mails to a card's holder: the card is ready, runs out soon, was revoked."""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale
from flask_babel.speaklater import LazyString

from ehrenamt.core import mail
from ehrenamt.models import Card


def mail_holder(card: Card, subject: LazyString, template: str, **context: Any) -> None:
    """Queue ``template`` to the card's holder, with the card and its office.

    Does nothing for a holder without an e-mail address. In the holder's language,
    whoever's request (a German clerk's) sends it: ``subject`` and lazy strings in
    ``context`` are translated there.
    """
    holder = card.holder
    if holder.email is None:
        # A holder of an imported paper card may have no address: letters reach them
        # (issue #13, built beside this); until then they get no mail.
        return
    with force_locale(holder.language):
        mail.queue_mail(
            holder.email, str(subject), template, card=card, office=card.office, **context
        )
