"""Grading: one submission through the ordered grading steps, and many on every core or a Dask cluster.

``steps`` is the core every entry point shares (``d2lgrade grade``, nbgrader's autograde, the Otter
plugin); ``workers`` and ``cluster`` run it in parallel, ``ledger`` remembers what was graded, ``progress``
shows how far a batch is.
"""
