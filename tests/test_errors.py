from __future__ import annotations

from tuner.errors import InputError, show_value


def test_input_error_message_is_one_line_even_when_built_from_several():
    error = InputError("budgets file b.yaml: alpha:\nvalue 2 is outside (0, 1)")
    assert str(error) == "budgets file b.yaml: alpha: value 2 is outside (0, 1)"


def test_input_error_is_an_exception_with_its_message_as_str():
    error = InputError("study name '' is empty")
    assert isinstance(error, Exception)
    assert str(error) == "study name '' is empty"


def test_show_value_distinguishes_text_from_numbers():
    assert show_value("1") == "'1'"
    assert show_value(1) == "1"


def test_show_value_escapes_line_breaks_and_tabs():
    shown = show_value("a\nb\tc")
    assert "\n" not in shown and "\t" not in shown
    assert shown == "'a\\nb\\tc'"


def test_show_value_truncates_long_values_to_80_characters():
    shown = show_value("x" * 500)
    assert len(shown) == 80
    assert shown.endswith("...")


def test_show_value_of_an_object_with_a_multiline_repr_is_one_line():
    class Multi:
        def __repr__(self) -> str:
            return "first\nsecond"

    assert show_value(Multi()) == "first second"
