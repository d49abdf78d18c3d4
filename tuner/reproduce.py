"""``python -m tuner.reproduce RECORD.json``: check that what goes live is what was
certified, then re-run the promoted candidate's Monte Carlo (same overlay, seeds, runs
and ticks) in a fresh directory, verify its evidence pack, and compare its
``mc_summary.json`` with the digest recorded at trial time (the work is
:func:`tuner.reproduce`; any record of a tier's ``history.jsonl`` works too).

The record's confirmation (its fresh-seed evidence) is then replayed the same way, with
the suite files it ran (checked against their recorded sha256), and compared byte for
byte; ``--fresh-seeds N`` also evaluates the candidate on a new seed stream (N runs, both
suites) and says whether it still passes its tier.

Exit 0 when identical (and, with ``--fresh-seeds``, still passing); 1 when the promoted ``.env`` is not the record's
``candidate_hash`` (the file and the key are named), a binary differs from the one the
evidence was made with (named), a trial file changed after the trial (named), the
summaries differ (the differing fields are listed) or the new evidence does not verify;
2 on bad input (unreadable record, missing fields).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tuner._api import reproduce
from tuner._cli import ArgumentParser, positive_int, run_main, sigterm_as_interrupt

__all__ = ["build_parser", "cli", "main"]

PROG = "python -m tuner.reproduce"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="Re-run a promoted candidate's Monte Carlo and compare it with the trial's.")
    p.add_argument("record", type=Path, metavar="RECORD",
                   help="the PROMOTION_RECORD.json of a promoted tier (configs/presets/promoted/<tier>/)")
    p.add_argument("--output-dir", type=Path, metavar="DIR",
                   help="where to re-run (default: a fresh temporary directory, kept and printed)")
    p.add_argument("--fresh-seeds", type=positive_int("--fresh-seeds", 2), metavar="N",
                   help="also evaluate the candidate on a new seed stream (N Monte Carlo runs, both suites) and say "
                        "whether it still passes its tier (exit 1 when it does not)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the verdict and errors")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sigterm_as_interrupt()
    result = reproduce(args.record, args.output_dir, quiet=args.quiet, fresh_seeds=args.fresh_seeds)
    if not result.compared:
        print(f"{PROG}: {result.message}", file=sys.stderr)
        for d in result.differences:
            print(f"  {d}", file=sys.stderr)
        return 1
    print(result.message)
    for d in result.differences:
        print(f"  {d}")
    if result.confirmation:
        print(result.confirmation)
    fresh = result.fresh
    if fresh is not None:
        print(f"fresh seeds ({args.fresh_seeds} runs, new stream): "
              f"{'still passes' if fresh['passed'] else 'NO LONGER PASSES'} its tier at alpha {fresh['alpha']:g}"
              + ("" if fresh["passed"] else ": " + "; ".join(fresh["failures"])))
    return 0 if result.reproduced and (fresh is None or fresh["passed"]) else 1


def cli() -> None:
    """Console entry point ``tuner-reproduce`` (the same as ``python -m tuner.reproduce``)."""
    run_main(PROG, main)


if __name__ == "__main__":
    cli()
