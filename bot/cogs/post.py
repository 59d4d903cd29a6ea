"""/post: one whole post, over pages when long, quoted spans marked; "Open thread" lists its thread."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from ..autocomplete import thread_choices
from ..cooldowns import member_cooldown
from ..errors import UserInputError
from ..hints import post_out_of_range
from ..lookup import find_thread
from ..replies import defer_answer
from ..screens import PostScreen
from ..views import Navigator


class PostCog(commands.Cog):
    def __init__(self, bot):
        self.bot = bot

    @app_commands.command(name="post", description="Show one whole post of a thread")
    @app_commands.describe(
        thread="The thread (pick from the suggestions, or its id or exact title)",
        number="Which post: 1 is the first post of the thread",
        private="Only you see the answer (default from the bot's config)",
    )
    @app_commands.autocomplete(thread=thread_choices)
    @member_cooldown()
    async def post(
        self,
        interaction: discord.Interaction,
        thread: str,
        number: app_commands.Range[int, 1, None],
        private: bool | None = None,
    ) -> None:
        bot = self.bot
        await defer_answer(interaction, private)
        summary = await find_thread(bot, thread)
        if number > summary.post_count:
            raise UserInputError(post_out_of_range(summary.title, summary.post_count))
        view = await bot.call(bot.service.post, summary.thread_id, number)
        screen = await PostScreen.of(bot, view)
        await Navigator(screen, owner_id=interaction.user.id).start(interaction)


async def setup(bot) -> None:
    await bot.add_cog(PostCog(bot))
