"""Pure mathematics: one-sided confidence bounds (the only place a bound is computed)
and hypervolumes."""
