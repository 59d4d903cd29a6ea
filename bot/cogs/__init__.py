"""One cog per slash command feature."""
