from __future__ import annotations

import pytest

from tuner.stats.bounds import wilson_upper
from tuner.config.budgets import DEFAULT_ALPHA, TIER_NAMES, Budgets, Tier, load_budgets

NEW_FORMAT = """\
alpha: 0.05
tiers:
  conservative: {max_kill_ucb: 0.05, max_dd_cvar: 500.0, min_pnl_lcb_usd: 10.0}
  balanced:     {max_kill_ucb: 0.10, max_dd_cvar: 1000.0, min_pnl_lcb_usd: 20.0}
  aggressive:   {max_kill_ucb: 0.15, max_dd_cvar: 2000.0, min_pnl_lcb_usd: 30.0}
"""

# Verbatim from the original specification (batch_runs/phase_a/budgets.yaml).
ORIGINAL_FORMAT = """\
conservative:
  max_kill_prob: 0.05
  max_drawdown_cvar: 500.0
  min_mean_pnl: 10.0

balanced:
  max_kill_prob: 0.10
  max_drawdown_cvar: 1000.0
  min_mean_pnl: 20.0

aggressive:
  max_kill_prob: 0.15
  max_drawdown_cvar: 2000.0
  min_mean_pnl: 30.0
"""

EXPECTED_TIERS = {
    "conservative": Tier("conservative", 0.05, 500.0, 10.0),
    "balanced": Tier("balanced", 0.10, 1000.0, 20.0),
    "aggressive": Tier("aggressive", 0.15, 2000.0, 30.0),
}


def test_shipped_budgets_file_loads(repo_root):
    budgets = load_budgets(repo_root / "configs" / "budgets.yaml")
    assert budgets == Budgets(alpha=0.05, tiers=EXPECTED_TIERS)
    assert list(budgets.tiers) == list(TIER_NAMES)


def test_new_format_loads(write_file):
    assert load_budgets(write_file(NEW_FORMAT)) == Budgets(alpha=0.05, tiers=EXPECTED_TIERS)


def test_original_format_loads_with_its_keys_mapped_and_the_default_alpha(write_file):
    assert load_budgets(write_file(ORIGINAL_FORMAT)) == Budgets(
        alpha=DEFAULT_ALPHA, tiers=EXPECTED_TIERS
    )
    assert DEFAULT_ALPHA == 0.05


def test_original_format_accepts_an_alpha(write_file):
    assert load_budgets(write_file("alpha: 0.1\n" + ORIGINAL_FORMAT)).alpha == 0.1


def test_old_keys_inside_the_new_format_are_mapped(write_file):
    text = "tiers:\n  balanced: {max_kill_prob: 0.1, max_drawdown_cvar: 1000, min_mean_pnl: 20}\n"
    assert load_budgets(write_file(text)).tiers == {"balanced": EXPECTED_TIERS["balanced"]}


def test_new_keys_win_over_old_keys_in_the_same_tier(write_file):
    text = (
        "tiers:\n  balanced:\n"
        "    max_kill_ucb: 0.08\n    max_kill_prob: 0.5\n"
        "    max_dd_cvar: 900\n    max_drawdown_cvar: 5000\n"
        "    min_pnl_lcb_usd: 25\n    min_mean_pnl: 1\n"
    )
    assert load_budgets(write_file(text)).tiers["balanced"] == Tier("balanced", 0.08, 900.0, 25.0)


def test_missing_alpha_defaults_to_0_05(write_file):
    text = NEW_FORMAT.replace("alpha: 0.05\n", "")
    assert load_budgets(write_file(text)).alpha == 0.05


def test_a_subset_of_tiers_is_kept_in_tier_order_whatever_the_file_order(write_file):
    text = (
        "tiers:\n"
        "  aggressive: {max_kill_ucb: 0.15, max_dd_cvar: 2000, min_pnl_lcb_usd: 30}\n"
        "  conservative: {max_kill_ucb: 0.05, max_dd_cvar: 500, min_pnl_lcb_usd: 10}\n"
    )
    budgets = load_budgets(write_file(text))
    assert list(budgets.tiers) == ["conservative", "aggressive"]
    assert all(
        isinstance(v, float)
        for v in vars(budgets.tiers["aggressive"]).values()
        if v != "aggressive"
    )


