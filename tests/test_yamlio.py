from __future__ import annotations

import errno
from pathlib import Path

import pytest

from tuner.config._yaml import load_yaml_mapping


def test_a_mapping_loads_with_plain_yaml_types(write_file):
    path = write_file(
        "alpha: 0.05\ntiers:\n  balanced: {max_kill_ucb: 0.1}\nnames: [a, b]\nflag: true\n"
    )
    assert load_yaml_mapping(path, "budgets file") == {
        "alpha": 0.05,
        "tiers": {"balanced": {"max_kill_ucb": 0.1}},
        "names": ["a", "b"],
        "flag": True,
    }


def test_a_utf8_byte_order_mark_is_accepted(write_file):
    path = write_file(b"\xef\xbb\xbfa: 1\n")
    assert load_yaml_mapping(path, "budgets file") == {"a": 1}


def test_merge_keys_may_be_overridden_without_counting_as_duplicates(write_file):
    path = write_file("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\n")
    assert load_yaml_mapping(path, "f")["d"] == {"x": 3, "y": 2}


def test_chained_merges_are_not_mistaken_for_duplicate_keys(write_file):
    # PyYAML rewrites a merged mapping in place; a naive duplicate check on the
    # rewritten node would see the merged and the overriding key twice.
    text = "a: &a {x: 1}\nb: &b\n  <<: *a\n  x: 2\nc:\n  <<: *b\n  x: 5\nd: {<<: [*a, *b], z: 1}\n"
    data = load_yaml_mapping(write_file(text), "f")
    assert data["b"] == {"x": 2}
    assert data["c"]["x"] == 5
    assert data["d"]["z"] == 1


def test_a_duplicate_key_next_to_a_merge_is_refused(write_file, input_error):
    path = write_file("a: &a {x: 1}\nb: {<<: *a, y: 1, y: 2}\n")
    input_error(lambda: load_yaml_mapping(path, "f"), "line 2", "duplicate key 'y'")


def test_every_message_starts_with_what_and_the_path(write_file, input_error):
    path = write_file("- 1\n")
    message = input_error(lambda: load_yaml_mapping(path, "search space file"))
    assert message.startswith(f"search space file {path}: ")


def test_missing_file_is_named(tmp_path: Path, input_error):
    path = tmp_path / "nope.yaml"
    input_error(lambda: load_yaml_mapping(path, "budgets file"), str(path), "file not found")


def test_a_directory_is_refused(tmp_path: Path, input_error):
    input_error(
        lambda: load_yaml_mapping(tmp_path, "budgets file"), str(tmp_path), "is a directory"
    )


def test_permission_denied_is_reported(write_file, monkeypatch, input_error):
    # Tests may run as root, where chmod 000 does not stop a read; simulate the OS answer.
    path = write_file("a: 1\n")

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(Path, "open", denied)
    input_error(lambda: load_yaml_mapping(path, "budgets file"), str(path), "permission denied")


def test_other_read_errors_are_reported_with_their_reason(write_file, monkeypatch, input_error):
    path = write_file("a: 1\n")

    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(Path, "open", broken)
    input_error(
        lambda: load_yaml_mapping(path, "budgets file"),
        str(path),
        "cannot be read",
        "Input/output error",
    )


@pytest.mark.parametrize(
    "content", ["", "   \n\n", "\t\n"], ids=["zero bytes", "blank lines", "whitespace"]
)
def test_an_empty_file_is_refused(write_file, input_error, content):
    path = write_file(content)
    input_error(lambda: load_yaml_mapping(path, "budgets file"), str(path), "file is empty")


@pytest.mark.parametrize("content", ["# only a comment\n", "null\n", "~\n", "---\n"])
def test_a_file_without_data_is_refused(write_file, input_error, content):
    path = write_file(content)
    input_error(lambda: load_yaml_mapping(path, "budgets file"), str(path), "no data")


