"""The one staff check every domain uses: staff of the office, in their own role."""

from __future__ import annotations

import pytest

from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting
from ehrenamt.core.errors import NotPermitted
from ehrenamt.models import User, UserRole
from ehrenamt.workflow import Actor

OFFICE = 7


def _acting(role: UserRole, actor: Actor, office_id: int | None = OFFICE) -> Acting:
    user = User(email=f"{role.value}@example.org", role=role, office_id=office_id)
    return Acting.user_as(user, actor)


@pytest.mark.parametrize(
    ("role", "actor"), [(UserRole.CLERK, Actor.CLERK), (UserRole.ADMIN, Actor.ADMIN),
                        (UserRole.ADMIN, Actor.CLERK)],
)  # fmt: skip
def test_staff_of_the_office_act_in_their_role(role: UserRole, actor: Actor) -> None:
    acting = _acting(role, actor)
    assert check_staff(acting, OFFICE, "x") is acting.user


@pytest.mark.parametrize(
    "acting",
    [
        pytest.param(_acting(UserRole.CLERK, Actor.ADMIN), id="clerk-claiming-admin"),
        pytest.param(_acting(UserRole.CLERK, Actor.CLERK, office_id=8), id="other-office"),
        pytest.param(_acting(UserRole.VOLUNTEER, Actor.CLERK), id="volunteer-with-office"),
        pytest.param(_acting(UserRole.PARTNER, Actor.CLERK), id="partner-with-office"),
        pytest.param(_acting(UserRole.CLERK, Actor.APPLICANT), id="clerk-as-applicant"),
        pytest.param(Acting.system(), id="system"),
    ],
)
def test_anyone_else_is_not_permitted(acting: Acting) -> None:
    with pytest.raises(NotPermitted):
        check_staff(acting, OFFICE, "x")


def test_acting_staff_takes_the_account_s_own_role() -> None:
    assert Acting.staff(User(email="a@example.org", role=UserRole.ADMIN)).actor == Actor.ADMIN
    assert Acting.staff(User(email="c@example.org", role=UserRole.CLERK)).actor == Actor.CLERK
