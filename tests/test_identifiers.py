from __future__ import annotations

import hashlib
import math
import random
import re

import numpy as np
import pytest

from tuner.names import (
    DIRECTIONS,
    KNOB_NAMES,
    METRIC_NAMES,
    RISK_PROFILES,
    STUDY_NAME_RE,
    candidate_id,
    format_knob_value,
    trial_dir_name,
    validate_study_name,
)

BALANCED_DEFAULTS = {
    "PARAPHINA_RISK_PROFILE": "balanced",
    "PARAPHINA_HEDGE_BAND_BASE": "0.05",
    "PARAPHINA_MM_SIZE_ETA": "1.0",
    "PARAPHINA_VOL_REF": "0.1",
    "PARAPHINA_DAILY_LOSS_LIMIT": "1000.0",
    "PARAPHINA_INIT_Q_TAO": "0.0",
    "PARAPHINA_HEDGE_MAX_STEP": "10.0",
}


def test_the_seven_knobs_in_their_fixed_order():
    assert KNOB_NAMES == (
        "PARAPHINA_RISK_PROFILE",
        "PARAPHINA_HEDGE_BAND_BASE",
        "PARAPHINA_MM_SIZE_ETA",
        "PARAPHINA_VOL_REF",
        "PARAPHINA_DAILY_LOSS_LIMIT",
        "PARAPHINA_INIT_Q_TAO",
        "PARAPHINA_HEDGE_MAX_STEP",
    )


def test_objectives_and_their_directions():
    assert METRIC_NAMES == ("pnl_mean", "kill_ucb", "dd_cvar")
    assert DIRECTIONS == ("maximize", "minimize", "minimize")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("PARAPHINA_HEDGE_BAND_BASE", 0.05, "0.05"),
        ("PARAPHINA_DAILY_LOSS_LIMIT", 1000, "1000.0"),
        ("PARAPHINA_DAILY_LOSS_LIMIT", 1000.0, "1000.0"),
        ("PARAPHINA_INIT_Q_TAO", -12.5, "-12.5"),
        ("PARAPHINA_INIT_Q_TAO", -0.0, "-0.0"),
        ("PARAPHINA_VOL_REF", 0.1 + 0.2, "0.30000000000000004"),
        ("PARAPHINA_MM_SIZE_ETA", 1e-7, "1e-07"),
        ("PARAPHINA_MM_SIZE_ETA", np.float64(1.25), "1.25"),
        ("PARAPHINA_HEDGE_MAX_STEP", np.int64(7), "7.0"),
        ("PARAPHINA_RISK_PROFILE", "balanced", "balanced"),
        ("PARAPHINA_RISK_PROFILE", "AGGRESSIVE", "aggressive"),
        ("PARAPHINA_RISK_PROFILE", "Conservative", "conservative"),
    ],
)
def test_format_knob_value_writes_floats_as_python_str_and_profiles_in_lower_case(
    name, value, expected
):
    assert format_knob_value(name, value) == expected


def test_format_knob_value_round_trips_every_float():
    rng = random.Random(3)
    for _ in range(1000):
        value = rng.uniform(-1e6, 1e6) * 10 ** rng.randint(-10, 10)
        assert float(format_knob_value("PARAPHINA_INIT_Q_TAO", value)) == value


@pytest.mark.parametrize(
    ("name", "value", "error", "match"),
    [
        ("PARAPHINA_UNKNOWN", 1.0, ValueError, "unknown knob 'PARAPHINA_UNKNOWN'"),
        (
            "PARAPHINA_RISK_PROFILE",
            "bal",
            ValueError,
            "expected one of conservative, balanced, aggressive",
        ),
        ("PARAPHINA_RISK_PROFILE", "reckless", ValueError, "'reckless' is not a profile"),
        ("PARAPHINA_RISK_PROFILE", 1, TypeError, "must be a string"),
        ("PARAPHINA_VOL_REF", math.nan, ValueError, "finite"),
        ("PARAPHINA_VOL_REF", math.inf, ValueError, "finite"),
        ("PARAPHINA_VOL_REF", True, TypeError, "must be a number"),
        ("PARAPHINA_VOL_REF", "0.1", TypeError, "must be a number"),
        ("PARAPHINA_VOL_REF", None, TypeError, "must be a number"),
    ],
)
def test_format_knob_value_refuses_what_the_simulator_would_not_read(name, value, error, match):
    with pytest.raises(error, match=re.escape(match)):
        format_knob_value(name, value)


