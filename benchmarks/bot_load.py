"""Fifty members' /ask at once through the in-process Discord harness, next to SearchService.search alone.

Builds the bundled sample's index in a temporary directory, warms the model and the caches, then measures in the
same run:
- raw: SearchService.search, one call after another, over the sample's seed questions, in a worker thread as the
  bot calls it (and on the main thread, as the CLI does: torch's intra-op threads can make that slower on a
  busy machine);
- bot: N members each sending one /ask at the same moment, through the real CommandTree, checks and views with
  the recording transport of tests/bot (no network). Per member: the acknowledgement (the deferral Discord waits
  3 seconds for) and the answer (the edit that shows the results), from the moment the interaction arrived.
Searches run `--cap` at a time (bot.max_concurrent_searches); cooldowns never trigger (one /ask per member).

Usage: .venv/bin/python benchmarks/bot_load.py [--members 50] [--cap 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bot"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot_harness import User, start_discord, stop_discord  # noqa: E402

from bot.cogs.ask import RESULTS_MAX  # noqa: E402
from embeddings.config import load_settings  # noqa: E402
from embeddings.service import SearchService  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def timed(service: SearchService, question: str) -> float:
    t0 = time.perf_counter()
    service.search(question, RESULTS_MAX + 1)  # what /ask asks for: every page of its results, and one more
    return time.perf_counter() - t0


def row(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    p50, p95, p99 = (percentile(ms, p) for p in (50, 95, 99))
    return f"{name:<34} {len(ms):>5} {p50:>9.0f} {p95:>9.0f} {p99:>9.0f} {max(ms):>9.0f}"


async def bot_round(service: SearchService, questions: list[str], members: int, cap: int) -> tuple[list, list, float]:
    d = await start_discord(service, max_concurrent_searches=cap)
    arrived: dict[str, float] = {}
    acked: dict[str, float] = {}
    answered: dict[str, float] = {}
    real = d.transport.webhook

    def stamped(method, path, payload, params):
        token = path.strip("/").split("/")[2]
        now = time.perf_counter()
        if path.endswith("/callback"):
            acked.setdefault(token, now)
        elif method == "PATCH" and (payload or {}).get("embeds"):
            answered.setdefault(token, now)
        return real(method, path, payload, params)

    d.transport.webhook = stamped
    payloads = [
        d.command_payload("ask", User(name=f"m{i}"), question=questions[i % len(questions)]) for i in range(members)
    ]
    try:
        started = time.perf_counter()
        tasks = set()
        for p in payloads:
            arrived[p["token"]] = time.perf_counter()
            tasks |= d.dispatch(p)
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - started
    finally:
        await stop_discord(d)
    tokens = [p["token"] for p in payloads]
    missing = [t for t in tokens if t not in answered]
    if missing:
        raise SystemExit(f"{len(missing)} members got no answer")
    return [acked[t] - arrived[t] for t in tokens], [answered[t] - arrived[t] for t in tokens], wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=50)
    ap.add_argument("--cap", type=int, default=2, help="bot.max_concurrent_searches")
    ap.add_argument("--rounds", type=int, default=3, help="repetitions of both measurements")
    args = ap.parse_args()
    seed = (ROOT / "samples/seed_dev_queries.jsonl").read_text().splitlines()
    questions = [json.loads(line)["query"] for line in seed if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        service = SearchService(load_settings(overrides={"data_dir": tmp}, environ={}))
        service.rebuild([str(ROOT / "samples/vbulletin")])
        for q in questions:  # warm the model, the index and the highlight cache outside the timings
            service.search(q, 4)
        raw, raw_main, acks, answers, walls = [], [], [], [], []
        worker = concurrent.futures.ThreadPoolExecutor(1)
        for _ in range(args.rounds):
            for q in questions * max(1, args.members // len(questions)):
                raw.append(worker.submit(timed, service, q).result())
                raw_main.append(timed(service, q))
            ack, answer, wall = asyncio.run(bot_round(service, questions, args.members, args.cap))
            acks += ack
            answers += answer
            walls.append(wall)
        worker.shutdown()
        service.close()
    print(
        f"{args.members} members at once, max_concurrent_searches={args.cap}, {args.rounds} rounds, {os.cpu_count()} CPUs"
    )
    print(f"{'latency (ms)':<34} {'n':>5} {'p50':>9} {'p95':>9} {'p99':>9} {'max':>9}")
    print(row("SearchService.search, worker thread", raw))
    print(row("SearchService.search, main thread", raw_main))
    print(row("/ask acknowledged (deferral)", acks))
    print(row("/ask answered (results shown)", answers))
    print(f"wall time for {args.members} members: " + ", ".join(f"{w:.2f}s" for w in walls))


if __name__ == "__main__":
    main()
