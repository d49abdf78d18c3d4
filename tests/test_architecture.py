"""The shape of the ``tuner`` package: an acyclic import graph in layers, thin commands,
a public API, and facts written once and checked against the simulator that owns them."""

from __future__ import annotations

import ast
import functools
import json
import subprocess
from pathlib import Path

import pytest
import yaml

import tuner
from tuner.config.paths import DEFAULT_SEARCH_SPACE, REPO_ROOT
from tuner.names import DIRECTIONS, KNOB_NAMES, MAXIMIZED, METRIC_NAMES, OBJECTIVES, RISK_PROFILES
from tuner.simulator.build import binary, ensure_binaries
from tuner.stats.hypervolume import MAXIMISE

PACKAGE = REPO_ROOT / "tuner"
COMMANDS = {"tuner.study", "tuner.promote", "tuner.reproduce", "tuner.show", "tuner.dashboard"}
#: Layers, lowest first: a module may import only from its own layer or lower ones.
LAYERS = [
    {"tuner.errors", "tuner._io", "tuner._faults", "tuner.names"},
    {"tuner.stats", "tuner.config"},
    {"tuner.simulator"},
    {"tuner.record"},
    {"tuner.session"},
    {"tuner.search", "tuner.promotion"},
    {"tuner.views"},
    {"tuner._api", "tuner._cli", "tuner"},
    COMMANDS,
]


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO_ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def _graph() -> dict[str, dict[str, list[tuple[int, bool]]]]:
    """module -> imported tuner module -> [(line, at module level)]."""
    graph: dict[str, dict[str, list[tuple[int, bool]]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = {id(n) for n in tree.body}
        for node in tree.body:  # imports under `if TYPE_CHECKING:` count as top level
            if isinstance(node, ast.If):
                top_level |= {id(n) for n in node.body}
        edges: dict[str, list[tuple[int, bool]]] = {}
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tuner"):
                targets = [node.module]
                for alias in node.names:  # `from tuner import x` may name a module
                    candidate = f"{node.module}.{alias.name}"
                    if (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(".py").exists() or \
                            (PACKAGE.parent / Path(*candidate.split("."))).is_dir():
                        targets.append(candidate)
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("tuner")]
            for target in targets:
                edges.setdefault(target, []).append((node.lineno, id(node) in top_level))
        graph[name] = edges
    return graph


def _layer(module: str) -> int:
    """The layer of the longest prefix of ``module`` named in :data:`LAYERS`."""
    best, best_len = None, -1
    for i, layer in enumerate(LAYERS):
        for prefix in layer:
            matches = module == prefix or (prefix != "tuner" and module.startswith(prefix + "."))
            if matches and len(prefix) > best_len:
                best, best_len = i, len(prefix)
    assert best is not None, f"{module} belongs to no layer of this test: add it"
    return best


def test_the_import_graph_has_no_cycle() -> None:
    graph = {m: {t for t in e if t in _graph_modules()} for m, e in _graph().items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                cycle = stack[stack.index(t):] + [t]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


@functools.cache
def _graph_modules() -> set[str]:
    return set(_graph())


def test_no_tuner_module_is_imported_inside_a_function() -> None:
    bad = [f"{m}:{line} imports {t}" for m, edges in _graph().items() for t, uses in edges.items()
           for line, top in uses if not top]
    assert not bad, "function-local imports of tuner modules (fix the module boundaries instead): " + "; ".join(bad)


def test_no_command_module_is_imported_by_another_module() -> None:
    bad = [f"{m} imports {t}" for m, edges in _graph().items() for t in edges if t in COMMANDS and m != t]
    assert not bad, "; ".join(bad)


def test_every_import_goes_to_the_same_or_a_lower_layer() -> None:
    bad = []
    for m, edges in _graph().items():
        for t in edges:
            if t in _graph_modules() and _layer(t) > _layer(m):
                bad.append(f"{m} (layer {_layer(m)}) imports {t} (layer {_layer(t)})")
    assert not bad, "; ".join(bad)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_modules_are_thin(command: str) -> None:
    path = REPO_ROOT / Path(*command.split(".")).with_suffix(".py")
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines < 145, f"{command} has {lines} lines; move the work into the modules it calls"


def test_the_public_api_is_exported_and_documented() -> None:
    for name in tuner.__all__:
        obj = getattr(tuner, name)
        if callable(obj) and not isinstance(obj, type(KNOB_NAMES)):
            assert (obj.__doc__ or "").strip(), f"tuner.{name} has no docstring"
    for name in ("run_study", "load_study", "promote", "reproduce", "Study"):
        assert name in tuner.__all__


# --- one source of truth per fact --------------------------------------------------


@pytest.fixture(scope="module")
def show_config() -> dict:
    ensure_binaries(quiet=True)
    out = subprocess.run([binary("monte_carlo"), "--show-config"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_knob_names_agree_with_the_simulator_in_both_directions(show_config: dict) -> None:
    assert set(show_config["knob_domains"]) == set(KNOB_NAMES)


def test_profile_names_agree_with_the_simulator_in_both_directions(show_config: dict) -> None:
    assert set(show_config["profiles"]) == set(RISK_PROFILES)
    assert show_config["knob_domains"]["PARAPHINA_RISK_PROFILE"]["choices"] == list(RISK_PROFILES)


def test_the_search_space_file_names_exactly_the_knobs() -> None:
    data = yaml.safe_load(DEFAULT_SEARCH_SPACE.read_text(encoding="utf-8"))
    assert list(data["knobs"]) == list(KNOB_NAMES)


def test_monte_carlo_help_lists_every_knob() -> None:
    ensure_binaries(quiet=True)
    text = subprocess.run([binary("monte_carlo"), "--help"], capture_output=True, text=True, check=True).stdout
    for knob in KNOB_NAMES:
        assert knob in text, knob


def test_objective_order_and_directions_come_from_one_constant() -> None:
    assert METRIC_NAMES == tuple(o.name for o in OBJECTIVES)
    assert DIRECTIONS == tuple(o.direction for o in OBJECTIVES)
    assert MAXIMIZED == MAXIMISE == tuple(d == "maximize" for d in DIRECTIONS)


def test_bounds_are_computed_only_in_the_bounds_module() -> None:
    formulas = ("inv_cdf(", "NormalDist(")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "bounds.py":
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(REPO_ROOT)}: {f}" for f in formulas if f in text]
    assert not offenders, offenders


def test_simulator_argument_lists_are_built_only_in_the_client() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "simulator":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ('binary("monte_carlo")', 'binary("sim_eval")', '"verify-evidence-tree"', '"write-evidence-pack"'):
            if needle in text:
                offenders.append(f"{path.relative_to(REPO_ROOT)}: {needle}")
    assert not offenders, offenders
