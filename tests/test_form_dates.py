"""Every date field of every form refuses dates outside 1900–2199 at the field.

A date field takes 0001-01-01 and 9999-12-31, and such a date overflowed where the
audit filter made a time in the office's zone of it (a 500 the fuzzer found). Rather
than trusting each use of a date to cope, every date field checks its range: this test
walks every form class of the app, so a new date field without the check fails here.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import date

import pytest
from flask import Flask
from flask_wtf import FlaskForm
from wtforms import DateField, Form

import ehrenamt.web
from ehrenamt.web.forms import PlausibleDate


def _form_classes() -> list[type[Form]]:
    for module in pkgutil.walk_packages(ehrenamt.web.__path__, "ehrenamt.web."):
        importlib.import_module(module.name)
    found: list[type[Form]] = []
    waiting: list[type[Form]] = [FlaskForm]
    while waiting:
        cls = waiting.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("ehrenamt.") and sub not in found:
                found.append(sub)
            waiting.append(sub)
    return found


def _date_fields() -> list[tuple[str, object]]:
    fields = []
    for cls in _form_classes():
        for name in dir(cls):
            unbound = getattr(cls, name, None)
            if getattr(unbound, "field_class", None) is not None and issubclass(
                unbound.field_class,  # type: ignore[union-attr]
                DateField,
            ):
                fields.append((f"{cls.__module__}.{cls.__name__}.{name}", unbound))
    return fields


def test_the_walk_finds_the_date_fields() -> None:
    names = [name for name, _ in _date_fields()]
    assert "ehrenamt.web.insight_forms.AuditFilterForm.since" in names
    assert len(names) >= 9, names


@pytest.mark.parametrize(("name", "unbound"), _date_fields(), ids=lambda v: str(v)[-60:])
def test_every_date_field_checks_its_range(name: str, unbound: object) -> None:
    validators = unbound.kwargs.get("validators") or unbound.args[1:2] or []  # type: ignore[attr-defined]
    assert any(isinstance(v, PlausibleDate) for v in validators), name


@pytest.mark.parametrize(
    ("day", "ok"),
    [(date(1, 1, 1), False), (date(1899, 12, 31), False), (date(1900, 1, 1), True),
     (date(2199, 12, 31), True), (date(2200, 1, 1), False), (date(9999, 12, 31), False)],
)  # fmt: skip
def test_the_range(app: Flask, day: date, ok: bool) -> None:
    class DayForm(Form):
        day_field = DateField(validators=[PlausibleDate()])

    with app.test_request_context():
        form = DayForm(data={"day_field": day})
        assert form.validate() is ok
