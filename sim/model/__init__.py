"""The model: positions, ties, dynamics, votes, scenarios and the Mesa model of one run."""
