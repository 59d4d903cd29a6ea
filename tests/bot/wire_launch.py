"""`threadbot` pointed at a FakeDiscord on 127.0.0.1, for the wire tests' subprocess (test use only).

Usage: python tests/bot/wire_launch.py ARGS...   (as `threadbot ARGS...`), with FAKE_DISCORD_API (the REST base,
…/api/v10) and FAKE_DISCORD_GATEWAY (ws://127.0.0.1:PORT/gateway) in the environment. Any TCP connection to
another address fails, so nothing can reach the real Discord.

For the stopping tests: WIRE_HOLD_REBUILD=1 holds every rebuild (a full one) at its first progress report, for good (it says
"wire_launch: rebuild held" on stderr); WIRE_REBUILD_GRACE=SECONDS replaces bot.runner.REBUILD_GRACE_SECONDS.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from local_only import refuse_non_local_connections  # noqa: E402


def _hold_rebuilds() -> None:
    import threading

    import threadbot  # noqa: F401  (this project's `embeddings`)
    from embeddings.service import SearchService

    real = SearchService.rebuild

    def held(self, *args, progress=None, **kwargs):
        def hold(stage, done, total):
            if progress:
                progress(stage, done, total)
            print("wire_launch: rebuild held", file=sys.stderr, flush=True)
            threading.Event().wait()

        kwargs["full"] = True  # an unchanged index would be "up to date" at once, before any progress
        return real(self, *args, progress=hold, **kwargs)

    SearchService.rebuild = held


def main() -> int:
    import yarl
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    refuse_non_local_connections()
    if os.environ.get("WIRE_HOLD_REBUILD"):
        _hold_rebuilds()
    if grace := os.environ.get("WIRE_REBUILD_GRACE"):
        import bot.runner

        bot.runner.REBUILD_GRACE_SECONDS = float(grace)
    Route.BASE = os.environ["FAKE_DISCORD_API"]
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["FAKE_DISCORD_GATEWAY"])
    from threadbot.cli import main as cli

    return cli(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
