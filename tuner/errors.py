"""The one exception type for mistakes a user can fix.

Command-line entry points catch :class:`InputError`, print ``error: <message>`` and
exit with status 2. Anything else that escapes is a defect in the program, and its
traceback is worth seeing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["InputError", "StorageFailed", "show_value"]

# Long enough for a path or a short list, short enough that one message stays one line
# on a terminal when a user pastes something huge into a config file.
_MAX_SHOWN = 80


class InputError(Exception):
    """A mistake in what the user gave us: a file, a key, a value, a name.

    ``str(error)`` is always exactly one line: it names the file or argument, the key,
    the offending value and what would be accepted. Line breaks in the message are
    replaced by spaces so that ``error: <message>`` stays a single line of output.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).splitlines()))

    def __str__(self) -> str:
        return str(self.args[0])


class StorageFailed(OSError):
    """The study's database failed under a command (a lost server, a refused read or
    write), told in one line that says what was kept; the commands exit with status 1."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).splitlines()))

    def __str__(self) -> str:
        return str(self.args[0])


def show_value(value: Any) -> str:
    """Render ``value`` for an error message: its ``repr``, on one line, at most 80 characters.

    ``repr`` makes the difference between ``'1'`` and ``1`` visible, and escapes control
    characters (a tab shows as ``\\t``); the result never contains a line break.
    """
    text = " ".join(repr(value).splitlines())
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return text
