"""Import of old (paper) cards: a town's file of N lines, dry run and import in batches.

    python -m bench.legacy_import                 # 2,000 lines, a few seconds
    python -m bench.legacy_import --rows 100000   # the full size

Builds an XLSX (or CSV) file as a town keeps it, then times what staff and the worker
do: the upload check and dry run (``importing.check_upload``), the worker's import
(``importing.run``, in this process: the task only claims its message and calls it), and
the same file again (idempotent: nothing is created). It counts every transaction the
import commits and the cards each one wrote, so the figures show that the import stays in
batches of ``LEGACY_IMPORT_BATCH_SIZE`` however large the file, and reports the peak
memory of this process.
"""

from __future__ import annotations

import argparse
import csv
import io
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_migrate import upgrade
from openpyxl import Workbook
from sqlalchemy import event, func, select
from sqlalchemy.engine import URL

from bench import harness
from ehrenamt.core import uploads
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.legacy import importing
from ehrenamt.legacy.rows import COLUMNS
from ehrenamt.models import Card, LegacyImportState

FIRST_NAMES = ["Erika", "Hans", "Łukasz", "Zoë", "Søren", "Anna-Lena", "Mehmet", "Ursula"]
LAST_NAMES = ["Müller", "Schmidt", "Meier", "Ağaoğlu", "Nguyễn", "Lüdenscheid", "Krause"]


def town_file(rows: int, kind: str) -> bytes:
    """``rows`` lines of old cards, a third without e-mail, a tenth long-service."""
    header = [names[0] for names in COLUMNS.values()]
    until = date.today() + timedelta(days=400)
    lines = []
    for n in range(rows):
        long_service = n % 10 == 0
        lines.append(
            [
                FIRST_NAMES[n % len(FIRST_NAMES)],
                f"{LAST_NAMES[n % len(LAST_NAMES)]}{n}",
                date(1940 + n % 60, 1 + n % 12, 1 + n % 28),
                f"Hauptstraße {1 + n % 200}",
                "06844",
                "Dessau-Roßlau",
                "" if n % 3 == 0 else f"alt{n}@example.org",
                "Jubiläum" if long_service else "Standard",
                f"DR-{2015 + n % 10}-{n:07d}",
                date(2015 + n % 10, 3, 1),
                None if long_service else until,
            ]
        )
    if kind == "xlsx":
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()
        sheet.append(header)
        for line in lines:
            sheet.append(line)
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";")
    writer.writerow(header)
    for line in lines:
        writer.writerow(
            [value.strftime("%d.%m.%Y") if isinstance(value, date) else value for value in line]
        )
    return text.getvalue().encode()


@dataclass
class Transactions:
    """Commits on the session and the card rows inserted in each."""

    cards: list[int] = field(default_factory=list)
    current: int = 0

    def inserted(self, count: int) -> None:
        self.current += count

    def committed(self) -> None:
        self.cards.append(self.current)
        self.current = 0


def watch_transactions(transactions: Transactions) -> None:
    """Count the cards each transaction of the session writes, as the ORM flushes them."""
    session_class = type(db.session())

    @event.listens_for(session_class, "before_flush")
    def _flush(session, context, instances):  # type: ignore[no-untyped-def]
        transactions.inserted(sum(isinstance(item, Card) for item in session.new))

    @event.listens_for(session_class, "after_commit")
    def _commit(session):  # type: ignore[no-untyped-def]
        transactions.committed()


def run(url: URL, args: argparse.Namespace) -> int:
    """Build the file, then dry run, import and import again; print the figures."""
    app = harness.bench_app(url)
    app.config["LEGACY_IMPORT_BATCH_SIZE"] = args.batch
    with app.app_context():
        upgrade()
        office_id = harness.create_offices()[0]
        clerk = harness.clerk(office_id)
        db.session.add(clerk)
        db.session.commit()
        acting = Acting.staff(clerk)

        started = time.perf_counter()
        data = town_file(args.rows, args.kind)
        print(f"== {args.rows} lines as {args.kind.upper()}: {len(data) / 1e6:.1f} MB,")
        print(f"   built in {time.perf_counter() - started:.1f} s; batch size {args.batch}")

        started = time.perf_counter()
        checked = uploads.check_spreadsheet(
            io.BytesIO(data), f"karten.{args.kind}", int(app.config["LEGACY_IMPORT_MAX_BYTES"])
        )
        legacy_import, report = importing.check_upload(office_id, acting, checked)
        dry_run = time.perf_counter() - started
        assert legacy_import is not None, sorted(report.errors.items())[:5]
        print(f"dry run (upload check, every line, database look-ups): {dry_run:.1f} s")

        importing.start(legacy_import, acting)
        transactions = Transactions()
        watch_transactions(transactions)
        started = time.perf_counter()
        state = importing.run(legacy_import.id)
        elapsed = time.perf_counter() - started
        cards = db.session.scalar(select(func.count()).select_from(Card)) or 0
        writing = [count for count in transactions.cards if count]
        print(
            f"import (worker, re-checks the file first): {elapsed:.1f} s, "
            f"{cards / elapsed:.0f} cards/s, state {state}"
        )
        print(
            f"   {cards} cards; {len(transactions.cards)} commits, {len(writing)} of them wrote"
            f" cards: at most {max(writing, default=0)} cards per transaction"
        )

        again, _ = importing.check_upload(office_id, acting, checked)
        assert again is not None
        importing.start(again, acting)
        started = time.perf_counter()
        assert importing.run(again.id) == LegacyImportState.DONE
        db.session.refresh(again)
        print(
            f"same file again: {time.perf_counter() - started:.1f} s, created"
            f" {again.created_cards}, skipped {again.skipped_rows}"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process (file, rows, import): {peak:.0f} MB")
        db.session.remove()
    return 0 if cards == args.rows and again.created_cards == 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench.legacy_import``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="lines of the file")
    parser.add_argument("--kind", choices=("xlsx", "csv"), default="xlsx")
    parser.add_argument("--batch", type=int, default=500, help="LEGACY_IMPORT_BATCH_SIZE")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    return harness.run_on_fresh_database(
        lambda url: run(url, args), args.keep, default_database="ehrenamt_bench_legacy"
    )


if __name__ == "__main__":
    sys.exit(main())
