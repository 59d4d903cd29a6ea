"""`threadbot` pointed at a FakeDiscord on 127.0.0.1, for the wire tests' subprocess (test use only).

Usage: python tests/bot/wire_launch.py ARGS...   (as `threadbot ARGS...`), with FAKE_DISCORD_API (the REST base,
…/api/v10) and FAKE_DISCORD_GATEWAY (ws://127.0.0.1:PORT/gateway) in the environment. Any TCP connection to
another address fails, so nothing can reach the real Discord.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from local_only import refuse_non_local_connections  # noqa: E402


def main() -> int:
    import yarl
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    refuse_non_local_connections()
    Route.BASE = os.environ["FAKE_DISCORD_API"]
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["FAKE_DISCORD_GATEWAY"])
    from threadbot.cli import main as cli

    return cli(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
