"""Discord edge of threadbot: slash commands → SearchService calls off the event loop → embeds.

Importing this package does not import the retrieval core's heavy dependencies; the
service object is passed to :class:`bot.client.ThreadBot` by the caller.
"""

from __future__ import annotations

import threadbot  # noqa: F401  (makes `embeddings` resolve to this project's core)

__all__ = ["ThreadBot", "run_bot", "sync_commands", "command_payloads"]


def __getattr__(name: str):  # lazy, so `import bot` stays cheap
    if name == "ThreadBot":
        from .client import ThreadBot

        return ThreadBot
    if name in ("run_bot", "sync_commands", "command_payloads"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(name)
