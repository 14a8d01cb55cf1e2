"""The audit log's one helper: actions from one enum, subjects from one table."""

from __future__ import annotations

import pytest

from ehrenamt.cards.states import CardAction
from ehrenamt.core.audit import AuditAction
from ehrenamt.partners.states import PartnerAction
from ehrenamt.workflow import Action

RECORDED = {action.value for action in AuditAction}


@pytest.mark.parametrize("action", list(Action))
def test_every_workflow_action_is_recorded_under_its_own_name(action: Action) -> None:
    assert AuditAction(action.value) == action.value


@pytest.mark.parametrize("action", [a for a in CardAction if a != CardAction.REPLACE])
def test_every_card_action_is_recorded_under_its_own_name(action: CardAction) -> None:
    # A replacement is recorded as what it is made of: a revocation and a new card.
    assert action.value in RECORDED


@pytest.mark.parametrize("action", list(PartnerAction))
def test_every_partner_decision_is_recorded_under_its_own_name(action: PartnerAction) -> None:
    assert action.value in RECORDED


def test_an_unknown_action_is_refused() -> None:
    with pytest.raises(ValueError):
        AuditAction("revokd")
