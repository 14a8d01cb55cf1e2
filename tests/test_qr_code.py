"""The card's QR code is exactly the one qrcode itself makes, only made faster.

:func:`ehrenamt.cardformat.qr.make_qr_code` chooses the mask with its own scoring
instead of qrcode's (which took a quarter of the time of issuing a card); these tests
hold it to qrcode's result, so the symbol never changes with the speed-up.
"""

from __future__ import annotations

import random

import pytest
import qrcode
from qrcode import util

from ehrenamt.cardformat import qr as cardformat_qr
from ehrenamt.cardformat import token as cardformat_token

DIGITS = "0123456789"
TEXT = "abcdefghijklmnopqrstuvwxyzABCXYZ/:#.-_0123456789äöüß"


def qrcode_reference(data: str) -> qrcode.QRCode:
    """What qrcode makes on its own, mask search included."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(data)
    qr.make(fit=True)
    return qr


def payloads(seed: int, count: int) -> list[str]:
    """Card URLs, bare digits and mixed text of many lengths, so of many QR versions."""
    rnd = random.Random(seed)
    result = []
    for index in range(count):
        kind = index % 3
        if kind == 0:
            digits = "".join(rnd.choice(DIGITS) for _ in range(rnd.randint(1, 700)))
            result.append(f"https://ehrenamtskarte.example.org/karte#{digits}")
        elif kind == 1:
            result.append("".join(rnd.choice(DIGITS) for _ in range(rnd.randint(1, 900))))
        else:
            result.append("".join(rnd.choice(TEXT) for _ in range(rnd.randint(1, 300))))
    return result


@pytest.mark.parametrize("seed", range(4))
def test_the_symbol_is_the_one_qrcode_makes(seed: int) -> None:
    for data in payloads(seed, 30):
        reference = qrcode_reference(data)
        made = cardformat_qr.make_qr_code(data)
        assert made.version == reference.version, data
        assert made.error_correction == reference.error_correction
        assert made.modules == reference.modules, data


def test_real_card_urls_get_qrcode_s_symbol() -> None:
    rnd = random.Random(42)
    for _ in range(40):
        token = bytes(rnd.randrange(256) for _ in range(rnd.randint(150, 260)))
        url = cardformat_token.card_url(token, "https://ehrenamtskarte.example.org")
        assert cardformat_qr.make_qr_code(url).modules == qrcode_reference(url).modules


@pytest.mark.parametrize("size", [21, 25, 45, 61, 77])
@pytest.mark.parametrize("dark_share", [0.2, 0.5, 0.8])
def test_the_penalty_is_qrcode_s(size: int, dark_share: float) -> None:
    rnd = random.Random(size * 100 + int(dark_share * 10))
    for _ in range(10):
        modules = [[rnd.random() < dark_share for _ in range(size)] for _ in range(size)]
        rows = [cardformat_qr._row_bits(row) for row in modules]
        assert cardformat_qr._penalty(rows, size) == util.lost_point(modules)


def test_the_penalty_counts_each_rule() -> None:
    size = 21
    light = [[False] * size for _ in range(size)]
    # All light: 21 runs of 21 in rows and as many in columns, 20 x 20 blocks, 0 % dark.
    rows = [cardformat_qr._row_bits(row) for row in light]
    assert cardformat_qr._penalty(rows, size) == util.lost_point(light) == 42 * 19 + 3 * 400 + 100
    finder_like = [list(row) for row in light]
    finder_like[10][0:11] = [c == "1" for c in "10111010000"]
    rows = [cardformat_qr._row_bits(row) for row in finder_like]
    assert cardformat_qr._penalty(rows, size) == util.lost_point(finder_like)
