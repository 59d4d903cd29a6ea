"""Who may run admin commands, checked when the command runs.

``default_permissions`` only hides a command in the client, and server admins can
override it, so every admin command also calls :func:`admin_only` at run time:
configured admin user ids and role ids when any are set, else Manage Server.
"""

from __future__ import annotations

import discord
from discord import app_commands

from .errors import NotAdmin


def is_admin(interaction: discord.Interaction, bot_settings) -> bool:
    user = interaction.user
    users = set(getattr(bot_settings, "admin_user_ids", ()) or ())
    roles = set(getattr(bot_settings, "admin_role_ids", ()) or ())
    if user.id in users:
        return True
    member_roles = {r.id for r in getattr(user, "roles", [])} | set(getattr(user, "_roles", []) or [])
    if roles & member_roles:
        return True
    if users or roles:  # an explicit list replaces the default
        return False
    return interaction.guild_id is not None and interaction.permissions.manage_guild


def admin_only():
    """An app_commands check: raises NotAdmin (→ an ephemeral, logged refusal) for anyone else."""

    async def predicate(interaction: discord.Interaction) -> bool:
        if is_admin(interaction, interaction.client.settings.bot):
            return True
        raise NotAdmin(interaction.command.name if interaction.command else "?")

    return app_commands.check(predicate)
