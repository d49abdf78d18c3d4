from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import optuna
import pytest
import yaml
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from tuner.names import KNOB_NAMES
from tuner.config.search_space import Knob, SearchSpace, load_search_space

BASE: dict[str, Any] = {
    "version": 1,
    "knobs": {
        "PARAPHINA_RISK_PROFILE": {
            "type": "categorical",
            "choices": ["conservative", "balanced", "aggressive"],
        },
        "PARAPHINA_HEDGE_BAND_BASE": {"type": "float", "low": 0.02, "high": 0.15},
        "PARAPHINA_MM_SIZE_ETA": {"type": "float", "low": 0.5, "high": 2.0},
        "PARAPHINA_VOL_REF": {"type": "float", "low": 0.05, "high": 0.15},
        "PARAPHINA_DAILY_LOSS_LIMIT": {"type": "float", "low": 500.0, "high": 3000.0},
        "PARAPHINA_INIT_Q_TAO": {"type": "float", "low": -30.0, "high": 30.0},
        "PARAPHINA_HEDGE_MAX_STEP": {"type": "float", "low": 5.0, "high": 20.0},
    },
}


def _space_file(write_file, change: Callable[[dict[str, Any]], None] | None = None):
    data = copy.deepcopy(BASE)
    if change is not None:
        change(data)
    return write_file(yaml.safe_dump(data, sort_keys=False), "search_space.yaml")


def _knob(data: dict[str, Any], name: str) -> dict[str, Any]:
    return data["knobs"][name]


def _defaults() -> dict[str, Any]:
    """Sampled params of the balanced defaults."""
    return {
        "PARAPHINA_RISK_PROFILE": "balanced",
        "PARAPHINA_HEDGE_BAND_BASE": 0.05,
        "PARAPHINA_MM_SIZE_ETA": 1.0,
        "PARAPHINA_VOL_REF": 0.1,
        "PARAPHINA_DAILY_LOSS_LIMIT": 1000.0,
        "PARAPHINA_INIT_Q_TAO": 0.0,
        "PARAPHINA_HEDGE_MAX_STEP": 10.0,
    }


@pytest.fixture
def quiet_optuna():
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(level)


def test_shipped_search_space_loads_with_the_specified_ranges(repo_root):
    space = load_search_space(repo_root / "configs" / "search_space.yaml")
    assert space.distributions() == {
        "PARAPHINA_RISK_PROFILE": CategoricalDistribution(
            ("conservative", "balanced", "aggressive")
        ),
        "PARAPHINA_HEDGE_BAND_BASE": FloatDistribution(0.02, 0.15),
        "PARAPHINA_MM_SIZE_ETA": FloatDistribution(0.5, 2.0),
        "PARAPHINA_VOL_REF": FloatDistribution(0.05, 0.15),
        "PARAPHINA_DAILY_LOSS_LIMIT": FloatDistribution(500.0, 3000.0),
        "PARAPHINA_INIT_Q_TAO": FloatDistribution(-30.0, 30.0),
        "PARAPHINA_HEDGE_MAX_STEP": FloatDistribution(5.0, 20.0),
    }
    assert tuple(space.distributions()) == KNOB_NAMES


def test_ranges_give_bounds_for_numeric_knobs_and_choices_for_the_profile(repo_root):
    ranges = load_search_space(repo_root / "configs" / "search_space.yaml").ranges()
    assert tuple(ranges) == KNOB_NAMES
    assert ranges["PARAPHINA_RISK_PROFILE"] == ("conservative", "balanced", "aggressive")
    assert ranges["PARAPHINA_DAILY_LOSS_LIMIT"] == (500.0, 3000.0)
    assert ranges["PARAPHINA_INIT_Q_TAO"] == (-30.0, 30.0)


def test_knobs_come_out_in_knob_order_whatever_the_file_order(write_file):
    def reverse(data):
        data["knobs"] = dict(reversed(list(data["knobs"].items())))

    space = load_search_space(_space_file(write_file, reverse))
    assert tuple(knob.name for knob in space.knobs) == KNOB_NAMES


