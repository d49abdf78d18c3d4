"""Research-to-promotion service for the paraphina market-making strategy."""
