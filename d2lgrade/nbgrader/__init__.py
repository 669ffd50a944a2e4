"""nbgrader's side: its release, its gradebook rows, the autograded notebook, its autograde, and defanging.

What lets nbgrader's own tools (formgrader, feedback, export, the exchange) work on what d2lgrade grades,
and what makes ``nbgrader autograde`` grade through the sandbox (:mod:`d2lgrade.nbgrader.autograde`).
"""