def test_step_log_and_int_knobs_become_the_matching_distributions(write_file):
    def variants(data):
        data["knobs"]["PARAPHINA_DAILY_LOSS_LIMIT"] = {
            "type": "float",
            "low": 500,
            "high": 3000,
            "step": 100,
        }
        data["knobs"]["PARAPHINA_MM_SIZE_ETA"] = {
            "type": "float",
            "low": 0.5,
            "high": 2.0,
            "log": True,
        }
        data["knobs"]["PARAPHINA_HEDGE_MAX_STEP"] = {"type": "int", "low": 5, "high": 20, "step": 5}
        data["knobs"]["PARAPHINA_HEDGE_BAND_BASE"] = {
            "type": "float",
            "low": 0.02,
            "high": 0.15,
            "step": 0.01,
        }
        data["knobs"]["PARAPHINA_VOL_REF"] = {"type": "categorical", "choices": [0.05, 0.1, 0.15]}

    dists = load_search_space(_space_file(write_file, variants)).distributions()
    assert dists["PARAPHINA_DAILY_LOSS_LIMIT"] == FloatDistribution(500.0, 3000.0, step=100.0)
    assert dists["PARAPHINA_MM_SIZE_ETA"] == FloatDistribution(0.5, 2.0, log=True)
    assert dists["PARAPHINA_HEDGE_MAX_STEP"] == IntDistribution(5, 20, step=5)
    assert dists["PARAPHINA_HEDGE_BAND_BASE"] == FloatDistribution(0.02, 0.15, step=0.01)
    assert dists["PARAPHINA_VOL_REF"] == CategoricalDistribution((0.05, 0.1, 0.15))


def test_log_false_with_a_step_is_allowed(write_file):
    def change(data):
        _knob(data, "PARAPHINA_MM_SIZE_ETA").update(log=False, step=0.5)

    assert load_search_space(_space_file(write_file, change)).distributions()[
        "PARAPHINA_MM_SIZE_ETA"
    ] == (FloatDistribution(0.5, 2.0, step=0.5))


def test_suggest_samples_every_knob_inside_its_distribution(repo_root, quiet_optuna):
    space = load_search_space(repo_root / "configs" / "search_space.yaml")
    study = optuna.create_study(
        directions=["maximize", "minimize", "minimize"],
        sampler=optuna.samplers.NSGAIISampler(seed=42),
    )
    for _ in range(30):
        trial = study.ask()
        params = space.suggest(trial)
        assert tuple(params) == KNOB_NAMES
        assert trial.distributions == space.distributions()
        for name, value in params.items():
            dist = space.distributions()[name]
            assert dist._contains(dist.to_internal_repr(value))
        study.tell(trial, [0.0, 0.0, 0.0])


def test_suggest_is_reproducible_with_a_seeded_sampler(repo_root, quiet_optuna):
    space = load_search_space(repo_root / "configs" / "search_space.yaml")

    def sample() -> list[dict[str, Any]]:
        study = optuna.create_study(
            directions=["maximize"], sampler=optuna.samplers.RandomSampler(seed=7)
        )
        out = []
        for _ in range(5):
            trial = study.ask()
            out.append(space.suggest(trial))
            study.tell(trial, 0.0)
        return out

    assert sample() == sample()


def test_suggest_through_a_fixed_trial_returns_the_fixed_values(repo_root):
    space = load_search_space(repo_root / "configs" / "search_space.yaml")
    fixed = _defaults()
    assert space.suggest(optuna.trial.FixedTrial(fixed)) == fixed


def test_int_knobs_are_suggested_as_ints_and_written_as_floats(write_file):
    def change(data):
        data["knobs"]["PARAPHINA_HEDGE_MAX_STEP"] = {"type": "int", "low": 5, "high": 20}

    space = load_search_space(_space_file(write_file, change))
    params = space.suggest(optuna.trial.FixedTrial({**_defaults(), "PARAPHINA_HEDGE_MAX_STEP": 7}))
    assert params["PARAPHINA_HEDGE_MAX_STEP"] == 7
    assert space.overlay(params)["PARAPHINA_HEDGE_MAX_STEP"] == "7.0"


def test_overlay_formats_every_knob_in_knob_order(repo_root):
    space = load_search_space(repo_root / "configs" / "search_space.yaml")
    params = {
        **_defaults(),
        "PARAPHINA_RISK_PROFILE": "Balanced",
        "PARAPHINA_DAILY_LOSS_LIMIT": 1000,
    }
    params = dict(reversed(list(params.items())))
    assert space.overlay(params) == {
        "PARAPHINA_RISK_PROFILE": "balanced",
        "PARAPHINA_HEDGE_BAND_BASE": "0.05",
        "PARAPHINA_MM_SIZE_ETA": "1.0",
        "PARAPHINA_VOL_REF": "0.1",
        "PARAPHINA_DAILY_LOSS_LIMIT": "1000.0",
        "PARAPHINA_INIT_Q_TAO": "0.0",
        "PARAPHINA_HEDGE_MAX_STEP": "10.0",
    }
    assert tuple(space.overlay(params)) == KNOB_NAMES