@pytest.mark.parametrize(
    "thresholds",
    [
        "{max_kill_ucb: 0, max_dd_cvar: 0, min_pnl_lcb_usd: 0}",
        "{max_kill_ucb: 1, max_dd_cvar: 1.0e+308, min_pnl_lcb_usd: 0.0}",
    ],
    ids=["all zero", "kill limit one"],
)
def test_boundary_thresholds_are_accepted(write_file, thresholds):
    load_budgets(write_file(f"tiers:\n  balanced: {thresholds}\n"))


@pytest.mark.parametrize("alpha", ["0.0001", "0.9999", "0.5"])
def test_alpha_strictly_inside_zero_one_is_accepted(write_file, alpha):
    assert load_budgets(write_file(f"alpha: {alpha}\n" + ORIGINAL_FORMAT)).alpha == float(alpha)


BALANCED = "  balanced: {max_kill_ucb: 0.10, max_dd_cvar: 1000.0, min_pnl_lcb_usd: 20.0}\n"

BAD_BUDGETS = [
    (
        "alpha zero",
        "alpha: 0\ntiers:\n" + BALANCED,
        ["alpha", "value 0", "outside (0, 1)", "strictly between 0 and 1"],
    ),
    ("alpha one", "alpha: 1\ntiers:\n" + BALANCED, ["alpha", "value 1", "outside (0, 1)"]),
    ("alpha negative", "alpha: -0.05\ntiers:\n" + BALANCED, ["alpha", "-0.05", "outside (0, 1)"]),
    ("alpha above one", "alpha: 5\ntiers:\n" + BALANCED, ["alpha", "value 5", "outside (0, 1)"]),
    ("alpha NaN", "alpha: .nan\ntiers:\n" + BALANCED, ["alpha", "nan", "not finite"]),
    (
        "alpha text",
        "alpha: five percent\ntiers:\n" + BALANCED,
        ["alpha", "'five percent'", "not a number"],
    ),
    (
        "alpha quoted",
        "alpha: '0.05'\ntiers:\n" + BALANCED,
        ["alpha", "'0.05'", "it is text; write the number unquoted, e.g. 0.05"],
    ),
    ("alpha boolean", "alpha: yes\ntiers:\n" + BALANCED, ["alpha", "True", "not a number"]),
    ("alpha null", "alpha:\ntiers:\n" + BALANCED, ["alpha", "None", "not a number"]),
    (
        "unknown tier",
        "tiers:\n" + BALANCED + "  yolo: {max_kill_ucb: 0.5, max_dd_cvar: 1, min_pnl_lcb_usd: 1}\n",
        ["tiers", "unknown tier 'yolo'", "accepted: conservative, balanced, aggressive"],
    ),
    (
        "misspelt tier",
        "tiers:\n  balnced: {max_kill_ucb: 0.1, max_dd_cvar: 1, min_pnl_lcb_usd: 1}\n",
        ["unknown tier 'balnced'", "did you mean balanced?"],
    ),
    (
        "unknown tier in original format",
        "yolo:\n  max_kill_prob: 0.5\n  max_drawdown_cvar: 1\n  min_mean_pnl: 1\n",
        ["unknown top-level key or tier 'yolo'", "conservative, balanced, aggressive"],
    ),
    (
        "unknown key",
        "tiers:\n  balanced: {max_kill_ucb: 0.1, max_dd_cvar: 1, min_pnl_lcb_usd: 1,"
        " max_leverage: 3}\n",
        [
            "tiers.balanced",
            "unknown threshold 'max_leverage'",
            "max_kill_ucb, max_dd_cvar, min_pnl_lcb_usd",
        ],
    ),
    (
        "misspelt key",
        "tiers:\n  balanced: {max_kill_ucbb: 0.1, max_dd_cvar: 1, min_pnl_lcb_usd: 1}\n",
        ["unknown threshold 'max_kill_ucbb'", "did you mean max_kill_ucb?"],
    ),
    (
        "unknown top-level key",
        "sampler: nsga2\ntiers:\n" + BALANCED,
        ["unknown top-level key 'sampler'", "alpha, tiers"],
    ),
    (
        "missing threshold",
        "tiers:\n  balanced: {max_kill_ucb: 0.1, min_pnl_lcb_usd: 1}\n",
        ["tiers.balanced: missing max_dd_cvar (or its older name max_drawdown_cvar)"],
    ),
    (
        "missing threshold in original format",
        "balanced:\n  max_kill_prob: 0.1\n  max_drawdown_cvar: 1000\n",
        ["balanced: missing min_pnl_lcb_usd (or its older name min_mean_pnl)"],
    ),
    (
        "negative threshold",
        "tiers:\n  balanced: {max_kill_ucb: 0.1, max_dd_cvar: -1, min_pnl_lcb_usd: 1}\n",
        ["tiers.balanced.max_dd_cvar", "value -1 is negative", ">= 0"],
    ),
    (
        "negative old-style threshold",
        "balanced:\n  max_kill_prob: 0.1\n  max_drawdown_cvar: 1000\n  min_mean_pnl: -5\n",
        ["balanced.min_mean_pnl", "value -5 is negative", ">= 0"],
    ),
    (
        "NaN threshold",
        "tiers:\n  balanced: {max_kill_ucb: .nan, max_dd_cvar: 1, min_pnl_lcb_usd: 1}\n",
        ["tiers.balanced.max_kill_ucb", "nan", "not finite"],
    ),
    (
        "infinite threshold",
        "tiers:\n  balanced: {max_kill_ucb: 0.1, max_dd_cvar: .inf, min_pnl_lcb_usd: 1}\n",
        ["tiers.balanced.max_dd_cvar", "inf", "not finite"],
    ),
    (
        "text threshold",
        "tiers:\n  balanced: {max_kill_ucb: 0.1, max_dd_cvar: lots, min_pnl_lcb_usd: 1}\n",
        ["tiers.balanced.max_dd_cvar", "'lots'", "not a number"],
    ),
    (
        "boolean threshold",
        "tiers:\n  balanced: {max_kill_ucb: 0.1, max_dd_cvar: 1, min_pnl_lcb_usd: true}\n",
        ["tiers.balanced.min_pnl_lcb_usd", "True", "not a number"],
    ),
    (
        "kill limit above one",
        "tiers:\n  balanced: {max_kill_ucb: 1.5, max_dd_cvar: 1, min_pnl_lcb_usd: 1}\n",
        ["tiers.balanced.max_kill_ucb", "1.5 is above 1", "between 0 and 1"],
    ),
    (
        "kill limit given as percent",
        "tiers:\n  balanced: {max_kill_ucb: 5, max_dd_cvar: 1, min_pnl_lcb_usd: 1}\n",
        ["tiers.balanced.max_kill_ucb", "value 5", "between 0 and 1"],
    ),
    (
        "empty tiers",
        "alpha: 0.05\ntiers: {}\n",
        ["tiers", "no tiers defined", "conservative, balanced, aggressive"],
    ),
    ("null tiers", "alpha: 0.05\ntiers:\n", ["tiers", "no tiers defined"]),
    ("only alpha", "alpha: 0.05\n", ["no tiers defined"]),
    ("tiers as a list", "tiers:\n  - balanced\n", ["tiers", "not a mapping"]),
    (
        "tier not a mapping",
        "tiers:\n  balanced: 0.1\n",
        ["tiers.balanced", "value 0.1", "not a mapping"],
    ),
    (
        "tier at top level next to tiers",
        "tiers:\n"
        + BALANCED
        + "aggressive: {max_kill_ucb: 0.1, max_dd_cvar: 1, min_pnl_lcb_usd: 1}\n",
        ["aggressive", "top level next to 'tiers:'"],
    ),
    (
        "duplicate tier",
        "tiers:\n" + BALANCED + BALANCED,
        ["line 3", "duplicate key 'balanced'", "line 2"],
    ),
]


