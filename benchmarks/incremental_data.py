"""The archives benchmarks/incremental.py builds on: the mailing list's quarters copied (`scaled_corpus`), 20 Newsgroups
and the list with every word permuted per copy (`usenet_corpus`: distinct text, so quotes do not pile up), and the
thread it adds (`thread_file`). See incremental.py's docstring for why each exists."""

from __future__ import annotations

import email
import re
import shutil
import tarfile
from pathlib import Path

import numpy as np

from embeddings.ingest import ingest
from embeddings.ingest.mbox import split_mbox

THREAD_FROM, THREAD_POSTS = "2020q2.txt", 20  # the quarter the added thread comes from, and its size


def thread_file(corpus: Path, target: Path, years_later: int = 0, tag: str = "", words=None) -> Path:
    """The first THREAD_POSTS messages of the first thread of THREAD_FROM with that many, as an mbox file (dates
    moved `years_later` years on and ids given `tag`, for the archive at scale; `words`: each word's
    replacement, see `_copy_text`)."""
    source = corpus / THREAD_FROM
    result = ingest([source])
    thread = next(t for t in result.threads if len(t.posts) >= THREAD_POSTS)
    wanted = {p.post_id for p in thread.posts[:THREAD_POSTS]}
    data = source.read_bytes()
    lines = data.split(b"\n")
    raws, _ = split_mbox(data)
    bounds = [r.line - 1 for r in raws] + [len(lines)]
    chosen = []
    for raw, start, stop in zip(raws, bounds, bounds[1:]):
        message_id = (email.message_from_bytes(raw.data).get("Message-ID") or "").strip().strip("<>")
        if message_id in wanted:
            chosen.append(b"\n".join(lines[start:stop]))
    text = b"\n".join(chosen).decode("utf-8", "surrogateescape")
    if years_later:
        text = _copy_text(text, years_later, tag, shift=0, words=words)
    target.write_text(text, encoding="utf-8", errors="surrogateescape")
    return target


# --- the archive at scale --------------------------------------------------------------------------------
_ID = re.compile(r"<([^<>\s]+)>")
_YEAR = re.compile(r"\b(19|20)(\d\d)\b")
_LONG_WORD = re.compile(r"\b[A-Za-z]{5,}\b")
_KEEP = {"wrote", "writes", "schrieb", "Originally", "Posted", "Quote"}
_PREFIX = re.compile(r"^(Subject:(?:\s*(?:Re|RE|AW|Fwd?|FW):|\s*\[R-pkg-devel\])*)(.*)$")


def _shifted(word: str, shift: int) -> str:
    if word in _KEEP or not shift:
        return word
    return "".join(
        chr((ord(c) - base + shift) % 26 + base) for c in word for base in [ord("a") if c.islower() else ord("A")]
    )


def _copy_text(text: str, years: int, tag: str, shift: int, words=None) -> str:
    """One copy of an mbox text: years moved on, ids tagged, long words letter-shifted (headers aside); `words`
    (a function of a regex match, with its pattern as `words.pattern`): every word replaced by it instead."""
    pattern, change = (words.pattern, words) if words else (_LONG_WORD, lambda w: _shifted(w.group(), shift))
    out, in_headers = [], False
    for line in text.split("\n"):
        if line.startswith("From ") and (not out or not out[-1].strip()):
            in_headers = True
            out.append(_YEAR.sub(lambda m: str(int(m.group(0)) + years), line))
            continue
        if in_headers:
            if not line.strip():
                in_headers = False
            elif line.startswith("Date:"):
                line = _YEAR.sub(lambda m: str(int(m.group(0)) + years), line)
            elif line[:1].isspace() or line.lower().startswith(("message-id:", "in-reply-to:", "references:")):
                line = _ID.sub(lambda m: f"<{m.group(1)}.{tag}>", line)
            elif line.startswith("Subject:"):
                m = _PREFIX.match(line)
                line = m.group(1) + pattern.sub(change, m.group(2))
            out.append(line)
            continue
        out.append(pattern.sub(change, line))
    return "\n".join(out)


