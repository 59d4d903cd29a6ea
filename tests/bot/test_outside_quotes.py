"""/post marks text quoted from a message outside the archive with the name its attribution line gives."""

from __future__ import annotations

from datetime import UTC, datetime

from discord.utils import format_dt
from markup_rules import message_problems

from bot.render import post_pages
from embeddings.models import OutsideQuote, PostView

BODY = (
    "On Sun, 3 Mar 2019 at 09:00, Duncan Murdoch wrote:\n"
    "> The package fails on Solaris because the compiler there rejects\n"
    "> variable length arrays in C++ code.\n"
    "\n"
    "So the fix is to allocate the buffer with std::vector instead."
)


def test_post_labels_an_outside_quote_and_shows_its_lines_once_quoted():
    start = BODY.index("The package")
    end = BODY.index("code.") + len("code.")
    view = PostView(
        post_id="b1@example.org",
        thread_id="solaris",
        thread_title="Solaris failures",
        post_index=0,
        post_count=1,
        author="Ben Bolker",
        posted_at=datetime(2019, 3, 4, 15, tzinfo=UTC),
        body=BODY,
        source="list.mbox",
        outside_quotes=[OutsideQuote("b1@example.org", "solaris", start, end, 1, "Duncan Murdoch")],
    )
    pages = post_pages(view)
    own_timestamps = {format_dt(view.posted_at, style) for style in "fdR"}
    assert not [p for page in pages for p in message_problems({"embeds": [page.to_dict()]}, allowed=own_timestamps)]
    text = "\n".join(page.description for page in pages)
    assert "quoted from Duncan Murdoch (not in this archive)" in text
    assert "> The package fails on Solaris" in text
    assert "> variable length arrays" in text and "> > variable" not in text
    assert "std::vector" in text
