"""A command's reply: the "thinking…" placeholder, the answer that replaces it, and error replies around them.

An error reply is always private. Before the command has answered, its placeholder may be public and the
first follow-up would inherit that, so the placeholder is deleted first; once an answer is shown, it stays.
"""

from __future__ import annotations

import discord
import pytest
from discord import app_commands
from transport import FakeResponse, Sent

from bot.errors import UserInputError, user_message
from bot.replies import answer, defer_answer
from embeddings import IndexDamagedError, IndexMismatchError, NotFoundError, UsageError


def _deleted_placeholder(reply) -> bool:
    return any(s.method == "DELETE" and s.path.endswith("/messages/@original") for s in reply.sent)


def _add_command(bot, name: str, body) -> None:
    """A test-only slash command running `body(interaction)`."""

    @app_commands.command(name=name, description="test only")
    async def command(interaction: discord.Interaction) -> None:
        await body(interaction)

    bot.tree.add_command(command)


async def test_user_error_before_the_answer_replaces_the_public_placeholder(discord_sample, sample_service):
    thread = sample_service.threads()[0]
    reply = await discord_sample.command("post", thread=thread.thread_id, number=99, private=False)
    assert reply.sent[0].callback_type == 5 and not reply.sent[0].ephemeral  # a public placeholder
    assert _deleted_placeholder(reply)
    [followup] = reply.followups()
    assert followup.ephemeral and "1 to" in followup.data["content"]
    assert reply.ephemeral and reply.message["content"] == followup.data["content"]


async def test_user_error_after_the_answer_leaves_the_answer_alone(discord_sample):
    async def late_mistake(interaction: discord.Interaction) -> None:
        await defer_answer(interaction, private=False)
        await answer(interaction, content="The answer.")
        raise UserInputError("A mistake noticed after answering.")

    _add_command(discord_sample.bot, "late-mistake", late_mistake)
    reply = await discord_sample.command("late-mistake")
    assert not _deleted_placeholder(reply)
    assert reply.message["content"] == "The answer." and not reply.ephemeral
    [followup] = reply.followups()
    assert followup.ephemeral and followup.data["content"] == "A mistake noticed after answering."


async def test_an_answer_discord_refused_does_not_count_as_answered(discord_sample):
    transport = discord_sample.transport
    real = transport.webhook

    def refuse_edits(method, path, payload, params):
        if method == "PATCH" and path.endswith("/messages/@original"):
            transport.sent.append(Sent(method, path, payload, params))
            raise discord.HTTPException(FakeResponse(400, "Bad Request"), {"code": 50035, "message": "refused"})
        return real(method, path, payload, params)

    transport.webhook = refuse_edits
    reply = await discord_sample.command("stats")
    assert _deleted_placeholder(reply)
    [followup] = reply.followups()
    assert followup.ephemeral and "reference" in followup.data["content"]
    assert reply.ephemeral and not reply.embeds


@pytest.mark.parametrize(
    "error, said",
    [
        (
            NotFoundError("no thread 'x': `threadbot threads` or /threads lists them"),
            "No thread 'x'. Pick from the suggestions",
        ),
        (IndexDamagedError("vectors.faiss is truncated"), "The index is damaged. An admin can build a new one"),
        (IndexMismatchError("format 2: rebuild it with `threadbot index --replace <sources>`"), "another model"),
        (
            UsageError(
                "gone: /x. Put it back, or drop them with `threadbot index --prune` (/reindex prune) or "
                "`threadbot remove PATH`; the index is unchanged"
            ),  # fmt: skip
            "Gone: /x. Put it back, or drop them with /reindex prune; the index is unchanged",
        ),
    ],
)
def test_no_reply_names_a_command_line_command(error, said):
    text = user_message(error)
    assert said in text and "threadbot" not in text
