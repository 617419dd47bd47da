"""How many runs are made: designs, blocks, executors, and the tables and answer of a sweep."""