def test_binary_garbage_is_refused(write_file, input_error):
    path = write_file(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    input_error(lambda: load_yaml_mapping(path, "budgets file"), str(path), "binary data")


def test_undecodable_bytes_are_refused_with_their_line(write_file, input_error):
    path = write_file(b"a: 1\nb: caf\xe9\n")
    input_error(
        lambda: load_yaml_mapping(path, "budgets file"),
        str(path),
        "line 2",
        "0xe9",
        "not valid UTF-8",
    )


def test_control_characters_are_refused_with_their_line(write_file, input_error):
    path = write_file("a: 1\nb: x\x07y\n")
    input_error(lambda: load_yaml_mapping(path, "budgets file"), "line 2", "U+0007")


def test_a_file_over_4_mib_is_refused(write_file, input_error):
    path = write_file("a: 1\n" + "#" * (4 * 1024 * 1024))
    input_error(lambda: load_yaml_mapping(path, "budgets file"), str(path), "larger than 4 MiB")


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("a:\n\tb: 1\n", "line 2, column 1"),
        ("a: 1\nb:\n  c: 2\n\t d: 3\n", "line 4, column 1"),
        ("a:\tb\n", "line 1, column 3"),
    ],
    ids=["tab indent", "tab in nested block", "tab after colon"],
)
def test_tabs_are_refused_with_their_line(write_file, input_error, content, line):
    path = write_file(content)
    input_error(
        lambda: load_yaml_mapping(path, "budgets file"), str(path), line, "tab character", "spaces"
    )


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("a: [1, 2\n", ("line 2", "invalid YAML", "flow sequence at line 1")),
        ("a: 1\n b: 2\n", ("line 2, column 3", "mapping values are not allowed")),
        ("a: 'open\n", ("invalid YAML", "quoted scalar")),
        ("a: {b: 1\nc: 2\n", ("invalid YAML",)),
        ("a: *nowhere\n", ("line 1", "undefined alias")),
    ],
    ids=[
        "unclosed list",
        "bad indentation",
        "unclosed quote",
        "unclosed mapping",
        "undefined alias",
    ],
)
def test_syntax_errors_name_the_line(write_file, input_error, content, fragments):
    path = write_file(content)
    input_error(lambda: load_yaml_mapping(path, "budgets file"), str(path), *fragments)


def test_a_second_document_is_refused(write_file, input_error):
    path = write_file("a: 1\n---\nb: 2\n")
    input_error(lambda: load_yaml_mapping(path, "budgets file"), "line 2", "second YAML document")


def test_a_duplicate_top_level_key_names_both_lines(write_file, input_error):
    path = write_file("alpha: 0.05\ntiers: {}\nalpha: 0.1\n")
    input_error(
        lambda: load_yaml_mapping(path, "budgets file"),
        str(path),
        "line 3",
        "duplicate key 'alpha'",
        "first defined at line 1",
    )


def test_a_duplicate_nested_key_is_refused(write_file, input_error):
    path = write_file("tiers:\n  balanced:\n    max_kill_ucb: 0.1\n    max_kill_ucb: 0.2\n")
    input_error(
        lambda: load_yaml_mapping(path, "budgets file"),
        "line 4",
        "duplicate key 'max_kill_ucb'",
        "line 3",
    )


def test_a_duplicate_key_in_a_flow_mapping_is_refused(write_file, input_error):
    path = write_file("knob: {low: 1, high: 2, low: 3}\n")
    input_error(lambda: load_yaml_mapping(path, "f"), "line 1", "duplicate key 'low'")


def test_a_duplicate_key_inside_a_list_item_is_refused(write_file, input_error):
    path = write_file("items:\n  - a: 1\n    a: 2\n")
    input_error(lambda: load_yaml_mapping(path, "f"), "line 3", "duplicate key 'a'")


def test_equal_keys_in_different_mappings_are_fine(write_file):
    path = write_file("x: {a: 1}\ny: {a: 2}\n")
    assert load_yaml_mapping(path, "f") == {"x": {"a": 1}, "y": {"a": 2}}


@pytest.mark.parametrize(
    ("content", "kind"),
    [("- a\n- b\n", "list"), ("just text\n", "string"), ("42\n", "number"), ("true\n", "boolean")],
)
def test_a_top_level_that_is_not_a_mapping_is_refused(write_file, input_error, content, kind):
    path = write_file(content)
    input_error(
        lambda: load_yaml_mapping(path, "budgets file"),
        str(path),
        f"top level is a {kind}",
        "mapping",
    )


def test_python_object_tags_are_never_constructed(write_file, input_error):
    path = write_file("a: !!python/object/apply:os.system ['echo hacked']\n")
    input_error(lambda: load_yaml_mapping(path, "budgets file"), "line 1", "only plain YAML values")


def test_absurd_nesting_is_refused_not_crashed(write_file, input_error):
    path = write_file("a: " + "[" * 5000 + "]" * 5000 + "\n")
    input_error(lambda: load_yaml_mapping(path, "budgets file"), str(path), "nested too deeply")
