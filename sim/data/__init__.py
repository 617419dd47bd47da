"""The real UN data: loading and validating it, the official record, descriptive measures."""
