"""Names a member typed → what the archive holds, with the closest names when nothing matches.

A thread is found by its id or its exact title (any case); failing that, by the one title that equals it ignoring
case and accents. An author is matched ignoring case and accents too. When nothing matches, the error names the
closest few, found the way autocomplete finds them (`SearchService.thread_suggestions`, `author_suggestions`).
"""

from __future__ import annotations

from embeddings import NotFoundError, fold_name

from .errors import UserInputError
from .hints import unknown_author, unknown_thread

SUGGESTIONS = 3
CANDIDATES = 25


async def find_thread(bot, typed: str):
    """The ThreadSummary `typed` names; UserInputError with the closest titles when none."""
    try:
        return await bot.call(bot.service.resolve_thread, typed)
    except NotFoundError:
        candidates = await bot.call(bot.service.thread_suggestions, typed, CANDIDATES)
    same = [t for t in candidates if fold_name(t.title) == fold_name(typed)]
    if len(same) == 1:
        return same[0]
    raise UserInputError(unknown_thread(typed, candidates[:SUGGESTIONS]))


async def find_author(bot, typed: str) -> str:
    """The author name to filter by for what the member typed; UserInputError with the closest names when no
    author has it."""
    candidates = await bot.call(bot.service.author_suggestions, typed, CANDIDATES)
    same = [name for name in candidates if fold_name(name) == fold_name(typed)]
    if same:  # several spellings of one name ("José", "Jose"): the one typed, if it is one of them
        return next((name for name in same if name.casefold() == typed.strip().casefold()), same[0])
    raise UserInputError(unknown_author(typed, candidates[:SUGGESTIONS]))
