"""Notices to a card's holder: the card is ready, runs out soon, was revoked."""

from __future__ import annotations

from typing import Any

from flask_babel.speaklater import LazyString

from ehrenamt.letters import notices
from ehrenamt.models import Card


def mail_holder(card: Card, subject: LazyString, template: str, **context: Any) -> None:
    """Queue ``template`` to the card's holder, with the card and its office.

    By mail, or as a letter to print for a holder without e-mail; in the holder's
    language, whoever's request (a German clerk's) sends it.
    """
    notices.notify(card.holder, subject, template, office=card.office, card=card, **context)
