"""The one helper every spreadsheet export uses (OWASP CSV injection); no app needed."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from ehrenamt.core import spreadsheet


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+49 340 1", "'+49 340 1"),
        ("-Bäckerei-", "'-Bäckerei-"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Museum", "Museum"),
        ("a=b", "a=b"),
        (None, ""),
        (Decimal("-12.5"), "-12.5"),
        (-3, "-3"),
    ],
)
def test_safe_cell(value: object, cell: str) -> None:
    """A leading formula character gets a quote; numbers and other text stay."""
    assert spreadsheet.safe_cell(value) == cell


def test_csv_text_quotes_every_cell_and_round_trips() -> None:
    """Header and rows go through safe_cell; unquote_cell gives the values back."""
    text = spreadsheet.csv_text(["=name", "n"], [["-x,y", 1], ["\r=2", None]])
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["'=name", "n"], ["'-x,y", "1"], ["'\r=2", ""]]
    assert [spreadsheet.unquote_cell(cell) for cell in rows[1]] == ["-x,y", "1"]
    assert spreadsheet.unquote_cell("'Quote") == "'Quote"


@pytest.mark.parametrize(
    ("text", "formula"),
    [
        ("=1", True),
        ("@SUM(1)", True),
        ("\t=1", True),
        ('+HYPERLINK("x")', True),
        ("-2+3+cmd|' /C calc'!A0", True),
        ("-Bäckerei-", False),
        ("+49 (0)340 1234", False),
        ("-12.5", False),
        ("-20 % auf alles", False),
        ("Laden = Café", False),
    ],
)
def test_is_formula(text: str, formula: bool) -> None:
    """What the import refuses: = and @ always, + and - only with a letter and a call."""
    assert spreadsheet.is_formula(text) is formula
