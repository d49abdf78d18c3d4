"""What a user reads: study outputs (``trials.jsonl``, ``pareto.*``, root evidence pack),
plots, terminal tables and DataFrames. Everything here reads the storage."""