@pytest.mark.parametrize(
    ("text", "fragments"), [case[1:] for case in BAD_BUDGETS], ids=[case[0] for case in BAD_BUDGETS]
)
def test_bad_budgets_raise_input_error_naming_file_key_and_value(
    write_file, input_error, text, fragments
):
    path = write_file(text, "budgets.yaml")
    input_error(lambda: load_budgets(path), f"budgets file {path}: ", *fragments)


def test_an_unrelated_unknown_name_gets_no_misleading_suggestion(write_file, input_error):
    path = write_file(
        "tiers:\n  balanced: {max_kill_ucb: 0.1, max_dd_cvar: 1, min_pnl_lcb_usd: 1, leverage: 3}\n"
    )
    message = input_error(lambda: load_budgets(path), "unknown threshold 'leverage'")
    assert "did you mean" not in message


def test_a_missing_budgets_file_is_reported(tmp_path, input_error):
    path = tmp_path / "budgets.yaml"
    input_error(lambda: load_budgets(path), f"budgets file {path}: file not found")


def _budgets(alpha: float = 0.05, **limits: float) -> Budgets:
    return Budgets(
        alpha=alpha, tiers={name: Tier(name, limit, 1000.0, 0.0) for name, limit in limits.items()}
    )


def test_conservative_tier_is_unreachable_with_50_runs_and_needs_52():
    budgets = _budgets(conservative=0.05, balanced=0.10, aggressive=0.15)
    assert budgets.unreachable_kill_tiers(50) == [(budgets.tiers["conservative"], 52)]


