"""Reference solutions: one module per book section, written the way the book writes MXNet.

Each module computes the expected answers of its assignment and ends with ``REFERENCES`` (see
d2lgrade.judging.reference). Solution cells of the source notebooks import from here, so every reference
answer has one source of truth. This package never ships to students.
"""
