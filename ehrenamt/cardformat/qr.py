"""The card's QR code, with the mask chosen by its own scoring."""

from __future__ import annotations

import functools
import itertools
import re

import qrcode


def make_qr_code(url: str) -> qrcode.QRCode:
    """The card's QR code (error correction M, smallest version that fits) for ``url``.

    qrcode splits the data into segments: the URL in byte mode, the digits in numeric mode.
    The symbol is exactly what qrcode's ``make(fit=True)`` gives; only its choice of the
    mask is done faster (:func:`_best_mask`).
    """
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(url)
    qr.best_fit()
    qr.makeImpl(False, _best_mask(qr))
    return qr


#: ISO/IEC 18004 penalty patterns: five or more modules of one colour in a line, and the
#: finder-like 1:1:3:1:1 sequence with four light modules on either side.
_RUNS = re.compile("0{5,}|1{5,}")


_FINDER_LIKE = ("10111010000", "00001011101")


_BIT_CHARACTERS = bytes.maketrans(b"\x00\x01", b"01")


def _best_mask(qr: qrcode.QRCode) -> int:
    """The mask qrcode's ``best_mask_pattern()`` picks: least penalty, the first on a tie.

    qrcode lays the symbol out eight times and scores each cell by cell in Python, which
    took a quarter of the time of making a card (bench/issuing.py). The eight layouts
    differ only in the data modules where the masks differ, so this lays it out once,
    derives the others by XOR of whole rows, and scores rows and columns as bit strings
    and integers. Like qrcode, it scores the layout with the format information left
    light (its "test" layout); tests/test_qr_code.py checks that the choice is qrcode's.
    """
    qr.makeImpl(True, 0)
    size = qr.modules_count
    base = [_row_bits(row) for row in qr.modules]
    penalties = [
        _penalty([row ^ flip for row, flip in zip(base, flips, strict=True)], size)
        for flips in _mask_flips(qr.version)
    ]
    return penalties.index(min(penalties))


@functools.cache
def _mask_flips(version: int) -> tuple[tuple[int, ...], ...]:
    """For each mask, row by row, the data modules where it differs from mask 0."""
    qr = qrcode.QRCode(version=version, error_correction=qrcode.constants.ERROR_CORRECT_M)
    # With no data every data module shows its mask alone, and all other modules are the
    # same under every mask in the test layout.
    qr.data_cache = []
    layouts = []
    for mask in range(8):
        qr.makeImpl(True, mask)
        layouts.append([_row_bits(row) for row in qr.modules])
    first = layouts[0]
    return tuple(
        tuple(row ^ other for row, other in zip(first, layout, strict=True)) for layout in layouts
    )


def _row_bits(row: list[bool]) -> int:
    """A row of modules as an integer, the first module as the highest bit."""
    return int(bytes(row).translate(_BIT_CHARACTERS), 2)


def _penalty(rows: list[int], size: int) -> int:
    """What qrcode's ``util.lost_point`` gives for the symbol with these rows.

    Rule 1: each run of five or more modules of one colour in a row or column costs its
    length minus 2; rule 2: each 2x2 block of one colour 3; rule 3: each finder-like
    sequence 40; rule 4: every full 5 % away from half the modules dark 10.
    """
    texts = [format(row, f"0{size}b") for row in rows]
    lines = ",".join(texts + ["".join(column) for column in zip(*texts, strict=True)])
    runs = sum(len(run) - 2 for run in _RUNS.findall(lines))
    # Neither sequence overlaps itself, so counting without overlaps counts them all.
    finder_like = sum(lines.count(sequence) for sequence in _FINDER_LIKE)
    left_columns = (1 << (size - 1)) - 1  # bits p whose neighbour p + 1 is in the row too
    blocks = sum(
        (
            ~(upper ^ lower) & ~(upper ^ (upper >> 1)) & ~(lower ^ (lower >> 1)) & left_columns
        ).bit_count()
        for upper, lower in itertools.pairwise(rows)
    )
    dark = sum(row.bit_count() for row in rows)
    # The same float operations as qrcode, so that a border case rounds the same way.
    rating = int(abs(float(dark) / (size**2) * 100 - 50) / 5)
    return runs + 3 * blocks + 40 * finder_like + 10 * rating
