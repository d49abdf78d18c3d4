"""The product's input files and where its files live: budgets (tiers and alpha), the
search space, the shipped paths (``paths``), and their strict YAML loading."""
