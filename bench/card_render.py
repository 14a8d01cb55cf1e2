"""Time ``render_card`` (PDF and PNG of one Ehrenamtskarte) and report the file sizes.

    python -m bench.card_render            # 500 cards
    python -m bench.card_render --cards 2000
    python -m bench.card_render --logo     # every card with an office's coat of arms

Each card has its own number, a name from a varied list and a really signed token, as
the issuing worker produces them. Signing is timed apart; the target is 100,000 cards an
hour on 2 cores together with signing and database work, i.e. 72 ms per card and core.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import time
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image, ImageDraw

from bench.harness import percentile
from ehrenamt.cardformat import token as cardformat_token
from ehrenamt.cardformat.card_numbers import new_card_number
from ehrenamt.cardformat.layout import CardFace
from ehrenamt.cardformat.render import render_card
from ehrenamt.models import CardType

NAMES = [
    "Erika Mustermann",
    "Łukasz Śliwiński",
    "Zoë Ağaoğlu",
    "Maximiliane-Charlotte Müller-Lüdenscheid",
    "Søren Ørsted",
    "Nguyễn Thị Minh Khai",
    "Hans Meier",
]
#: Cards per core and hour the workers must manage (100,000 an hour on 2 cores).
TARGET_PER_CORE_HOUR = 50_000


def coat_of_arms() -> bytes:
    """A shield in four colours on a transparent ground, as large as an office's stored
    logo (``LOGO_SIDE``, 400 px): the size and kind of picture the card scales down."""
    width, height = 333, 400
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    shield = [(8, 8), (325, 8), (325, 220), (166, 392), (8, 220)]
    draw.polygon(shield, fill=(0xC8, 0x10, 0x2E), outline=(0x20, 0x20, 0x20), width=6)
    draw.polygon([(166, 14), (319, 14), (319, 220), (166, 382)], fill=(255, 255, 255))
    draw.ellipse((60, 100, 150, 192), fill=(0xF2, 0xC2, 0x00), outline=(0x20, 0x20, 0x20))
    draw.rectangle((193, 80, 266, 240), fill=(0x1B, 0x7A, 0x3A))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def faces(count: int, logo: bytes | None = None) -> list[tuple[CardFace, float]]:
    """``count`` faces with signed URLs (and ``logo`` as the office's), and the seconds
    each signature took."""
    key = Ed25519PrivateKey.generate()
    result = []
    for index in range(count):
        card_type = CardType.LONG_SERVICE if index % 5 == 0 else CardType.STANDARD
        valid_until = None if card_type is CardType.LONG_SERVICE else date(2029, 2, 28)
        name = NAMES[index % len(NAMES)]
        claims = cardformat_token.CardClaims(
            new_card_number(),
            name,
            card_type,
            valid_until,
            "dessau-rosslau",
            datetime(2026, 3, 1, tzinfo=UTC),
        )
        started = time.perf_counter()
        url = cardformat_token.card_url(
            cardformat_token.sign_card(claims, key), "https://ehrenamtskarte.example.org"
        )
        elapsed = time.perf_counter() - started
        face = CardFace(
            name,
            claims.card_number,
            card_type,
            date(2026, 3, 1),
            valid_until,
            "Stadt Dessau-Roßlau",
            "Ehrenamtskarte Sachsen-Anhalt",
            url,
            office_logo=logo,
        )
        result.append((face, elapsed))
    return result


def main() -> None:
    """Render the cards one after another in this process and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=500)
    parser.add_argument("--logo", action="store_true", help="with an office's coat of arms")
    arguments = parser.parse_args()

    cards = faces(arguments.cards, coat_of_arms() if arguments.logo else None)
    started = time.perf_counter()
    render_card(cards[0][0])  # loads the fonts once, as the first card of a worker does
    first = time.perf_counter() - started
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    times, pdf_sizes, png_sizes = [], [], []
    for face, _ in cards:
        started = time.perf_counter()
        rendered = render_card(face)
        times.append(time.perf_counter() - started)
        pdf_sizes.append(len(rendered.pdf))
        png_sizes.append(len(rendered.png))
    memory_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    times.sort()
    mean = statistics.fmean(times)
    signing_mean = statistics.fmean(elapsed for _, elapsed in cards)
    print(f"cards rendered          {len(times)}")
    print(f"first card (cold)       {first * 1000:7.1f} ms")
    print(f"render_card mean        {mean * 1000:7.1f} ms")
    print(f"render_card median      {percentile(times, 0.5) * 1000:7.1f} ms")
    print(f"render_card p95         {percentile(times, 0.95) * 1000:7.1f} ms")
    print(f"signing mean            {signing_mean * 1000:7.2f} ms")
    print(
        f"PDF size mean / max     {statistics.fmean(pdf_sizes) / 1024:7.1f} / "
        f"{max(pdf_sizes) / 1024:.1f} KiB"
    )
    print(
        f"PNG size mean / max     {statistics.fmean(png_sizes) / 1024:7.1f} / "
        f"{max(png_sizes) / 1024:.1f} KiB"
    )
    print(f"peak memory growth      {(memory_after - memory_before) / 1024:7.1f} MiB")
    per_hour = 3600 / (mean + signing_mean)
    print(
        f"cards per core and hour {per_hour:9,.0f} (render + sign; target "
        f"{TARGET_PER_CORE_HOUR:,} with database work: {per_hour / TARGET_PER_CORE_HOUR:.1f}×)"
    )


if __name__ == "__main__":
    main()
