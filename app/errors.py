"""What a command can say went wrong with its input, in one line for the person who typed it."""

from __future__ import annotations


class CommandError(Exception):
    """Wrong input or a missing prerequisite: `handover` prints `handover: <message>` and exits 2."""


class UsageError(CommandError):
    """The words of the command line are off; the message starts with the command's name."""