def test_overlay_refuses_missing_or_extra_params(repo_root):
    space = load_search_space(repo_root / "configs" / "search_space.yaml")
    params = _defaults()
    del params["PARAPHINA_VOL_REF"]
    with pytest.raises(ValueError, match="missing \\['PARAPHINA_VOL_REF'\\]"):
        space.overlay(params)
    with pytest.raises(ValueError, match="unexpected \\['PARAPHINA_EXTRA'\\]"):
        space.overlay({**_defaults(), "PARAPHINA_EXTRA": 1.0})


def test_a_search_space_holds_exactly_the_seven_knobs_in_order():
    knobs = tuple(Knob(name, "float", low=0.0, high=1.0) for name in KNOB_NAMES)
    SearchSpace(knobs)
    with pytest.raises(ValueError, match="exactly"):
        SearchSpace(knobs[1:])
    with pytest.raises(ValueError, match="exactly"):
        SearchSpace(tuple(reversed(knobs)))


def test_accepted_files_never_make_optuna_adjust_a_range(write_file):
    def change(data):
        _knob(data, "PARAPHINA_HEDGE_BAND_BASE").update(step=0.01)
        _knob(data, "PARAPHINA_INIT_Q_TAO").update(step=0.5)

    space = load_search_space(_space_file(write_file, change))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        space.suggest(optuna.trial.FixedTrial(_defaults()))


