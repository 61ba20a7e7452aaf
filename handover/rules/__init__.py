"""The rules engine: the YAML format ops edit, its loader, matching, and the bot turn."""