def scaled_corpus(corpus: Path, folder: Path, copies: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    quarters = sorted(p for p in corpus.glob("20*.txt"))
    for c in range(copies):
        for quarter in quarters:
            target = folder / f"copy{c:02d}-{quarter.name}"
            if not target.exists():
                text = quarter.read_bytes().decode("utf-8", "surrogateescape")
                text = _copy_text(text, 3 * c, f"c{c}", c) if c else text
                target.write_text(text, encoding="utf-8", errors="surrogateescape")
            files.append(str(target))
    return files


# --- a base of distinct text: 20 Newsgroups + the mailing list, and word-permuted copies of both -------------
_WORD = re.compile(r"\b[A-Za-z]+\b")
_KEEP_WORDS = {"wrote", "writes", "write", "said", "says", "article", "in", "on", "re", "fwd", "aw", "fw", "quote"}
_NEWS_SUBJECT = re.compile(r"^(Subject:(?:\s*(?:Re|RE|Fwd?|FW):)*)(.*)$")


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


def _vocabulary(texts) -> list[str]:
    """Every lower-cased word of the texts, sorted (so a seeded permutation of it is the same on every run)."""
    seen: set[str] = set()
    for text in texts:
        seen.update(w.lower() for w in _WORD.findall(text))
    return sorted(seen - _KEEP_WORDS)


def _permutation(vocabulary: list[str], seed: int):
    """A function of a word match: the word through a fixed permutation of the vocabulary, case kept."""
    order = np.random.default_rng(seed).permutation(len(vocabulary))
    table = {word: vocabulary[i] for word, i in zip(vocabulary, order)}

    def change(match: re.Match) -> str:
        word = match.group()
        new = table.get(word.lower())
        if new is None:
            return word
        if word.isupper() and len(word) > 1:
            return new.upper()
        return new.capitalize() if word[0].isupper() else new

    change.pattern = _WORD
    return change


def _news_copy(text: str, tag: str, words) -> str:
    """One copy of a Usenet article: ids tagged (headers and "In article <id>" lines), the subject's and the
    body's words permuted; other headers (From, Date, Newsgroups) kept."""
    head, sep, body = text.partition("\n\n")
    lines = []
    for line in head.split("\n"):
        low = line.lower()
        if low.startswith(("message-id:", "references:", "in-reply-to:")) or (
            line[:1].isspace() and lines and _ID.search(line)
        ):
            line = _ID.sub(lambda m: f"<{m.group(1)}.{tag}>", line)
        elif line.startswith("Subject:"):
            m = _NEWS_SUBJECT.match(line)
            line = m.group(1) + _WORD.sub(words, m.group(2))
        lines.append(line)
    out = []
    for line in body.split("\n"):
        if line.lstrip("> ").startswith("In article <"):
            line = _ID.sub(lambda m: f"<{m.group(1)}.{tag}>", line)
            at = line.find(">", line.find("In article <")) + 1
            out.append(line[:at] + _WORD.sub(words, line[at:]))
        else:
            out.append(_WORD.sub(words, line))
    return "\n".join(lines) + sep + "\n".join(out)


def usenet_corpus(corpus: Path, news: Path, folder: Path, copies: int) -> list[str]:
    """The sources of the --base usenet archive (see the module's docstring): per copy one spool directory
    and the mailing list's quarters; made once under `folder`, reused by later runs."""
    folder.mkdir(parents=True, exist_ok=True)
    spool = folder / "news-c0"
    if not (folder / "news-c0.done").exists():
        shutil.rmtree(spool, ignore_errors=True)
        scratch = folder / "news-extract"
        shutil.rmtree(scratch, ignore_errors=True)
        with tarfile.open(news) as tar:
            tar.extractall(scratch, filter="data")
        (top,) = [p for p in scratch.iterdir() if p.is_dir()]
        top.rename(spool)
        shutil.rmtree(scratch)
        (folder / "news-c0.done").write_text("")
    articles = sorted(p for p in spool.rglob("*") if p.is_file())
    quarters = sorted(corpus.glob("20*.txt"))
    sources = [str(spool), *map(str, quarters)]
    vocabulary = None
    for c in range(1, copies):
        copy_spool, copy_list = folder / f"news-c{c}", folder / f"list-c{c}"
        sources += [str(copy_spool), str(copy_list)]
        if (folder / f"copy-c{c}.done").exists():
            continue
        if vocabulary is None:
            vocabulary = _vocabulary([*map(_read, articles), *map(_read, quarters)])
        words = _permutation(vocabulary, c)
        for d in (copy_spool, copy_list):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir()
        for article in articles:
            target = copy_spool / article.relative_to(spool)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_news_copy(_read(article), f"c{c}", words), encoding="utf-8", errors="surrogateescape")
        for quarter in quarters:
            text = _copy_text(_read(quarter), 0, f"c{c}", 0, words=words)
            (copy_list / quarter.name).write_text(text, encoding="utf-8", errors="surrogateescape")
        (folder / f"copy-c{c}.done").write_text("")
    return sources
