"""The course on disk: where things are, who may read what, and the records grading keeps.

``layout`` (the :class:`~d2lgrade.course.layout.Course`: folders, assignments in book order, the
gradebook's URL), ``access`` (the course's group and file modes), ``records`` (submissions kept byte for
byte, refused files, atomic writes), ``listing`` (the course as data for ``d2lgrade list``).
"""
