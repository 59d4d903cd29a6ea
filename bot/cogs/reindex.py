"""/reindex (admins only): rebuild in a worker thread while every other command keeps answering.

It reports to the channel it was invoked in, and only there: its own response (progress, then the result), and,
when the rebuild outlasts the interaction token, one message in that same channel. Other servers and channels the
bot serves hear nothing of it (the log has every rebuild).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time

import discord
from discord import app_commands
from discord.ext import commands

from embeddings import RebuildInProgressError, ThreadbotError

from ..errors import new_reference, rebuild_running_message, without_cli
from ..permissions import admin_only
from ..render import plain, progress_text, report_embed, without_host_paths

log = logging.getLogger("threadbot.bot")

# An interaction token lives 15 minutes; past this, the end is reported with a channel message.
INTERACTION_WINDOW_SECONDS = 14 * 60
INTERRUPTED = (
    "Rebuild interrupted: the bot is stopping. The previous index is still serving; run `/reindex` again once "
    "it is back."
)


class Progress:
    """Latest (stage, done, total), written by the rebuild thread, read by the event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.state: tuple[str | None, int, int] = (None, 0, 0)
        self.version = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            self.state = (stage, int(done), int(total))
            self.version += 1

    def snapshot(self) -> tuple[int, tuple[str | None, int, int]]:
        with self._lock:
            return self.version, self.state


class ReindexCog(commands.Cog):
    def __init__(self, bot):
        self.bot = bot
        self.interaction_window = INTERACTION_WINDOW_SECONDS
        self.clock = time.monotonic

    @app_commands.command(name="reindex", description="Rebuild the index from the configured sources (admins)")
    @app_commands.describe(prune="Drop the sources that are gone, and their threads (default: refuse to rebuild)")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @admin_only()
    async def reindex(self, interaction: discord.Interaction, prune: bool = False) -> None:
        bot = self.bot
        status = bot.service.rebuild_status
        if status:
            await interaction.response.send_message(rebuild_running_message(*status), ephemeral=True)
            return
        who = f"{interaction.user} ({interaction.user.id})"
        log.info("rebuild requested by %s in guild %s, channel %s", who, interaction.guild_id, interaction.channel_id)
        me = asyncio.current_task()
        if bot.rebuild_job is None:  # what a stopping bot waits for (bot/runner.py)
            bot.rebuild_job = me
        try:
            await self._rebuild(interaction, who, prune)
        finally:
            if bot.rebuild_job is me:
                bot.rebuild_job = None

    async def _rebuild(self, interaction: discord.Interaction, who: str, prune: bool = False) -> None:
        bot = self.bot
        started = self.clock()
        await interaction.response.send_message(progress_text(None, 0, 0, 0))

        progress = Progress()
        rebuild = bot.service.rebuild
        task = asyncio.ensure_future(
            bot.call(rebuild, progress=progress, started_by=str(interaction.user), prune=prune)
        )
        interval = max(0.05, float(bot.settings.bot.progress_interval_seconds))
        shown = 0
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=interval)
                version, (stage, done, total) = progress.snapshot()
                if task.done() or version == shown or self.clock() - started >= self.interaction_window:
                    continue
                if bot.is_closed():  # the connection has ended: nothing to edit through
                    continue
                shown = version
                try:
                    await interaction.edit_original_response(
                        content=progress_text(stage, done, total, self.clock() - started)
                    )
                except discord.HTTPException:
                    log.debug("progress edit failed", exc_info=True)
        except asyncio.CancelledError:  # the bot is stopping without waiting for the rebuild
            log.warning("rebuild by %s abandoned: the bot is stopping", who)
            if not bot.is_closed() and self.clock() - started < self.interaction_window:
                with contextlib.suppress(discord.HTTPException):
                    await interaction.edit_original_response(content=INTERRUPTED)
            raise

        content, embed = None, None
        settings = bot.settings
        try:
            report = task.result()
        except RebuildInProgressError as exc:
            content = rebuild_running_message(exc.started_by, exc.started_at)
        except ThreadbotError as exc:
            message = without_host_paths(without_cli(str(exc)), settings.sources, settings.data_dir)
            content = f"Rebuild failed: {plain(message, 1500)}\nThe previous index is still serving."
            log.warning("rebuild by %s failed: %s", who, exc)
        except Exception as exc:
            ref = new_reference()
            log.error("rebuild by %s failed unexpectedly [ref %s]", who, ref, exc_info=exc)
            content = (
                f"Rebuild failed unexpectedly (reference `{ref}`). The previous index is still serving; "
                "the log has the details."
            )
        else:
            embed = report_embed(report, settings.sources, settings.data_dir)
            log.info("rebuild by %s finished: %s", who, report)
        await self._finish(interaction, started, content, embed)

    async def _finish(
        self, interaction: discord.Interaction, started: float, content: str | None, embed: discord.Embed | None
    ) -> None:
        if self.bot.is_closed():  # the gateway connection ended while it ran: only the log hears of it
            log.info("rebuild ended after the bot disconnected: %s", content or embed.description)
            return
        if self.clock() - started < self.interaction_window:
            try:
                await interaction.edit_original_response(content=content, embed=embed)
                return
            except discord.HTTPException:
                log.warning("could not edit the /reindex response; reporting in the channel", exc_info=True)
        channel = interaction.channel
        if channel is None and interaction.channel_id is not None:
            channel = self.bot.get_partial_messageable(interaction.channel_id, guild_id=interaction.guild_id)
        if channel is None:
            log.warning("rebuild ended but there is no channel to report to: %s", content or embed.description)
            return
        text = f"{interaction.user.mention}: the rebuild you started has ended. {content or ''}".strip()
        try:
            await channel.send(text, embed=embed, allowed_mentions=discord.AllowedMentions(users=[interaction.user]))
        except discord.HTTPException:
            log.warning("could not report the end of the rebuild in channel %s", interaction.channel_id, exc_info=True)


async def setup(bot) -> None:
    await bot.add_cog(ReindexCog(bot))
