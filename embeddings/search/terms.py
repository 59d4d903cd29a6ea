"""Query text -> search terms and FTS5 expressions, built apart from the SQL that runs them."""

from __future__ import annotations

import re

STOPWORDS = frozenset(
    "a an and are as at be but by did do does for from had has have he her his how i if in into is it its me my "
    "no not of on or our she so that the their them then there these they this to was we were what when where "
    "which who whom why will with would you your".split()
)
_TERM = re.compile(r"\w+", re.UNICODE)


def query_terms(query: str) -> list[str]:
    terms = [t.lower() for t in _TERM.findall(query)]
    content = [t for t in terms if t not in STOPWORDS]
    return list(dict.fromkeys(content or terms))


def fts_phrase(term: str) -> str:
    """An FTS5 string literal for one term: its own quotes doubled, so no query text acts as FTS5 syntax."""
    return '"' + term.replace('"', '""') + '"'


def fts_query(query: str) -> str | None:
    """The FTS5 expression for a question: any of its content terms (None when it has no term)."""
    terms = query_terms(query)
    return " OR ".join(fts_phrase(t) for t in terms) if terms else None
