"""Towns by name, from the postcode table shipped with the app (partners.geocoding): a
visitor who types "Dessau-Roßlau", "Rosslau" or "Köthen" with a radius searches around
that town's centre.

The table gives each postcode one place name. A town is the postcodes of one name that
lie together: the same name far apart is another town ("Münster" in Westphalia and in
Hesse). Its centre is the mean of its postcodes' centres, not the middle of their
bounding box: postcode areas are cut to hold similar numbers of households, so a town's
postcodes crowd where people live and their mean lies there, whereas a box's middle is
set by the two outermost postcodes alone (the wide rural areas of a merged town) and
can fall in a forest.

The index is built once per process (about 6,000 towns, a few tens of milliseconds) and
answers by bisecting sorted keys, so a lookup costs microseconds.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections import defaultdict
from dataclasses import dataclass

from ehrenamt.core.text import fold_for_search
from ehrenamt.partners.geocoding import postcode_places

#: Postcodes of one name whose centres are this far apart (and not bridged by others of
#: the name) are different towns. A town's neighbouring postcode centres lie a few
#: kilometres apart; namesakes lie tens or hundreds.
SAME_TOWN_KM = 25.0

_KM_PER_DEGREE = 111.32


@dataclass(frozen=True)
class Town:
    """A town of the postcode table."""

    #: As the table writes it ("Dessau-Roßlau").
    name: str
    #: Its lowest postcode: with the name, what the visitor can type to pick this town.
    postcode: str
    latitude: float
    longitude: float
    #: How many postcodes it has (a measure of its size: bigger towns are listed first).
    postcodes: int


@dataclass(frozen=True)
class TownSearch:
    """What a typed name names: one town, several (ambiguous), or none (unknown)."""

    #: The town, if the name names exactly one.
    town: Town | None
    #: The towns the name may mean when it is ambiguous, most likely first; empty when
    #: the name names one town or none.
    candidates: tuple[Town, ...] = ()


def _kilometres(a: tuple[float, float], b: tuple[float, float]) -> float:
    scale = math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot(a[0] - b[0], (a[1] - b[1]) * scale) * _KM_PER_DEGREE


def _split_into_towns(name: str, places: list[tuple[str, float, float]]) -> list[Town]:
    """The postcodes of one name grouped into towns: postcodes within SAME_TOWN_KM of
    another postcode of the group belong to it (single linkage)."""
    towns = []
    left = sorted(places)
    while left:
        group = [left.pop(0)]
        reached = 0
        while reached < len(group):
            here = group[reached][1:]
            near = [_kilometres(p[1:], here) <= SAME_TOWN_KM for p in left]
            group += [p for p, is_near in zip(left, near, strict=True) if is_near]
            left = [p for p, is_near in zip(left, near, strict=True) if not is_near]
            reached += 1
        towns.append(
            Town(
                name,
                min(p[0] for p in group),
                sum(p[1] for p in group) / len(group),
                sum(p[2] for p in group) / len(group),
                len(group),
            )
        )
    return towns


class TownIndex:
    """Every town, with its folded names from each word on, sorted for prefix search."""

    def __init__(self, places: dict[str, tuple[str, float, float]]) -> None:
        """``places``: postcode → (place name, latitude, longitude)."""
        by_name: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
        for postcode, (name, latitude, longitude) in places.items():
            if name:
                by_name[name].append((postcode, latitude, longitude))
        self.towns: list[Town] = []
        for name, found in by_name.items():
            self.towns.extend(_split_into_towns(name, found))
        entries: set[tuple[str, bool, int]] = set()
        for number, town in enumerate(self.towns):
            # Both ways the directory folds stored text (core.text.searchable_text), so
            # "Köthen", "Koethen" and "Kothen" all find Köthen (Anhalt).
            for folded in {fold_for_search(town.name), fold_for_search(town.name, undotted=True)}:
                words = folded.split()
                for start in range(len(words)):
                    entries.add((" ".join(words[start:]), start == 0, number))
        ordered = sorted(entries)
        #: Each town's folded name from each of its words on ("dessau rosslau",
        #: "rosslau"), sorted; beside it whether it starts at the name's first word and
        #: the town's number.
        self.keys = [key for key, _, _ in ordered]
        self.entries = [(first, number) for _, first, number in ordered]

    def _with_prefix(self, prefix: str) -> range:
        start = bisect.bisect_left(self.keys, prefix)
        return range(start, bisect.bisect_left(self.keys, prefix + "\uffff", lo=start))

    def search(self, text: str) -> TownSearch:
        """The town ``text`` names, compared folded: the names that begin with its words
        ("Neustadt" → every "Neustadt …"); else the names that hold them as whole words
        ("Rosslau" → Dessau-Roßlau); else the names with a word that begins with them
        ("Köth" → Köthen (Anhalt)). One town is found; several are ambiguous.

        An exact name alone does not win over longer names that begin with it: the table
        drops a town's addition now and then ("Neustadt" is Neustadt in Hesse), and a
        visitor who types "Halle" near Dessau means Halle (Saale) as likely as the town
        the table calls just "Halle".
        """
        query = fold_for_search(text)
        if not query:
            return TownSearch(None)
        exact = self._with_prefix(query)
        exact = range(exact.start, bisect.bisect_right(self.keys, query, lo=exact.start))
        whole = [*exact, *self._with_prefix(query + " ")]
        tiers = (
            [i for i in whole if self.entries[i][0]],
            whole,
            list(self._with_prefix(query)),
        )
        for tier in tiers:
            numbers = {self.entries[i][1] for i in tier}
            if len(numbers) == 1:
                return TownSearch(self.towns[numbers.pop()])
            if numbers:
                exactly = {self.entries[i][1] for i in exact}
                towns = sorted(
                    numbers,
                    key=lambda n: (
                        n not in exactly,
                        -self.towns[n].postcodes,
                        self.towns[n].postcode,
                    ),
                )
                return TownSearch(None, tuple(self.towns[n] for n in towns))
        return TownSearch(None)


@functools.cache
def town_index() -> TownIndex:
    """The index of the shipped table, built on first use and kept for the process."""
    return TownIndex(
        {
            postcode: (place.name, float(place.latitude), float(place.longitude))
            for postcode, place in postcode_places().items()
        }
    )


def find_town(text: str) -> TownSearch:
    """The town the visitor's words name (see :meth:`TownIndex.search`)."""
    return town_index().search(text)