def test_every_shipped_tier_is_reachable_with_the_default_200_runs(repo_root):
    assert load_budgets(repo_root / "configs" / "budgets.yaml").unreachable_kill_tiers(200) == []


def test_the_minimum_run_count_is_exact_at_the_boundary():
    budgets = _budgets(conservative=0.05)
    assert budgets.unreachable_kill_tiers(52) == []
    assert budgets.unreachable_kill_tiers(51) == [(budgets.tiers["conservative"], 52)]
    assert wilson_upper(0, 52, 0.05) <= 0.05 < wilson_upper(0, 51, 0.05)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1, 0.2])
@pytest.mark.parametrize("limit", [0.001, 0.01, 0.02, 0.05, 0.1, 0.15, 0.3, 0.5, 0.9])
def test_the_reported_run_count_is_the_smallest_that_reaches_the_limit(alpha, limit):
    budgets = _budgets(alpha, balanced=limit)
    unreachable = budgets.unreachable_kill_tiers(1)
    if not unreachable:
        assert wilson_upper(0, 1, alpha) <= limit
        return
    [(_, needed)] = unreachable
    assert needed > 1
    assert wilson_upper(0, needed, alpha) <= limit < wilson_upper(0, needed - 1, alpha)
    assert budgets.unreachable_kill_tiers(needed) == []
    assert budgets.unreachable_kill_tiers(needed - 1) == unreachable


def test_a_smaller_alpha_needs_more_runs():
    [(_, at_5)] = _budgets(0.05, conservative=0.05).unreachable_kill_tiers(10)
    [(_, at_1)] = _budgets(0.01, conservative=0.05).unreachable_kill_tiers(10)
    assert at_1 > at_5 == 52


def test_a_zero_kill_limit_is_unreachable_at_any_run_count():
    budgets = _budgets(conservative=0.0)
    assert budgets.unreachable_kill_tiers(10**9) == [(budgets.tiers["conservative"], None)]


def test_a_kill_limit_of_one_is_always_reachable():
    assert _budgets(aggressive=1.0).unreachable_kill_tiers(1) == []


@pytest.mark.parametrize("runs", [0, -1, 2.5, True, "200"])
def test_unreachable_kill_tiers_needs_a_positive_run_count(runs):
    with pytest.raises(ValueError, match="mc_runs"):
        _budgets(conservative=0.05).unreachable_kill_tiers(runs)
