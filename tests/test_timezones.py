"""A forum source's configured time zone: its clock becomes a known instant at build time (true UTC plus the
poster's offset), daylight saving time included, and a rebuild from the recorded sources keeps it."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import datetime

import pytest

from embeddings.ingest import ingest
from embeddings.ingest.zones import as_instant, effective_zones, zone_named
from embeddings.service import SearchService

from .conftest import SAMPLE_DIR, make_settings
from .test_ingest_mail import PIPERMAIL

LONDON = zone_named("Europe/London")


@pytest.mark.parametrize(
    "wall, utc, offset",
    [
        (datetime(2009, 8, 15, 14, 32), datetime(2009, 8, 15, 13, 32), 60),  # summer time
        (datetime(2009, 12, 15, 14, 32), datetime(2009, 12, 15, 14, 32), 0),  # winter
        # 01:30 on 28 March 2021 never happened in London (01:00 → 02:00): read with the offset before the change
        (datetime(2021, 3, 28, 1, 30), datetime(2021, 3, 28, 1, 30), 0),
        # 01:30 on 31 October 2021 happened twice (02:00 → 01:00): its first occurrence, still in summer time
        (datetime(2021, 10, 31, 1, 30), datetime(2021, 10, 31, 0, 30), 60),
    ],
)
def test_a_wall_clock_time_becomes_the_instant_it_was_with_its_offset(wall, utc, offset):
    assert as_instant(wall, LONDON) == (utc, offset)


def test_the_offset_kept_shows_the_time_exactly_as_the_forum_wrote_it():
    from datetime import timedelta

    from embeddings.models import local_time

    for wall in (datetime(2021, 3, 28, 1, 30), datetime(2021, 10, 31, 1, 30), datetime(1850, 6, 1, 12, 0)):
        for zone in (LONDON, zone_named("America/St_Johns"), zone_named("Asia/Kathmandu")):
            utc, offset = as_instant(wall, zone)
            assert local_time(utc, offset).replace(tzinfo=None) == wall
            assert utc + timedelta(minutes=offset) == wall


def test_an_instant_outside_the_calendar_is_left_as_written():
    assert as_instant(datetime(1, 1, 1, 0, 0), zone_named("Asia/Tokyo")) is None


def _by_line(result):
    return {p.line: p for t in result.threads for p in t.posts}


def test_a_zone_applies_to_the_files_under_its_source_and_keeps_their_ids(tmp_path):
    plain = _by_line(ingest([str(SAMPLE_DIR)]))
    zoned = _by_line(ingest([str(SAMPLE_DIR)], zones=effective_zones([(str(SAMPLE_DIR), "Europe/London")])))
    assert plain.keys() == zoned.keys()
    for line, before in plain.items():
        after = zoned[line]
        assert before.utc_offset is None and after.utc_offset == 60  # August: British Summer Time
        assert (before.posted_at - after.posted_at).total_seconds() == 3600
        assert (after.post_id, after.thread_id) == (before.post_id, before.thread_id)  # ids from the written clock
    elsewhere = _by_line(ingest([str(SAMPLE_DIR)], zones=effective_zones([(str(tmp_path), "Europe/London")])))
    assert all(p.utc_offset is None for p in elsewhere.values())  # not under the zoned source: untouched


def test_dates_with_a_zone_of_their_own_and_mail_keep_it(tmp_path):
    mail = _by_line(ingest([str(PIPERMAIL)]))
    zoned_mail = _by_line(ingest([str(PIPERMAIL)], zones=effective_zones([(str(PIPERMAIL), "Asia/Tokyo")])))
    assert [(p.posted_at, p.utc_offset) for p in mail.values()] == [
        (p.posted_at, p.utc_offset) for p in zoned_mail.values()
    ]
    src = tmp_path / "posts.jsonl"
    rows = [
        {"thread_id": "t", "thread_title": "T", "author": "a", "posted_at": "2020-01-05T10:00:00-05:00", "body": "x"},
        {"thread_id": "t", "thread_title": "T", "author": "b", "posted_at": "2020-01-05T12:00:00", "body": "y"},
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    [thread] = ingest([str(src)], zones=effective_zones([(str(tmp_path), "Asia/Tokyo")])).threads
    by = {p.author: p for p in thread.posts}
    kept, zoned = by["a"], by["b"]
    assert (kept.posted_at, kept.utc_offset) == (datetime(2020, 1, 5, 15, 0), -300)  # its own zone
    assert (zoned.posted_at, zoned.utc_offset) == (datetime(2020, 1, 5, 3, 0), 540)  # the source's


def test_recorded_zones_are_kept_and_configured_ones_win():
    recorded = {"/srv/forum": "Europe/London", "/srv/bad": "No/Such_Zone", 3: "UTC"}
    zones = effective_zones([("/srv/other", "Asia/Tokyo"), ("/srv/forum", "Europe/Paris")], recorded)
    assert zones == {"/srv/forum": "Europe/Paris", "/srv/other": "Asia/Tokyo"}


def test_a_rebuild_from_the_recorded_sources_keeps_their_zones(tmp_path, embedder, sample_service, shared_cache):
    src = tmp_path / "forum"
    shutil.copytree(SAMPLE_DIR, src)
    settings = make_settings(tmp_path / "data", shared_cache)
    zoned = SearchService(replace(settings, sources=(str(src),), source_timezones=((str(src), "Europe/London"),)),
                          embedder)  # fmt: skip
    zoned.rebuild()
    assert zoned.data.read_manifest()["timezones"] == {str(src.resolve()): "Europe/London"}
    [first] = zoned.search("purges", 1)
    assert first.utc_offset == 60
    zoned.close()

    again = SearchService(settings, embedder)  # no sources, no zones configured: the index's own are used
    again.rebuild()
    view = again.post(again.threads()[0].thread_id, 1)
    assert (view.posted_at, view.utc_offset) == (datetime(2009, 8, 15, 13, 32), 60)  # 14:32 in London
    again.close()
