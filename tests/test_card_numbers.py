"""Card numbers: random, printed in groups, typed in any spelling, typing errors caught."""

from __future__ import annotations

import random

import pytest

from ehrenamt.cardformat.card_numbers import (
    ALPHABET,
    LENGTH,
    InvalidCardNumber,
    check_character,
    format_card_number,
    is_valid,
    new_card_number,
    normalise_card_number,
)

#: A valid number, worked out by hand in docs/card-format.md.
KNOWN = "K7QM3RXA9TWP"


def _random_numbers(count: int, seed: int) -> list[str]:
    """Valid numbers from a seeded generator, so a failure can be replayed."""
    rng = random.Random(seed)
    numbers = []
    for _ in range(count):
        data = "".join(rng.choice(ALPHABET) for _ in range(LENGTH - 1))
        numbers.append(data + check_character(data))
    return numbers


def test_alphabet_has_no_look_alikes() -> None:
    """The 31 characters exclude 0, O, 1, I and L and repeat none."""
    assert len(ALPHABET) == len(set(ALPHABET)) == 31
    assert not set("0O1IL") & set(ALPHABET)


def test_new_numbers_are_valid_random_and_distinct() -> None:
    """Fresh numbers are 12 characters of the alphabet, valid, and never repeat."""
    numbers = {new_card_number() for _ in range(2000)}
    assert len(numbers) == 2000
    for number in numbers:
        assert len(number) == LENGTH
        assert set(number) <= set(ALPHABET)
        assert is_valid(number)
    # Every character shows up somewhere: the generator covers the whole alphabet.
    assert set("".join(numbers)) == set(ALPHABET)


def test_known_check_character() -> None:
    """The check character of the documented example is the one worked out by hand."""
    assert check_character(KNOWN[:-1]) == "P"


def test_printed_form_has_three_groups() -> None:
    """A number is printed as XXXX-XXXX-XXXX and reads back to the same number."""
    assert format_card_number(KNOWN) == "K7QM-3RXA-9TWP"
    assert normalise_card_number(format_card_number(KNOWN)) == KNOWN


@pytest.mark.parametrize(
    "typed",
    [
        "K7QM3RXA9TWP",
        "K7QM-3RXA-9TWP",
        "k7qm-3rxa-9twp",
        "  K7QM 3RXA 9TWP ",
        "K7QM\u20133RXA\u20149TWP",  # dashes as a PDF viewer copies them
        "k7QM3rXa9tWp",
    ],
)
def test_typed_spellings_are_accepted(typed: str) -> None:
    """Lower case, spaces and any kind of dash are accepted."""
    assert normalise_card_number(typed) == KNOWN
    assert is_valid(typed)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("K7QM-3RXA-9TW0", "keine 0, 1, I, L oder O"),
        ("K7QM-3RXA-9TWO", "keine 0, 1, I, L oder O"),
        ("17QM-3RXA-9TWP", "keine 0, 1, I, L oder O"),
        ("K7QM-3RXA-9TWl", "keine 0, 1, I, L oder O"),
        ("", "12 Zeichen"),
        ("K7QM-3RXA-9TW", "12 Zeichen"),
        ("K7QM-3RXA-9TWPP", "12 Zeichen"),
        ("K7QM-3RXA-9TW?", "12 Zeichen"),
        ("K7QM-3RXÄ-9TWP", "12 Zeichen"),
        ("K7QM-3RXA-9TWQ", "Tippfehler"),
        ("7KQM-3RXA-9TWP", "Tippfehler"),
    ],
)
def test_bad_numbers_are_rejected_with_a_reason(ctx: None, typed: str, message: str) -> None:
    """Look-alikes, wrong lengths, foreign characters and typos each get their own message."""
    with pytest.raises(InvalidCardNumber) as error:
        normalise_card_number(typed)
    assert message in str(error.value)
    assert not is_valid(typed)


def test_every_single_substitution_is_detected() -> None:
    """Changing any one character of a number into any other makes it invalid."""
    for number in _random_numbers(300, seed=20260301):
        for position in range(LENGTH):
            for replacement in ALPHABET:
                if replacement == number[position]:
                    continue
                typo = number[:position] + replacement + number[position + 1 :]
                assert not is_valid(typo), (number, typo)


@pytest.mark.parametrize("distance", [1, 2], ids=["adjacent", "next-but-one"])
def test_every_transposition_is_detected(distance: int) -> None:
    """Swapping two different characters that are adjacent (or one apart) is detected."""
    checked = 0
    for number in _random_numbers(1000, seed=20260302 + distance):
        for position in range(LENGTH - distance):
            first, second = number[position], number[position + distance]
            if first == second:
                continue
            swapped = list(number)
            swapped[position], swapped[position + distance] = second, first
            assert not is_valid("".join(swapped)), (number, "".join(swapped))
            checked += 1
    assert checked > 9_000


def test_adjacent_transpositions_are_detected_for_every_character_pair() -> None:
    """Exhaustively at each position: every pair of characters there, swapped, is caught."""
    base = _random_numbers(1, seed=7)[0][:-1]
    for position in range(LENGTH - 1):
        # Vary the two data characters at the swap; for the swap with the check
        # character, vary the last two data characters, which varies the check too.
        varied = min(position, LENGTH - 3)
        for first in ALPHABET:
            for second in ALPHABET:
                data = base[:varied] + first + second + base[varied + 2 :]
                number = data + check_character(data)
                left, right = number[position], number[position + 1]
                if left == right:
                    continue
                swapped = number[:position] + right + left + number[position + 2 :]
                assert not is_valid(swapped), (number, swapped)
