"""What an assignment asks and how answers are judged, as plain data: the lowest layer.

The authored notebook read into a spec, the references compiled into a bundle, the grammar of the
answer report a kernel sends, the comparison of an answer with its reference, the rules on how an
answer is computed, and the typed results. Pure functions of data: nothing here starts a kernel or
writes a course's files. ``probe`` is the one module that runs in the student's kernel.
"""
