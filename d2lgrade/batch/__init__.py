"""A folder of submissions graded into the course's records: intake, archive, grading, results, gradebook."""
