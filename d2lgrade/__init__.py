"""d2lgrade: autograded Jupyter assignments for Dive into Deep Learning, chapter 2 and the maths appendix.

The subpackages are layers; each imports only from those listed before it (``tests/test_layers.py``
holds that, and that no two modules import each other around a circle):

1. ``judging``: what an assignment asks and how answers are judged, as plain data (no kernels, no course files);
2. ``sandbox``: running a student's notebook confined, and collecting its answers as plain data;
3. ``course``: the course on disk: its layout, who may read what, the records grading keeps;
4. ``grading``: one submission through the grading steps; many on every core or a cluster;
5. ``nbgrader``: nbgrader's side: release, gradebook rows, the autograded notebook, its autograde, defanging;
6. ``otter``: Otter-Grader's side: the plugin, the autograder zip, the written answers' PDF;
7. ``authoring``: from ``source/`` to the release, bundles and zips; sample submissions;
8. ``batch``: a folder of submissions graded into the course's records;
9. ``reports``: the instructor's class report and a made-up class to try it on;
10. ``hub``: the class server: who is who from JupyterHub, the exchange service and its nbgrader client, the grading
    service staff reach without root;
11. ``serve``: grading on submit: a durable queue of the exchange's submissions, graded as they arrive, their
    feedback attached for the student; the instructor's queue and final-grade export.

On top: ``cli`` (the ``d2lgrade`` command) and ``student`` (the ``check`` object every released notebook
imports). ``docs/architecture.md`` draws the layers and follows one submission through them.
"""
