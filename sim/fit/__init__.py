"""What is learnt from the record: prediction from a tally, calibration, validation."""
