"""Safe, strict loading of the YAML configuration files (budgets, search space).

Every way a config file can be wrong becomes an :class:`~tuner.errors.InputError`
whose one-line message names the file and, where YAML gives one, the line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from tuner.errors import InputError, show_value

__all__ = ["load_yaml_mapping"]

# Config files are a few hundred bytes; the cap only stops someone who points
# --budgets at a database or a log from waiting for it to be read into memory.
_MAX_BYTES = 4 * 1024 * 1024

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that rejects a key repeated within one mapping.

    PyYAML keeps the last of two equal keys without a word, so a budgets file that sets
    ``max_kill_ucb`` twice would silently lose the first value.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._checked_nodes: set[int] = set()

    def flatten_mapping(self, node: MappingNode) -> None:
        # The base class resolves `<<` merges here by rewriting node.value in place, and
        # calls this again for every mapping merged into another one. Checking each node
        # once, on its first visit, sees the keys as written (merged keys may override).
        if id(node) not in self._checked_nodes:
            self._checked_nodes.add(id(node))
            self._reject_duplicate_keys(node)
        super().flatten_mapping(node)

    def _reject_duplicate_keys(self, node: MappingNode) -> None:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                seen = first_line.get(key)
            except TypeError:
                continue  # unhashable key: the base class reports it
            if seen is not None:
                raise ConstructorError(
                    None,
                    None,
                    f"duplicate key {show_value(key)} (first defined at line {seen}); "
                    "each key may appear once per mapping",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1


def load_yaml_mapping(path: str | os.PathLike[str], what: str) -> dict[Any, Any]:
    """Read the YAML file at ``path`` and return its top-level mapping.

    ``what`` describes the file for messages, e.g. ``"budgets file"``; every message
    starts with ``"<what> <path>: "``.

    Promises: the result is a ``dict`` built only from plain YAML types (no Python
    objects are ever constructed), with no key repeated in any mapping of the file.
    Raises :class:`InputError` when the file is missing, a directory, unreadable,
    empty, binary or not UTF-8, larger than 4 MiB, not valid YAML (the message gives
    the line and column, and says so when a tab was used for indentation), holds more
    than one document, repeats a key (with both lines), or when its top level is not
    a mapping.
    """
    where = f"{what} {os.fspath(path)}"
    text = _read_text(Path(path), where)
    if not text.strip():
        raise InputError(f"{where}: file is empty; expected a YAML mapping of keys to values")
    try:
        data = yaml.load(text, Loader=_StrictSafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise InputError(f"{where}: {_describe_marked_error(exc, text)}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise InputError(
            f"{where}: line {line}: control character U+{_code_point(exc.character):04X} is not "
            "allowed in YAML; expected printable text"
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: invalid YAML: {_one_line(str(exc))}") from None
    except RecursionError:
        raise InputError(f"{where}: YAML nested too deeply to be a configuration file") from None
    if data is None:
        raise InputError(
            f"{where}: file holds no data (only comments or null); expected a YAML mapping"
        )
    if not isinstance(data, dict):
        raise InputError(
            f"{where}: top level is a {_yaml_kind(data)}, not a mapping; "
            "expected 'key: value' lines at the top level"
        )
    return data


def _read_text(path: Path, where: str) -> str:
    if path.is_dir():
        raise InputError(f"{where}: is a directory; expected a YAML file")
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{where}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{where}: is a directory; expected a YAML file") from None
    except PermissionError:
        raise InputError(f"{where}: cannot be read (permission denied)") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > _MAX_BYTES:
        raise InputError(
            f"{where}: larger than {_MAX_BYTES // (1024 * 1024)} MiB; not a configuration file"
        )
    if b"\x00" in raw:
        raise InputError(f"{where}: binary data (NUL bytes); expected a UTF-8 YAML text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.start + 1].hex()
        raise InputError(
            f"{where}: line {line}: byte 0x{bad} is not valid UTF-8; "
            "expected a UTF-8 YAML text file"
        ) from None


def _describe_marked_error(exc: yaml.MarkedYAMLError, text: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
        return f"{at}tab character where YAML expects spaces; indent and separate with spaces only"
    if isinstance(exc, yaml.composer.ComposerError) and "single document" in (exc.context or ""):
        return f"{at}a second YAML document starts here; expected exactly one document"
    problem = _one_line(exc.problem or "not valid")
    if isinstance(exc, ConstructorError):
        if exc.problem and "constructor for the tag" in exc.problem:
            problem += "; only plain YAML values are accepted"
        return f"{at}{problem}"
    context = ""
    if exc.context:
        context = f" ({_one_line(exc.context)}"
        if exc.context_mark is not None and exc.context_mark is not mark:
            context += f" at line {exc.context_mark.line + 1}"
        context += ")"
    return f"{at}invalid YAML: {problem}{context}"


def _yaml_kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _code_point(character: int | str) -> int:
    return character if isinstance(character, int) else ord(character)


def _one_line(text: str) -> str:
    return " ".join(text.split())
