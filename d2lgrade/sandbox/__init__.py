"""Running a student's notebook confined: warm kernels forked per submission, each in its own sandbox.

An unprivileged user, namespaces or (in a container) a user of its own, rlimits, a cgroup, a seccomp
filter, CPU time counted; the notebook's cells and the probes are run and the answer reports read
back as plain data (:mod:`d2lgrade.judging.answer_report`). Nothing here judges an answer.
"""
