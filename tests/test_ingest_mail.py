"""The mail and news readers: mbox variants, .gz, maildir, news spools; ids, authors, dates and bodies."""

from __future__ import annotations

import gzip
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.ingest import ingest
from embeddings.ingest.mail import content_id

from .conftest import DATA

PIPERMAIL = DATA / "pipermail" / "2019q1-excerpt.txt"
NEWS = DATA / "20news-sci.space"


def message(
    msgid: str | None = "a@example.org",
    *,
    sender: str = "Alice Example <alice@example.org>",
    date: str | None = "Tue, 1 Jan 2019 16:09:38 +0530",
    subject: str = "Hello",
    body: str = "Hello there.",
    envelope: str | None = "From alice@example.org  Tue Jan  1 11:39:38 2019",
    extra: str = "",
) -> str:
    lines = [envelope] if envelope else []
    lines.append(f"From: {sender}")
    if date is not None:
        lines.append(f"Date: {date}")
    lines.append(f"Subject: {subject}")
    if msgid is not None:
        lines.append(f"Message-ID: <{msgid}>")
    lines += [line for line in extra.split("\n") if line]
    return "\n".join(lines) + "\n\n" + body + "\n\n"


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def posts(result):
    return [p for t in result.threads for p in t.posts]


# --- the real archive excerpts ----------------------------------------------------------------------------------


def test_a_pipermail_archive_reads_as_one_thread_with_real_names():
    result = ingest([PIPERMAIL])
    assert not result.errors and not result.warnings
    (thread,) = result.threads
    assert thread.title == "regarding solution of these warning and note"
    assert [p.author for p in thread.posts] == ["Krishan Gupta", "Duncan Murdoch", "Jeff Newmiller"]
    assert thread.posts[0].post_id == "CAEW5xfTTTXZBWTvwahhQjnSVCP7dnXCnCxKO_Sze6SeOKRikAA@mail.gmail.com"
    assert thread.posts[0].posted_at == datetime(2019, 3, 3, 21, 11, 45)  # 02:41:45 +0530, in UTC
    assert [p.line for p in thread.posts] == [1, 29, 71]  # the envelope lines
    assert thread.posts[1].body.startswith("On 03/03/2019 4:11 p.m., Krishan Gupta wrote:")


def test_a_news_spool_of_extensionless_articles_is_found_and_threaded():
    result = ingest([NEWS])
    assert not result.errors
    (thread,) = result.threads
    assert thread.title == "Political banner in space"
    assert [p.author for p in thread.posts] == ["Jeff Bytof - SIO", "David M. Palmer", "Pat"]
    assert thread.posts[0].posted_at == datetime(1993, 4, 27, 17, 53, 38)
    assert thread.posts[2].posted_at == datetime(1993, 5, 1, 19, 2, 37)  # -0400
    assert thread.posts[1].body.startswith("u1452@penelope.sdsc.edu (Jeff Bytof - SIO) writes:")


# --- mbox variants ----------------------------------------------------------------------------------------------


def test_unescaped_from_lines_in_bodies_stay_in_their_message(tmp_path):
    body = "See below.\n\nFrom the CRAN policies\nyou must not write to the home directory.\n\nFrom WRE:\n\nok"
    f = write(tmp_path / "list.txt", message("a@x", body=body) + message("b@x", body="Second."))
    result = ingest([f])
    assert [p.body for p in posts(result)] == [body, "Second."]


def test_mboxrd_quoted_from_lines_are_unquoted_once(tmp_path):
    f = write(tmp_path / "box.mbox", message("a@x", body=">From here on\n>>From there"))
    assert posts(ingest([f]))[0].body == "From here on\n>From there"


def test_a_non_ascii_envelope_line_does_not_stop_the_file(tmp_path):
    text = message("a@x", envelope="From jörg@ex.de  Tue Jan  1 11:39:38 2019").encode("utf-8")
    text += message("b@x", envelope="From j\xf6rg@ex.de  Tue Jan  1 12:39:38 2019").encode("latin-1")
    result = ingest([write(tmp_path / "box.mbox", text)])
    assert not result.errors and [p.post_id for p in posts(result)] == ["a@x", "b@x"]