def test_candidate_id_is_the_sha256_prefix_of_the_sorted_overlay():
    joined = (
        "PARAPHINA_DAILY_LOSS_LIMIT=1000.0_PARAPHINA_HEDGE_BAND_BASE=0.05_PARAPHINA_HEDGE_MAX_STEP=10.0"
        "_PARAPHINA_INIT_Q_TAO=0.0_PARAPHINA_MM_SIZE_ETA=1.0_PARAPHINA_RISK_PROFILE=balanced"
        "_PARAPHINA_VOL_REF=0.1"
    )
    assert candidate_id(BALANCED_DEFAULTS) == hashlib.sha256(joined.encode()).hexdigest()[:12]


def test_candidate_id_of_the_balanced_defaults_is_pinned():
    # Pinned so that another implementation (or a refactor) can check it derives the same id.
    assert candidate_id(BALANCED_DEFAULTS) == "32e85f442adb"


def test_candidate_id_does_not_depend_on_key_order():
    items = list(BALANCED_DEFAULTS.items())
    rng = random.Random(5)
    for _ in range(20):
        rng.shuffle(items)
        assert candidate_id(dict(items)) == "32e85f442adb"


def test_candidate_id_is_12_lower_case_hex_and_changes_with_any_value():
    ids = {candidate_id(BALANCED_DEFAULTS)}
    for name in KNOB_NAMES:
        changed = dict(BALANCED_DEFAULTS)
        changed[name] = "conservative" if name == "PARAPHINA_RISK_PROFILE" else changed[name] + "1"
        ids.add(candidate_id(changed))
    assert len(ids) == 1 + len(KNOB_NAMES)
    assert all(re.fullmatch(r"[0-9a-f]{12}", value) for value in ids)


def test_candidate_id_of_formatted_values_is_the_same_for_int_and_float_inputs():
    as_ints = {name: format_knob_value(name, 1000) for name in KNOB_NAMES[1:]}
    as_floats = {name: format_knob_value(name, 1000.0) for name in KNOB_NAMES[1:]}
    assert candidate_id(as_ints) == candidate_id(as_floats)


def test_candidate_id_refuses_unformatted_values():
    with pytest.raises(TypeError, match="strings"):
        candidate_id({"PARAPHINA_VOL_REF": 0.1})


@pytest.mark.parametrize(
    "name",
    ["research_v1", "a", "A.b-c_9", "phaseA.2026-01-01", "x" * 128, "-dash", ".hidden", "a..b"],
)
def test_acceptable_study_names_are_returned_unchanged(name):
    assert validate_study_name(name) == name
    assert STUDY_NAME_RE.fullmatch(name)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "study name is empty"),
        (".", "made of dots only"),
        ("..", "made of dots only"),
        ("...", "made of dots only"),
        ("../etc", "contains '/'"),
        ("a/b", "contains '/'"),
        ("a\\b", "contains '\\\\'"),
        ("my study", "contains ' '"),
        ("naïve", "contains 'ï'"),
        ("name\n", "contains '\\n'"),
        ("a;rm -rf", "contains ';'"),
        ("x" * 129, "has 129 characters"),
        (None, "is not a string"),
        (42, "is not a string"),
    ],
)
def test_unacceptable_study_names_raise_input_error_saying_what_is_accepted(
    input_error, name, fragment
):
    input_error(lambda: validate_study_name(name), "study name", fragment, "A-Z a-z 0-9 _ . -")


def test_trial_dir_name_pads_the_trial_number_to_four_digits():
    assert trial_dir_name(0, "32e85f442adb") == "trial_0000_32e85f442adb"
    assert trial_dir_name(7, "32e85f442adb") == "trial_0007_32e85f442adb"
    assert trial_dir_name(1234, "32e85f442adb") == "trial_1234_32e85f442adb"
    assert trial_dir_name(12345, "32e85f442adb") == "trial_12345_32e85f442adb"
    assert trial_dir_name(np.int64(3), "32e85f442adb") == "trial_0003_32e85f442adb"


@pytest.mark.parametrize(
    ("number", "cid", "error"),
    [
        (-1, "32e85f442adb", ValueError),
        (True, "32e85f442adb", TypeError),
        (1.0, "32e85f442adb", TypeError),
        (1, "32E85F442ADB", ValueError),
        (1, "32e85f442ad", ValueError),
        (1, "../../etc/pw", ValueError),
    ],
)
def test_trial_dir_name_refuses_what_would_make_a_bad_directory_name(number, cid, error):
    with pytest.raises(error):
        trial_dir_name(number, cid)


def test_risk_profiles_are_the_three_canonical_names():
    assert RISK_PROFILES == ("conservative", "balanced", "aggressive")
