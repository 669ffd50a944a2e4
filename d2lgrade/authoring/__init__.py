"""From ``source/`` to what students and graders receive: the build, the limits the notebooks state, sample submissions."""