def test_crlf_line_ends_are_read(tmp_path):
    text = (message("a@x", body="one\ntwo") + message("b@x")).replace("\n", "\r\n")
    result = ingest([write(tmp_path / "box.mbox", text)])
    assert [p.body for p in posts(result)] == ["one\ntwo", "Hello there."]


def test_a_gzip_archive_is_read_and_capped_uncompressed(tmp_path):
    f = tmp_path / "2019q1.txt.gz"
    f.write_bytes(gzip.compress(PIPERMAIL.read_bytes()))
    assert ingest([f]).posts == 3
    assert ingest([tmp_path]).posts == 3  # found in a folder by its content
    result = ingest([f], max_file_bytes=2000)  # about 1,300 bytes compressed, 3,775 uncompressed
    assert result.posts == 0 and "over max_file_bytes = 2000 uncompressed; skipped" in str(result.errors[0])


def test_a_maildir_reads_cur_and_new_not_tmp(tmp_path):
    box = tmp_path / "Mail"
    for name in ("cur", "new", "tmp"):
        (box / name).mkdir(parents=True)
    write(box / "cur" / "1204680122.M355P4112.host,S=3340:2,S", message("a@x", envelope=None))
    write(box / "new" / "1204680200.M1P1.host", message("b@x", envelope=None, extra="In-Reply-To: <a@x>"))
    write(box / "tmp" / "1204680300.M2P2.host", message("c@x", envelope=None))
    result = ingest([tmp_path], fmt="auto")
    assert not result.errors
    assert [[p.post_id for p in t.posts] for t in result.threads] == [["a@x", "b@x"]]
    assert ingest([tmp_path], fmt="maildir").posts == 2


# --- ids and copies ---------------------------------------------------------------------------------------------


def test_the_same_message_in_two_archives_is_one_post_and_the_copy_is_reported(tmp_path):
    write(tmp_path / "a.mbox", message("one@x") + message("two@x", body="Two."))
    write(tmp_path / "b.mbox", message("two@x", body="Two.") + message("three@x", body="Three."))
    result = ingest([tmp_path])
    assert sorted(p.post_id for p in posts(result)) == ["one@x", "three@x", "two@x"]
    assert result.errors == []  # nothing was lost: an exact copy is a warning, not a skipped record
    assert f"{tmp_path / 'b.mbox'}:1: message 1: a copy of <two@x> from {tmp_path / 'a.mbox'}:9, read once" in (
        result.warnings
    )


def test_a_reused_message_id_keeps_the_first_and_says_the_texts_differ(tmp_path):
    write(tmp_path / "a.mbox", message("one@x", body="First text."))
    write(tmp_path / "b.mbox", message("one@x", body="Other text."))
    result = ingest([tmp_path])
    assert [p.body for p in posts(result)] == ["First text."]
    assert "is also the Message-ID of" in str(result.errors[0]) and "their text differs" in str(result.errors[0])


def test_a_message_without_message_id_gets_a_stable_content_id(tmp_path):
    f = write(tmp_path / "a.mbox", message(None, body="No id here.") + message("b@x"))
    first, second = posts(ingest([f])), posts(ingest([f]))
    assert first[0].post_id == second[0].post_id and first[0].post_id.startswith("content-")
    assert first[0].post_id == content_id("Alice Example", first[0].posted_at, "Hello", "No id here.")


# --- authors ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "author"),
    [
        ("murdoch@dunc@n @end|ng |rom gm@||@com (Duncan Murdoch)", "Duncan Murdoch"),
        ("@ouvique @ending from gm@il@com (SOUVIK NATH)", "SOUVIK NATH"),
        ("ligges at statistik.tu-dortmund.de (Uwe Ligges)", "Uwe Ligges"),
        ("edd @end|ng |rom deb|@n@org", "edd"),
        ("leech@cs.unc.edu (Jon Leech)", "Jon Leech"),
        ("=?utf-8?q?G=C3=A1bor_Cs=C3=A1rdi?= <csardi.gabor@gmail.com>", "Gábor Csárdi"),
        ('"Smith, Brian" <brian@uiowa.edu>', "Smith, Brian"),
        ("Jane Doe via R-package-devel <r-package-devel@r-project.org>", "Jane Doe"),
        ("plain@example.org", "plain"),
    ],
)
def test_authors_are_names_even_behind_obfuscated_addresses(tmp_path, sender, author):
    f = write(tmp_path / "a.mbox", message("a@x", sender=sender))
    assert posts(ingest([f]))[0].author == author


