"""Evaluate quote detection against truth files (``threadbot eval-quotes THREADS_DIR TRUTH_DIR``).

Truth: one JSON file per thread (``<name>.json``, matching ``THREADS_DIR/<name>.txt``) with ``posts``: each
post has ``index`` (0-based) and ``quotes: [{quoted_author, text}]``; nested quotes are listed once per author.

Scoring unit: the pair (quoting post, source author), authors compared case-insensitively, posts matched by
thread file + post index.  All threads are detected together, as at index time (cross-thread sources allowed).
* true positive: a predicted pair that is in the truth;
* false positive: a predicted pair that is not in the truth (whatever the truth says about that post);
* false negative: a truth pair not predicted, **except** pairs that cannot be attributed from the archive:
  ``quoted_author`` null, or a name that posts nowhere in the evaluated archive (the passage was quoted from
  another site or an unarchived thread).  Those are counted in ``excluded`` and left out of recall.  A predicted
  pair whose text is (mostly) the text of such an unattributable truth quote cannot be judged either way (the
  truth names nobody in the archive, yet the words are in it): it is counted in ``unverifiable``, not in
  precision.  Any other predicted pair for such a post is a false positive.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import InputError
from ..models import Thread, to_jsonable
from .detector import detect_quotes
from .text import tokenize


@dataclass
class QuoteError:
    """One miss or false positive, for debugging."""

    post_index: int
    author: str
    source_author: str
    text: str  # the truth text for a miss, the detected text for a false positive


@dataclass
class ThreadQuoteEval:
    name: str
    posts: int
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[QuoteError] = field(default_factory=list)
    false_positives: list[QuoteError] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # parser/truth disagreements


@dataclass
class QuoteEvalReport:
    threads: int
    posts: int
    truth_pairs: int  # attributable truth pairs (the recall denominator)
    predicted_pairs: int
    tp: int
    fp: int
    fn: int
    excluded: int  # truth pairs whose source is not in the archive
    unverifiable: int  # predicted pairs for the text of an excluded truth quote (neither tp nor fp)
    relations: int  # detected QuoteRelations (spans), several may give one pair
    seconds: float  # detection time only
    per_thread: list[ThreadQuoteEval] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_json(self) -> dict:
        out = to_jsonable(asdict(self))
        out.update(precision=self.precision, recall=self.recall, f1=self.f1)
        return out

    def summary(self) -> str:
        return (
            f"threads {self.threads}  posts {self.posts}  relations {self.relations}  "
            f"pairs: truth {self.truth_pairs} (+{self.excluded} unattributable) predicted {self.predicted_pairs} "
            f"({self.unverifiable} unverifiable)\n"
            f"precision {self.precision:.3f}  recall {self.recall:.3f}  f1 {self.f1:.3f}  "
            f"(tp {self.tp} fp {self.fp} fn {self.fn})  detection {self.seconds:.2f}s"
        )


def _default_parse(path: Path) -> Thread:
    from ..ingest.vbulletin import parse_file

    return parse_file(path)


def evaluate_quotes(
    threads_dir: str | Path, truth_dir: str | Path, parse: Callable[[Path], Thread] | None = None, *, min_words: int = 6
) -> QuoteEvalReport:
    """Detect quotes in every ``threads_dir/<name>.txt`` that has ``truth_dir/<name>.json`` and score them."""
    parse = parse or _default_parse
    threads_dir, truth_dir = Path(threads_dir), Path(truth_dir)
    for d in (threads_dir, truth_dir):
        if not d.is_dir():
            raise InputError(str(d), None, "not a directory")
    truths, parsed, evals = {}, {}, {}
    for tf in sorted(truth_dir.glob("*.json")):
        src = threads_dir / (tf.stem + ".txt")
        if not src.exists():
            continue
        try:
            data = json.loads(tf.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InputError(str(tf), None, f"bad JSON: {exc}") from None
        posts = data.get("posts") if isinstance(data, dict) else data
        if not isinstance(posts, list) or not all(
            isinstance(tp, dict) and {"index", "author", "quotes"} <= tp.keys() for tp in posts
        ):
            raise InputError(str(tf), None, "not a truth file (expected posts with index, author and quotes)")
        truths[tf.stem] = posts
        parsed[tf.stem] = parse(src)
        evals[tf.stem] = ev = ThreadQuoteEval(tf.stem, len(truths[tf.stem]))
        got = parsed[tf.stem].posts
        if len(got) != len(truths[tf.stem]):
            ev.problems.append(f"parser found {len(got)} posts, truth has {len(truths[tf.stem])}")
        for tp, pp in zip(truths[tf.stem], got):
            if tp["author"] != pp.author:
                ev.problems.append(f"post {tp['index']}: author {pp.author!r} != truth {tp['author']!r}")

    if not parsed:
        raise InputError(str(truth_dir), None, f"no truth file <name>.json with a thread {threads_dir}/<name>.txt")
    problems = [f"{ev.name}: {p}" for ev in evals.values() for p in ev.problems]
    if problems:  # scores over misparsed threads would be meaningless
        raise InputError(str(threads_dir), None, "the parser disagrees with the truth: " + "; ".join(problems[:5]))
    posts = [p for t in parsed.values() for p in t.posts]
    stem_of = {t.thread_id: stem for stem, t in parsed.items()}
    t0 = time.perf_counter()
    relations = detect_quotes(posts, min_words=min_words)
    seconds = time.perf_counter() - t0

    predicted: dict[tuple[str, int], dict[str, str]] = {}
    for r in relations:
        key = (stem_of[r.thread_id], r.quoting_post_index)
        predicted.setdefault(key, {}).setdefault(r.source_author.casefold(), r.text)
    archive_authors = {p.author.casefold() for p in posts}

    report = QuoteEvalReport(
        threads=len(parsed),
        posts=len(posts),
        truth_pairs=0,
        predicted_pairs=0,
        tp=0,
        fp=0,
        fn=0,
        excluded=0,
        unverifiable=0,
        relations=len(relations),
        seconds=seconds,
    )
    for stem, tposts in truths.items():
        ev = evals[stem]
        for tp in tposts:
            key = (stem, tp["index"])
            truth, excluded = {}, []
            for q in tp["quotes"]:
                name = (q.get("quoted_author") or "").casefold()
                if name and name in archive_authors:
                    truth.setdefault(name, (q["quoted_author"], q["text"]))
                else:
                    excluded.append(q["text"])
            pred = predicted.get(key, {})
            ev.tp += len(pred.keys() & truth.keys())
            for name in pred.keys() - truth.keys():
                if any(_overlap(pred[name], text) >= 0.5 for text in excluded):
                    report.unverifiable += 1
                    continue
                ev.false_positives.append(QuoteError(tp["index"], tp["author"], name, pred[name]))
            for name in truth.keys() - pred.keys():
                ev.misses.append(QuoteError(tp["index"], tp["author"], truth[name][0], truth[name][1]))
            report.excluded += len(excluded)
            report.truth_pairs += len(truth)
            report.predicted_pairs += len(pred)
        ev.fp, ev.fn = len(ev.false_positives), len(ev.misses)
        report.tp, report.fp, report.fn = report.tp + ev.tp, report.fp + ev.fp, report.fn + ev.fn
        report.per_thread.append(ev)
    return report


def _overlap(predicted: str, truth: str) -> float:
    """Share of the predicted text's words that occur in the truth text."""
    words = [w for w, _, _ in tokenize(predicted)]
    inside = {w for w, _, _ in tokenize(truth)}
    return sum(w in inside for w in words) / len(words) if words else 0.0


def format_quote_errors(report: QuoteEvalReport, limit: int = 80) -> str:
    """Human-readable list of misses and false positives (for `eval-quotes --details`)."""
    lines = []
    for ev in report.per_thread:
        for e in ev.problems:
            lines.append(f"{ev.name}: PROBLEM {e}")
        for kind, errs in (("MISS", ev.misses), ("FALSE", ev.false_positives)):
            for e in errs:
                text = " ".join(e.text.split())
                lines.append(f"{ev.name} #{e.post_index} {e.author} <- {e.source_author} {kind}: {text[:limit]}")
    return "\n".join(lines)
