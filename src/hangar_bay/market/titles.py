"""Which types a contract's title names, matched against the type catalogue.

Titles and names are folded (lower case, punctuation to spaces) and matched on word
boundaries; at each word the longest catalogue name wins, so "Drake Navy Issue" names
that hull and not the Drake, and "Drake Blueprint" names the blueprint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_NOT_WORD = re.compile(r"[^0-9a-z]+")
# A ship name followed by one of these words names something else made from it.
_QUALIFIERS = frozenset({"blueprint", "bpc", "bpo", "skin", "skins", "bp"})


def fold(text: str) -> list[str]:
    """The words of ``text``, lower-cased, punctuation and accents' marks dropped."""
    return [w for w in _NOT_WORD.split(text.casefold()) if w]


class TypeNames:
    """A catalogue of type names (type_id → name) to find in titles."""

    def __init__(self, names: Mapping[int, str], ship_ids: Iterable[int]) -> None:
        self.by_words: dict[tuple[str, ...], int] = {}
        for type_id, name in names.items():
            words = tuple(fold(name))
            if words:
                # Two types folding to one name: the lower id, deterministically.
                known = self.by_words.get(words)
                self.by_words[words] = type_id if known is None else min(known, type_id)
        self.longest = max((len(w) for w in self.by_words), default=0)
        self.ship_ids = frozenset(ship_ids)

    def named(self, title: str) -> list[int]:
        """Type ids the title names, in order, longest match first at each word."""
        words = fold(title)
        found: list[int] = []
        i = 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                type_id = self.by_words.get(tuple(words[i : i + n]))
                if type_id is None:
                    continue
                following = words[i + n] if i + n < len(words) else ""
                if not (type_id in self.ship_ids and following in _QUALIFIERS):
                    found.append(type_id)
                i += n
                break
            else:
                i += 1
        return found

    def ships_named(self, title: str) -> list[int]:
        """The ship types the title names."""
        return [t for t in self.named(title) if t in self.ship_ids]
