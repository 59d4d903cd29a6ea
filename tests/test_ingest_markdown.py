"""vBulletin archive pages clipped to Markdown: titles, breadcrumbs, escapes, US dates, blank lines in headers."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from embeddings.errors import InputError
from embeddings.ingest import ingest
from embeddings.ingest.dates import DateFormatError, parse_archive_date
from embeddings.ingest.markdown import looks_like_clipped, parse_markdown, unescape

from .conftest import DATA

CLIPPED = DATA / "vbulletin-clipped" / "backup-script-fails-with-errno-13.md"
TRUTH = DATA / "vbulletin-clipped" / "backup-script-fails-with-errno-13.truth.json"

PAGE = """# A \\*bold\\* claim [Archive] - Example Forums [forum.example.org]

[Example Forums](https://forum.example.org/archive/index.php) > [Talk](https://forum.example.org/f-7.html) > A \\*bold\\* claim
[PDA](https://forum.example.org/archive/index.php/t-1.html?pda=1)

View Full Version : [A \\*bold\\* claim](https://forum.example.org/showthread.php?1)

first\\_poster

13-02-2016, 11:04 PM

I say \\*this\\*.

second
02-14-2016, 09:00 AM

\\> I say \\*this\\*.
Agreed.
"""


def test_a_clipped_page_reads_as_its_truth_file_says():
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))
    result = ingest([CLIPPED])
    assert not result.errors
    (thread,) = result.threads
    assert thread.title == truth["title"]
    got = [
        {"author": p.author, "posted_at": p.posted_at.isoformat(timespec="minutes"), "body": p.body}
        for p in thread.posts
    ]
    assert got == truth["posts"]


def test_blank_lines_between_author_date_and_body_and_us_dates(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    result = ingest([page])
    assert not result.errors
    (thread,) = result.threads
    assert thread.title == "A *bold* claim"
    assert [(p.author, p.posted_at, p.line) for p in thread.posts] == [
        ("first_poster", datetime(2016, 2, 13, 23, 4), 8),  # day first: 13 cannot be a month
        ("second", datetime(2016, 2, 14, 9, 0), 14),
    ]
    assert [p.body for p in thread.posts] == ["I say *this*.", "> I say *this*.\nAgreed."]
    lines = PAGE.split("\n")
    assert [lines[p.line - 1].replace("\\", "") for p in thread.posts] == ["first_poster", "second"]


def test_the_page_title_comes_from_the_heading_without_a_view_full_version_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        PAGE.replace("View Full Version : [A \\*bold\\* claim](https://forum.example.org/showthread.php?1)", "")
    )
    assert ingest([page]).threads[0].title == "A *bold* claim"


def test_the_same_thread_as_text_and_as_markdown_is_one_thread(tmp_path):
    (tmp_path / "page.md").write_text(PAGE, encoding="utf-8")
    text = "View Full Version : A *bold* claim\n\nfirst_poster\n13th February 2016, 23:04\nI say *this*.\n\n"
    text += "second\n14th February 2016, 09:00\n> I say *this*.\nAgreed.\n"
    (tmp_path / "page.txt").write_text(text, encoding="utf-8")
    result = ingest([tmp_path])
    assert len(result.threads) == 1 and result.posts == 2
    assert len(result.errors) == 2 and all("duplicate of post" in str(e) for e in result.errors)


def test_markdown_escapes_are_undone_and_other_backslashes_kept():
    assert unescape(r"\[Errno 13\] my\_app 1\. \# \> \\ \usage") == r"[Errno 13] my_app 1. # > \ \usage"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("01-29-2016, 05:04 PM", datetime(2016, 1, 29, 17, 4)),
        ("29-01-2016, 17:04", datetime(2016, 1, 29, 17, 4)),
        ("12-01-2016 12:30 AM", datetime(2016, 12, 1, 0, 30)),
        ("17-Sep-2008, 15:06", datetime(2008, 9, 17, 15, 6)),
    ],
)
def test_us_and_day_first_numeric_dates(line, expected):
    assert parse_archive_date(line) == expected


def test_a_numeric_date_that_is_no_date_is_reported():
    with pytest.raises(DateFormatError):
        parse_archive_date("13-13-2016, 10:00")


def test_a_readme_beside_clipped_pages_is_passed_over_but_read_when_named(tmp_path):
    (tmp_path / "page.md").write_text(PAGE, encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text("# Notes\n\nSome notes about this folder.\n", encoding="utf-8")
    assert not ingest([tmp_path]).errors
    (error,) = ingest([readme]).errors
    assert "Markdown, but not a clipped vBulletin archive page" in str(error)


def test_clipped_pages_are_recognised_by_content_whatever_the_name(tmp_path):
    page = tmp_path / "thread"
    page.write_text(PAGE, encoding="utf-8")
    assert looks_like_clipped(PAGE) and ingest([tmp_path]).posts == 2
    assert ingest([page], fmt="markdown").posts == 2


def test_a_clipped_page_without_posts_names_the_file():
    with pytest.raises(InputError, match="no recognisable post") as err:
        parse_markdown("# Empty [Archive] - Site\n\nView Full Version : [Empty](u)\n", "empty.md")
    assert err.value.path == "empty.md"
