"""Grading on submit: each submission taken from the exchange as it arrives, graded, recorded, its feedback returned."""
