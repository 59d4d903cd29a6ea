"""Names as members type them: authors and thread titles matched without regard to case or accents.

One matching for autocomplete and for the "did you mean" of an unknown name, so that what a member is offered
while typing is what an error suggests. `fold_name` is the comparison key ("Kuznetsóv" and "KUZNETSOV" are the
same);
`closest` ranks names against what was typed: the name itself, then names starting with it, then names with a
word starting with it, then names containing it, then names sharing its words, then names close to it (a typo),
each kind in the order given (the most frequent first).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

FUZZY_CUTOFF = 70  # rapidfuzz WRatio, 0-100: below this a name is not offered as "did you mean"


def fold_name(text: str) -> str:
    """`text` for comparison: compatibility-decomposed, accents dropped, case-folded, blanks collapsed."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


class Names(Generic[T]):
    """Items (most frequent first) and the folded form of each one's name, for :meth:`closest`."""

    def __init__(self, items: Sequence[T], name: Callable[[T], str] = str):
        self.items = list(items)
        self.folded = [fold_name(name(item)) for item in self.items]

    def exact(self, typed: str) -> list[T]:
        """The items whose name folds to what was typed."""
        key = fold_name(typed)
        return [item for item, f in zip(self.items, self.folded) if f == key]

    def closest(self, typed: str, limit: int) -> list[T]:
        """Up to `limit` items for what was typed, best first (see the module's docstring); the first `limit`, in
        order, for nothing typed."""
        key = fold_name(typed)
        if not key:
            return self.items[:limit]
        starts_a_word = re.compile(r"(?<!\w)" + re.escape(key))
        tiers: list[list[int]] = [[], [], [], []]
        for i, f in enumerate(self.folded):
            if f == key:
                tiers[0].append(i)
            elif f.startswith(key):
                tiers[1].append(i)
            elif starts_a_word.search(f):
                tiers[2].append(i)
            elif key in f:
                tiers[3].append(i)
        chosen = [i for tier in tiers for i in tier][:limit]
        if len(chosen) < limit:
            chosen += self._similar(key, set(chosen), limit - len(chosen))
        return [self.items[i] for i in chosen]

    def _similar(self, key: str, taken: set[int], limit: int) -> list[int]:
        """Items close to `key` but not containing it: those sharing the most of its words (a word of three
        letters or more begins one of theirs), then those rapidfuzz finds close (a typo)."""
        from rapidfuzz import fuzz, process

        words = [re.compile(r"(?<!\w)" + re.escape(w)) for w in re.findall(r"\w+", key) if len(w) >= 3]
        shared = []
        for i, f in enumerate(self.folded):
            if i not in taken and words:
                n = sum(1 for w in words if w.search(f))
                if n:
                    shared.append((-n, i))
        out = [i for _, i in sorted(shared)][:limit]
        seen = taken | set(out)
        close = process.extract(key, self.folded, scorer=fuzz.WRatio, score_cutoff=FUZZY_CUTOFF, limit=None)
        for _, _, i in sorted(close, key=lambda m: (-m[1], m[2])):
            if len(out) >= limit:
                break
            if i not in seen:
                out.append(i)
                seen.add(i)
        return out


class BuildNames:
    """The authors and threads of the live build as :class:`Names`, read once per build (thread-safe: two threads
    reading a new build at once both read it, and either result is kept)."""

    ALL = 1_000_000_000  # authors read: every one

    def __init__(self) -> None:
        self._cached: tuple | None = None  # (the build, its authors, its threads)

    def _of(self, index) -> tuple:
        cached = self._cached
        if cached is None or cached[0] is not index:
            threads = sorted(index.store.threads(), key=lambda t: -t.post_count)
            authors = index.store.authors_matching("", self.ALL)  # the most prolific first
            cached = self._cached = (index, Names(authors), Names(threads, lambda t: t.title))
        return cached

    def authors(self, index, typed: str, limit: int) -> list[str]:
        return self._of(index)[1].closest(typed, limit)

    def threads(self, index, typed: str, limit: int) -> list:
        return self._of(index)[2].closest(typed, limit)
