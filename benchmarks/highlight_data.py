"""Labelled highlight data for benchmarks/highlight.py: (query, passage, its sentences, the gold ones).

seed: every passage of the sample thread's index holding a seed question's `must_contain`, gold = the sentence(s)
holding it; tests: the passage of tests/test_highlight.py; cqa-orgq / cqa-relq: SemEval-2016 Task 3 dev passages
of 3 consecutive comments with at least one Good and one Bad for the question, gold = the Good comments' sentences.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from embeddings.passages.sentences import sentence_spans
from embeddings.service import SearchService

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Example:
    query: str
    passage: str
    spans: list[tuple[int, int]]
    gold: set[int]


def seed_examples(service: SearchService) -> tuple[list[Example], list[str]]:
    passages = list(dict.fromkeys(passage_texts(service)))
    out = []
    for line in (ROOT / "samples" / "seed_dev_queries.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        needle = q["must_contain"].casefold()
        for text in passages:
            at = text.casefold().find(needle)
            if at >= 0:
                spans = sentence_spans(text)
                gold = {i for i, (s, e) in enumerate(spans) if s < at + len(needle) and at < e}
                out.append(Example(q["query"], text, spans, gold))
    return out, passages


def passage_texts(service: SearchService) -> list[str]:
    index = service._current()
    rows = index.store.passages_by_ids(index.vectors.ids())
    return [rows[pid]["text"] for pid in sorted(rows)]


def unit_test_examples() -> list[Example]:
    from tests.test_highlight import PASSAGE

    spans = sentence_spans(PASSAGE)
    return [
        Example("Ryutin platform", PASSAGE, spans, {3}),
        Example("what makes a motor run too hot", PASSAGE, spans, {1}),
    ]


def _text(elem, tag: str) -> str:
    child = elem.find(tag)
    return " ".join((child.text or "").split()) if child is not None else ""


def cqa_examples(xml: Path, which: str, window: int = 3) -> tuple[list[Example], list[str]]:
    from semeval_cqa import _join

    out, comments_seen, threads_seen = [], [], set()
    for oq in ET.parse(xml).getroot().iter("OrgQuestion"):
        orgq = _join(_text(oq, "OrgQSubject"), _text(oq, "OrgQBody"))
        for thread in oq.iter("Thread"):
            relq = thread.find("RelQuestion")
            if which == "relq" and relq.get("RELQ_ID") in threads_seen:
                continue
            threads_seen.add(relq.get("RELQ_ID"))
            query = orgq if which == "orgq" else _join(_text(relq, "RelQSubject"), _text(relq, "RelQBody"))
            attr = "RELC_RELEVANCE2ORGQ" if which == "orgq" else "RELC_RELEVANCE2RELQ"
            labelled = []
            for c in thread.iter("RelComment"):
                comments_seen.append(_text(c, "RelCText"))
                if c.get(attr) in ("Good", "Bad") and _text(c, "RelCText"):
                    labelled.append((_text(c, "RelCText"), c.get(attr) == "Good"))
            for i in range(0, len(labelled), window):
                part = labelled[i : i + window]
                if all(good for _, good in part) or not any(good for _, good in part):
                    continue
                passage, good_parts = "", []
                for text, good in part:
                    passage += "\n\n" if passage else ""
                    if good:
                        good_parts.append((len(passage), len(passage) + len(text)))
                    passage += text
                spans = sentence_spans(passage)
                gold = {j for j, (s, e) in enumerate(spans) if any(a <= s and e <= b for a, b in good_parts)}
                if len(spans) > 1:
                    out.append(Example(query[:2000], passage, spans, gold))
    return out, list(dict.fromkeys(comments_seen))