def test_an_address_shown_without_a_name_takes_the_name_it_has_elsewhere(tmp_path):
    text = message("a@x", sender="edd @end|ng |rom deb|@n@org (Dirk Eddelbuettel)")
    text += message("b@x", sender="edd @end|ng |rom deb|@n@org", date="Wed, 2 Jan 2019 10:00:00 +0000")
    assert [p.author for p in posts(ingest([write(tmp_path / "a.mbox", text)]))] == ["Dirk Eddelbuettel"] * 2


def test_without_a_from_header_the_envelope_sender_is_the_author(tmp_path):
    text = message("a@x").replace("From: Alice Example <alice@example.org>\n", "")
    assert posts(ingest([write(tmp_path / "a.mbox", text)]))[0].author == "alice"


# --- dates ------------------------------------------------------------------------------------------------------


def test_a_corrupt_date_zone_falls_back_to_the_envelope_date_with_a_warning(tmp_path):
    f = write(tmp_path / "a.mbox", message("ok@x") + message("bad@x", date="Tue, 1 Jan 2019 16:09:38 +9999"))
    result = ingest([f])
    assert [p.posted_at for p in posts(result)] == [datetime(2019, 1, 1, 10, 39, 38), datetime(2019, 1, 1, 11, 39, 38)]
    (warning,) = result.warnings
    assert warning.startswith(f"{f}:9: message 2: Date 'Tue, 1 Jan 2019 16:09:38 +9999' has no usable time zone")
    assert "used the envelope line's date" in warning


def test_an_unknown_zone_name_falls_back_to_nntp_posting_date(tmp_path):
    text = message(
        "a@x", date="Thu, 1 Apr 1993 10:00:00 XYZ", envelope=None, extra="Newsgroups: sci.space\n"
        "NNTP-Posting-Date: Thu, 1 Apr 1993 08:30:00 GMT"
    )  # fmt: skip
    result = ingest([write(tmp_path / "article", text)])
    assert posts(result)[0].posted_at == datetime(1993, 4, 1, 8, 30)
    assert "used NNTP-Posting-Date" in result.warnings[0]


@pytest.mark.parametrize(
    ("date", "utc"),
    [
        ("Thu, 15 Apr 1993 09:49:09 CET", datetime(1993, 4, 15, 8, 49, 9)),
        ("Thu, 15 Apr 1993 09:49:09 MET DST", datetime(1993, 4, 15, 7, 49, 9)),
        ("15 Apr 93 09:49:09 EDT", datetime(1993, 4, 15, 13, 49, 9)),
        ("Thu, 15 Apr 1993 09:49:09 -0000", datetime(1993, 4, 15, 9, 49, 9)),
    ],
)
def test_zone_names_of_old_mail_are_known(tmp_path, date, utc):
    result = ingest([write(tmp_path / "a.eml", message("a@x", date=date, envelope=None))])
    assert posts(result)[0].posted_at == utc and not result.warnings


def test_a_date_without_a_zone_and_nothing_else_is_taken_as_utc_with_a_warning(tmp_path):
    f = write(tmp_path / "article", message("a@x", date="15 Apr 93 18:30:59", envelope=None, extra="Newsgroups: x"))
    result = ingest([f])
    assert posts(result)[0].posted_at == datetime(1993, 4, 15, 18, 30, 59)
    assert result.warnings == [f"{f}:1: Date '15 Apr 93 18:30:59' has no usable time zone; taken as UTC"]


def test_a_missing_date_falls_back_to_the_last_received_header(tmp_path):
    received = (
        "Received: from b by c; Wed, 2 Jan 2019 10:00:00 +0100\nReceived: from a by b; Wed, 2 Jan 2019 09:00:00 +0100"
    )
    result = ingest([write(tmp_path / "msg.eml", message("a@x", date=None, envelope=None, extra=received))])
    assert posts(result)[0].posted_at == datetime(2019, 1, 2, 8, 0)
    assert "no Date header; used the last Received header" in result.warnings[0]


