"""Cells for spreadsheets: what Excel or LibreOffice would run as a formula is defused.

Every CSV (and any future XLSX) export writes its cells through :func:`safe_cell` or
:func:`csv_text`. OWASP's guidance on CSV injection: a cell starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is taken as a formula by some spreadsheet, so it
is prefixed with a single quote, which makes any of them show the text as it is.
Numbers are written as they are: they cannot be a formula, and a quote would turn a
negative coordinate into text.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook, load_workbook

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: What a formula behind a leading "+" or "-" needs to do harm: a letter (a function or
#: a DDE program name) and a call, a DDE pipe, a sheet reference or a comparison.
#: A phone number ("+49 (0)340 …") has no letter; a name ("-Bäckerei-") no call.
_FORMULA_AFTER_SIGN = re.compile(r"(?=.*[^\W\d_])(?=.*[(|!=])", re.DOTALL)


def safe_cell(value: object) -> str:
    """The cell's text for a spreadsheet: quoted with ``'`` if it would start a formula."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV file (header, then rows) with every cell passed through :func:`safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()


#: Excel reads a CSV as UTF-8 only when it starts with this byte order mark.
BOM = "\ufeff"

#: Rows gathered before a streamed CSV hands a chunk on (fewer, larger writes).
CSV_CHUNK_ROWS = 500

#: Bytes read at a time from a finished XLSX file.
FILE_CHUNK_BYTES = 64 * 1024


def csv_stream(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """A CSV file in chunks, BOM first, every cell through :func:`safe_cell`; holds no
    more than :data:`CSV_CHUNK_ROWS` rows at a time, however many ``rows`` yields."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(name) for name in header])
    yield BOM + out.getvalue()
    out.seek(0)
    out.truncate()
    waiting = 0
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        waiting += 1
        if waiting >= CSV_CHUNK_ROWS:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            waiting = 0
    if waiting:
        yield out.getvalue()


def xlsx_stream(
    sheet_title: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Iterator[bytes]:
    """An XLSX workbook in chunks: openpyxl's write-only mode spools the rows to disk as
    they come, so memory stays flat; the finished file is then read out in chunks.

    Text cells go through :func:`safe_cell`; numbers and dates stay typed.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title[:31])
    sheet.append([safe_cell(name) for name in header])
    for row in rows:
        sheet.append([_xlsx_cell(value) for value in row])
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        spool.seek(0)
        while chunk := spool.read(FILE_CHUNK_BYTES):
            yield chunk


def _xlsx_cell(value: object) -> object:
    """A typed cell for numbers and dates (no formula can hide there); text defused."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal | date):
        if isinstance(value, datetime) and value.tzinfo is not None:
            # Excel has no time zones: a naive UTC time, as the header says.
            return value.replace(tzinfo=None)
        return value
    return safe_cell(value)


def unquote_cell(text: str) -> str:
    """An imported cell without the quote :func:`safe_cell` put before it, so an
    exported file imports again unchanged ("'+49 340 …" is the phone "+49 340 …")."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def is_formula(text: str) -> bool:
    """Whether a spreadsheet would run ``text`` (after import's whitespace stripping).

    ``=`` and ``@`` always start one. After ``+`` or ``-`` only a letter together with a
    call, pipe, ``!`` or ``=`` can do harm (``-2+3+cmd|' /C calc'!A0``); plain numbers,
    phone numbers and names such as "-Bäckerei-" are data.
    """
    text = text.lstrip("\t\r\n ")
    if text.startswith(("=", "@")):
        return True
    return text.startswith(("+", "-")) and _FORMULA_AFTER_SIGN.match(text) is not None


#: A cell as read from a CSV (always text) or an XLSX (text, number or date).
Cell = str | int | float | Decimal | date | None


class UnreadableTable(ValueError):
    """The file cannot be read as a table; ``line`` is where reading stopped (1-based)."""

    def __init__(self, line: int) -> None:
        super().__init__(f"unreadable at line {line}")
        self.line = line


def read_rows(data: bytes, kind: str) -> Iterator[list[Cell]]:
    """The rows of a CSV or XLSX file (its first sheet), the header first.

    A CSV may separate its cells with commas or (as German spreadsheets save it)
    semicolons, whichever the header has more of. An XLSX is read as stored: a formula
    comes as its text ("=…"), never as a value computed from it, so an import can refuse it.
    """
    if kind == "xlsx":
        yield from _xlsx_rows(data)
        return
    text = data.decode("utf-8-sig")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    line = 0
    try:
        for line, row in enumerate(reader, start=1):  # noqa: B007 - read after the loop
            yield list(row)
    except csv.Error:
        raise UnreadableTable(line + 1) from None


def _xlsx_rows(data: bytes) -> Iterator[list[Cell]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise UnreadableTable(1) from None
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [
                value if isinstance(value, str | int | float | Decimal | date) else None
                for value in row
            ]
    finally:
        workbook.close()
