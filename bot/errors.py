"""Errors → short ephemeral replies.

A user's mistake (a ThreadbotError from the core, a bad option value, a refused
admin command) gets a message saying how to fix it. Anything else is a bug: the
user gets a reference id, the log gets the traceback under the same id.
"""

from __future__ import annotations

import logging
import math
import re
import secrets

import discord
from discord import app_commands

from embeddings import (
    ConfigError,
    IndexDamagedError,
    IndexMismatchError,
    NoIndexError,
    NotFoundError,
    RebuildInProgressError,
    StorageError,
    ThreadbotError,
)

from .replies import has_answer
from .text import CONTENT_MAX, plain

log = logging.getLogger("threadbot.bot")


class UserInputError(app_commands.AppCommandError):
    """A bad option value detected by the bot itself (e.g. an unreadable date)."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class NothingFound(UserInputError):
    """A search or lookup that found nothing: said privately, like a mistake, whatever the command's privacy."""


class NotAdmin(app_commands.CheckFailure):
    def __init__(self, command: str):
        self.command = command
        super().__init__(f"not an admin for /{command}")


def new_reference() -> str:
    return secrets.token_hex(4)


def user_message(error: BaseException) -> str | None:
    """The message for an error a user can fix, or None for a bug."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, app_commands.TransformerError) and error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, UserInputError):
        return error.message
    if isinstance(error, NotAdmin):
        return (
            f"Only bot admins can use `/{error.command}`. Ask a server manager, or an admin listed in the "
            "bot's configuration (`bot.admin_user_ids` / `bot.admin_role_ids`)."
        )
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {max(1, math.ceil(error.retry_after))} s."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server channel."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    if isinstance(error, NoIndexError):
        return "Nothing is indexed yet. An admin can build the index with `/reindex`."
    if isinstance(error, IndexMismatchError):
        return "The index was built for another model or version of the bot. An admin should run `/reindex`."
    if isinstance(error, IndexDamagedError):
        return "The index is damaged. An admin can build a new one with `/reindex`."
    if isinstance(error, StorageError):
        return "The bot could not write its data (the disk may be full). Tell the bot's operator."
    if isinstance(error, RebuildInProgressError):
        return rebuild_running_message(error.started_by, error.started_at)
    if isinstance(error, NotFoundError):
        return f"{_said(error)}. Pick from the suggestions as you type, or see `/threads` for the list."
    if isinstance(error, ConfigError):
        return f"The bot is misconfigured: {_said(error)}. Tell the bot's operator."
    if isinstance(error, ThreadbotError):  # UsageError and the rest: the core's own words
        return _said(error)
    return None


# How a core message that names a command-line command is said in Discord: a command given with its slash
# equivalent ("`threadbot index --prune` (/reindex prune)") becomes that; an alternative that is only a command
# ("or `threadbot remove PATH`") goes; any other clause that names one ("`threadbot threads` or /threads lists
# them") goes too. A shell command helps at a shell, not in Discord.
_CLI_REWRITES = (
    (re.compile(r"`threadbot\b[^`]*`\s*\((/[^()]+)\)"), r"\1"),
    (re.compile(r"\s*\(\s*or\s+`threadbot\b[^`]*`[^()]*\)"), ""),
    (re.compile(r",?\s+(?:or|and)\s+`threadbot\b[^`]*`"), ""),
    (re.compile(r"[:;,]?\s*[^:;,`]*`threadbot\b[^`]*`[^:;]*"), ""),
)


def without_cli(text: str) -> str:
    """`text` as a Discord reply says it: no `threadbot` command-line command in it (see _CLI_REWRITES)."""
    for pattern, replacement in _CLI_REWRITES:
        text = pattern.sub(replacement, text)
    return text.strip().rstrip(".:;,")


def _said(error: BaseException) -> str:
    """An error's text for a member: without command-line commands, escaped (it can quote what the member typed or
    an archived title) and short enough for a reply even when it quotes a very long option value."""
    text = without_cli(str(error))
    return plain(text[:1].upper() + text[1:], ERROR_TEXT_MAX)  # a sentence of its own in the reply


def rebuild_running_message(started_by: str | None, started_at: float | None) -> str:
    who = f" by {plain(started_by, 100)}" if started_by else ""
    when = f", started <t:{int(started_at)}:R>" if started_at else ""
    return f"A rebuild is already running{who}{when}. Try again when it has finished."


ERROR_TEXT_MAX = 400  # an error's own text can echo what the user typed (up to 6000 characters)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def send_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Reply privately whatever state the interaction is in.

    A deferred command's "thinking…" placeholder may be public, and the first follow-up would take its place
    and its visibility: unless it already holds the command's answer, delete it first."""
    text = _clip(text, CONTENT_MAX)
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
            return
        if interaction.response.type is discord.InteractionResponseType.deferred_channel_message and not has_answer(
            interaction
        ):
            try:
                await interaction.delete_original_response()
            except discord.HTTPException:
                pass
        await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not send an error reply for interaction %s", interaction.id, exc_info=True)


async def report_unexpected(interaction: discord.Interaction, error: BaseException, where: str) -> str:
    ref = new_reference()
    original = getattr(error, "original", error)
    log.error(
        "unexpected error [ref %s] in %s (user %s, interaction %s)",
        ref,
        where,
        getattr(interaction.user, "id", None),
        interaction.id,
        exc_info=(type(original), original, original.__traceback__),
    )
    await send_ephemeral(
        interaction,
        f"Something went wrong on our side (reference `{ref}`). "
        "Please try again; if it keeps happening, give the reference to the bot's operator.",
    )
    return ref


async def handle_app_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    command = interaction.command.qualified_name if interaction.command else "?"
    message = user_message(error)
    if message is None:
        await report_unexpected(interaction, error, f"/{command}")
        return
    if isinstance(error, NotAdmin):
        log.warning(
            "refused /%s to non-admin %s (%s) in guild %s",
            command,
            interaction.user,
            getattr(interaction.user, "id", None),
            interaction.guild_id,
        )
    else:
        log.info("/%s: user error for %s: %s", command, getattr(interaction.user, "id", None), message)
    await send_ephemeral(interaction, message)