def _set(name: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["knobs"][name] = {**data["knobs"][name], **fields}

    return change


def _replace(name: str, spec: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["knobs"][name] = spec

    return change


def _drop_field(name: str, field: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        del data["knobs"][name][field]

    return change


def _top(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        for key, value in fields.items():
            if value is _DELETE:
                del data[key]
            else:
                data[key] = value

    return change


_DELETE = object()


def _del_knob(name: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        del data["knobs"][name]

    return change


def _add_knob(name: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["knobs"][name] = {"type": "float", "low": 0.0, "high": 1.0}

    return change


BAD_SPACES = [
    (
        "missing knob",
        _del_knob("PARAPHINA_VOL_REF"),
        ["knobs", "missing PARAPHINA_VOL_REF", "must be given"],
    ),
    (
        "unknown knob",
        _add_knob("PARAPHINA_SPREAD"),
        ["knobs", "unknown knob 'PARAPHINA_SPREAD';", "accepted: PARAPHINA_RISK_PROFILE,"],
    ),
    (
        "misspelt knob",
        _add_knob("PARAPHINA_VOL_RFE"),
        ["unknown knob 'PARAPHINA_VOL_RFE'", "did you mean PARAPHINA_VOL_REF"],
    ),
    (
        "profile not a profile",
        _set("PARAPHINA_RISK_PROFILE", choices=["conservative", "reckless"]),
        [
            "knobs.PARAPHINA_RISK_PROFILE.choices[1]",
            "'reckless'",
            "conservative, balanced, aggressive",
        ],
    ),
    (
        "profile alias",
        _set("PARAPHINA_RISK_PROFILE", choices=["bal"]),
        ["choices[0]", "'bal'", "not a profile"],
    ),
    (
        "profile upper case",
        _set("PARAPHINA_RISK_PROFILE", choices=["Balanced"]),
        ["'Balanced'", "not a profile"],
    ),
    (
        "empty choices",
        _set("PARAPHINA_RISK_PROFILE", choices=[]),
        ["PARAPHINA_RISK_PROFILE.choices", "non-empty list"],
    ),
    (
        "choices not a list",
        _set("PARAPHINA_RISK_PROFILE", choices="balanced"),
        ["choices", "'balanced'", "non-empty list"],
    ),
    (
        "duplicate choice",
        _set("PARAPHINA_RISK_PROFILE", choices=["balanced", "aggressive", "balanced"]),
        ["choices[2]", "'balanced'", "repeated"],
    ),
    (
        "duplicate numeric choice",
        _replace("PARAPHINA_VOL_REF", {"type": "categorical", "choices": [0.1, 1, 1.0]}),
        ["PARAPHINA_VOL_REF.choices[2]", "repeated"],
    ),
    (
        "numeric knob with text choice",
        _replace("PARAPHINA_VOL_REF", {"type": "categorical", "choices": [0.1, "high"]}),
        ["PARAPHINA_VOL_REF.choices[1]", "'high'", "not a number"],
    ),
    (
        "numeric knob with boolean choice",
        _replace("PARAPHINA_VOL_REF", {"type": "categorical", "choices": [True]}),
        ["PARAPHINA_VOL_REF.choices[0]", "True", "not a number"],
    ),
    (
        "missing choices",
        _replace("PARAPHINA_RISK_PROFILE", {"type": "categorical"}),
        ["choices", "missing"],
    ),
    (
        "profile as float",
        _replace("PARAPHINA_RISK_PROFILE", {"type": "float", "low": 0, "high": 1}),
        ["PARAPHINA_RISK_PROFILE.type", "'float'", "categorical"],
    ),
    (
        "low equals high",
        _set("PARAPHINA_VOL_REF", low=0.1, high=0.1),
        ["PARAPHINA_VOL_REF.high", "0.1", "low < high"],
    ),
    (
        "low above high",
        _set("PARAPHINA_VOL_REF", low=0.2, high=0.1),
        ["PARAPHINA_VOL_REF.high", "low < high"],
    ),
    (
        "text bound",
        _set("PARAPHINA_VOL_REF", low="abc"),
        ["PARAPHINA_VOL_REF.low", "'abc'", "not a number", "finite number"],
    ),
    (
        "number written as text",
        _set("PARAPHINA_DAILY_LOSS_LIMIT", high="3e3"),
        ["PARAPHINA_DAILY_LOSS_LIMIT.high", "'3e3'", "it is text", "e.g. 3000.0"],
    ),
    (
        "NaN bound",
        _set("PARAPHINA_VOL_REF", low=float("nan")),
        ["PARAPHINA_VOL_REF.low", "nan", "not finite"],
    ),
    (
        "infinite bound",
        _set("PARAPHINA_VOL_REF", high=float("inf")),
        ["PARAPHINA_VOL_REF.high", "inf", "not finite"],
    ),
    (
        "boolean bound",
        _set("PARAPHINA_VOL_REF", low=True),
        ["PARAPHINA_VOL_REF.low", "True", "not a number"],
    ),
    (
        "null bound",
        _set("PARAPHINA_VOL_REF", high=None),
        ["PARAPHINA_VOL_REF.high", "None", "not a number"],
    ),
    (
        "missing bound",
        _drop_field("PARAPHINA_VOL_REF", "high"),
        ["PARAPHINA_VOL_REF.high", "missing"],
    ),
    (
        "log with nonpositive low",
        _set("PARAPHINA_INIT_Q_TAO", log=True),
        ["PARAPHINA_INIT_Q_TAO.low", "-30.0", "low > 0"],
    ),
    (
        "log with zero low",
        _set("PARAPHINA_MM_SIZE_ETA", low=0.0, log=True),
        ["PARAPHINA_MM_SIZE_ETA.low", "low > 0"],
    ),
    (
        "log and step",
        _set("PARAPHINA_MM_SIZE_ETA", log=True, step=0.1),
        ["PARAPHINA_MM_SIZE_ETA.step", "log: true", "one or the other"],
    ),
    (
        "log not boolean",
        _set("PARAPHINA_MM_SIZE_ETA", log="true"),
        ["PARAPHINA_MM_SIZE_ETA.log", "'true'", "true or false"],
    ),
    ("zero step", _set("PARAPHINA_VOL_REF", step=0), ["PARAPHINA_VOL_REF.step", "0", "step > 0"]),
    (
        "negative step",
        _set("PARAPHINA_VOL_REF", step=-0.01),
        ["PARAPHINA_VOL_REF.step", "-0.01", "step > 0"],
    ),
    (
        "step larger than range",
        _set("PARAPHINA_HEDGE_MAX_STEP", step=20.0),
        ["PARAPHINA_HEDGE_MAX_STEP.step", "20.0", "exceeds high - low = 15.0"],
    ),
    (
        "step not dividing range",
        _set("PARAPHINA_HEDGE_BAND_BASE", step=0.04),
        [
            "PARAPHINA_HEDGE_BAND_BASE.step",
            "0.04",
            "does not divide",
            "last reachable value is 0.14",
        ],
    ),
    (
        "text step",
        _set("PARAPHINA_VOL_REF", step="small"),
        ["PARAPHINA_VOL_REF.step", "'small'", "not a number"],
    ),
    (
        "unknown field",
        _set("PARAPHINA_VOL_REF", default=0.1),
        [
            "PARAPHINA_VOL_REF",
            "unknown field 'default'",
            "accepted for type float: type, low, high, step, log",
        ],
    ),
    (
        "misspelt field",
        _set("PARAPHINA_VOL_REF", hihg=0.2),
        ["unknown field", "'hihg'", "did you mean high"],
    ),
    (
        "missing type",
        _drop_field("PARAPHINA_VOL_REF", "type"),
        ["PARAPHINA_VOL_REF.type", "missing", "float, int, categorical"],
    ),
    (
        "unknown type",
        _set("PARAPHINA_VOL_REF", type="double"),
        ["PARAPHINA_VOL_REF.type", "'double'", "float, int, categorical"],
    ),
    (
        "int with fractional bound",
        _replace("PARAPHINA_HEDGE_MAX_STEP", {"type": "int", "low": 5.5, "high": 20}),
        ["PARAPHINA_HEDGE_MAX_STEP.low", "5.5", "not an integer"],
    ),
    (
        "int with float step",
        _replace("PARAPHINA_HEDGE_MAX_STEP", {"type": "int", "low": 5, "high": 20, "step": 2.5}),
        ["PARAPHINA_HEDGE_MAX_STEP.step", "2.5", "not an integer"],
    ),
    (
        "int step not dividing",
        _replace("PARAPHINA_HEDGE_MAX_STEP", {"type": "int", "low": 5, "high": 20, "step": 4}),
        ["PARAPHINA_HEDGE_MAX_STEP.step", "does not divide", "last reachable value is 17"],
    ),
    (
        "int with log",
        _replace("PARAPHINA_HEDGE_MAX_STEP", {"type": "int", "low": 5, "high": 20, "log": True}),
        [
            "PARAPHINA_HEDGE_MAX_STEP",
            "unknown field 'log';",
            "accepted for type int: type, low, high, step",
        ],
    ),
    (
        "categorical with bounds",
        _set("PARAPHINA_RISK_PROFILE", low=0),
        [
            "PARAPHINA_RISK_PROFILE",
            "unknown field 'low'",
            "accepted for type categorical: type, choices",
        ],
    ),
    (
        "knob spec null",
        _replace("PARAPHINA_VOL_REF", None),
        ["knobs.PARAPHINA_VOL_REF", "None", "not a mapping"],
    ),
    (
        "knob spec scalar",
        _replace("PARAPHINA_VOL_REF", 0.1),
        ["knobs.PARAPHINA_VOL_REF", "0.1", "not a mapping"],
    ),
    ("missing version", _top(version=_DELETE), ["version", "missing", "version: 1"]),
    ("unsupported version", _top(version=2), ["version", "2", "not supported", "expected 1"]),
    ("version as boolean", _top(version=True), ["version", "True", "not supported"]),
    ("version as text", _top(version="1"), ["version", "'1'", "not supported"]),
    ("missing knobs", _top(knobs=_DELETE), ["knobs", "missing", "PARAPHINA_RISK_PROFILE"]),
    ("knobs as a list", _top(knobs=["PARAPHINA_VOL_REF"]), ["knobs", "not a mapping"]),
    (
        "unknown top-level key",
        _top(sampler="tpe"),
        ["unknown top-level key 'sampler'", "accepted: version, knobs"],
    ),
]


@pytest.mark.parametrize(
    ("change", "fragments"), [case[1:] for case in BAD_SPACES], ids=[case[0] for case in BAD_SPACES]
)
def test_bad_search_space_raises_input_error_naming_file_knob_field_and_value(
    write_file, input_error, change, fragments
):
    path = _space_file(write_file, change)
    input_error(lambda: load_search_space(path), f"search space file {path}: ", *fragments)


def test_a_knob_given_twice_is_refused_with_its_line(write_file, input_error):
    text = """version: 1
knobs:
  PARAPHINA_RISK_PROFILE: {type: categorical, choices: [conservative, balanced, aggressive]}
  PARAPHINA_HEDGE_BAND_BASE: {type: float, low: 0.02, high: 0.15}
  PARAPHINA_MM_SIZE_ETA: {type: float, low: 0.5, high: 2.0}
  PARAPHINA_VOL_REF: {type: float, low: 0.05, high: 0.15}
  PARAPHINA_DAILY_LOSS_LIMIT: {type: float, low: 500.0, high: 3000.0}
  PARAPHINA_INIT_Q_TAO: {type: float, low: -30.0, high: 30.0}
  PARAPHINA_HEDGE_MAX_STEP: {type: float, low: 5.0, high: 20.0}
  PARAPHINA_VOL_REF: {type: float, low: 0.06, high: 0.1}
"""
    path = write_file(text)
    input_error(
        lambda: load_search_space(path),
        str(path),
        "line 10",
        "duplicate key 'PARAPHINA_VOL_REF'",
        "first defined at line 6",
    )


def test_a_broken_file_is_reported_as_a_search_space_file(tmp_path, input_error):
    path = tmp_path / "missing.yaml"
    input_error(lambda: load_search_space(path), f"search space file {path}", "not found")