def test_a_message_with_no_usable_date_is_reported_and_skipped(tmp_path):
    f = write(tmp_path / "a.mbox", message("ok@x") + message("bad@x", date="never", envelope="From bob  someday"))
    result = ingest([f])
    assert [p.post_id for p in posts(result)] == ["ok@x"]
    assert [str(e) for e in result.errors] == [
        f"{f}:9: message 2: no usable date (Date 'never' has no usable time zone)"
    ]


# --- what is not indexed ----------------------------------------------------------------------------------------


def test_messages_marked_x_no_archive_are_counted_not_indexed(tmp_path):
    text = message("a@x") + message("b@x", extra="X-No-Archive: yes") + message("c@x", extra="X-No-Archive: Yes")
    result = ingest([write(tmp_path / "a.mbox", text)])
    assert [p.post_id for p in posts(result)] == ["a@x"]
    assert result.warnings == ["2 message(s) marked X-No-Archive were not indexed"]


def test_text_is_decoded_by_its_charset_and_attachments_are_left_out(tmp_path):
    mime = (
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="XX"\n\n--XX\n'
        "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
        "Gr=FC=DFe aus K=F6ln\n--XX\nContent-Type: application/pdf; name=report.pdf\n"
        "Content-Disposition: attachment; filename=report.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--XX--\n"
    )
    text = message("a@x", body="").replace("\n\n\n\n", "\n") + mime
    assert posts(ingest([write(tmp_path / "a.mbox", text)]))[0].body == "Grüße aus Köln"


def test_html_only_mail_is_converted_to_text(tmp_path):
    html = "Content-Type: text/html; charset=utf-8"
    body = "<html><head><style>p {}</style></head><body><p>First &amp; foremost.</p><p>Second<br>line</p></body></html>"
    result = ingest([write(tmp_path / "a.mbox", message("a@x", body=body, extra=html))])
    assert posts(result)[0].body == "First & foremost.\n\nSecond\nline"


def test_8bit_text_without_a_charset_is_read_as_utf8_else_cp1252(tmp_path):
    text = message("a@x", body="caf\xe9", subject="Caf\xe9").encode("latin-1")
    result = ingest([write(tmp_path / "a.mbox", text)])
    assert posts(result)[0].body == "café" and result.threads[0].title == "Café"


def test_deeply_nested_mime_is_read_or_reported_never_raised(tmp_path):
    depth = 3000
    parts = "".join(f'Content-Type: multipart/mixed; boundary="b{n}"\n\n--b{n}\n' for n in range(depth))
    text = message("a@x", body="").rstrip("\n") + "\nMIME-Version: 1.0\n" + parts + "\ntext\n"
    result = ingest([write(tmp_path / "a.mbox", text)])
    assert result.posts + len(result.errors) == 1


@settings(max_examples=80, deadline=None)
@given(headers=st.binary(max_size=300), body=st.binary(max_size=300))
def test_any_bytes_in_a_message_are_read_or_reported_never_raised(headers, body):
    data = b"From a  Tue Jan  1 11:39:38 2019\nFrom: a@x\nDate: Tue, 1 Jan 2019 11:39:38 +0000\n" + headers
    data += b"\n\n" + body
    with tempfile.TemporaryDirectory() as d:
        f = write(Path(d) / "a.mbox", data)
        result = ingest([f])
    assert result.posts + len(result.errors) >= 1
    assert all(e.path == str(f) for e in result.errors)


def test_many_copies_are_counted_after_the_first_few(tmp_path):
    from embeddings.ingest.mail_threads import SHOWN_COPIES

    mbox = "".join(message(f"m{i}@x", body=f"Text {i}.") for i in range(SHOWN_COPIES + 4))
    write(tmp_path / "a.mbox", mbox)
    write(tmp_path / "b.mbox", mbox + message("new@x", body="New."))
    result = ingest([tmp_path])
    assert len(posts(result)) == SHOWN_COPIES + 5 and result.errors == []
    copies = [w for w in result.warnings if "a copy of" in w]
    assert len(copies) == SHOWN_COPIES and "4 more message(s) were exact copies of messages already read" in (
        result.warnings
    )
