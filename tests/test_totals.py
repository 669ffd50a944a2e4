"""One wording of a submission's totals: the CLI's progress line, the course table and the results JSON agree."""

from __future__ import annotations

from d2lgrade.grading.progress import Progress
from d2lgrade.judging.results import FAILED, MANUAL, PASSED, QuestionResult, SubmissionResult, course_table, gradescope_json

WORDS = "12 / 12 autograded, 5 to grade by hand"


def _result(student: str = "ada", problem: str | None = None) -> SubmissionResult:
    questions = (*(QuestionResult(f"q{i}", 1, "value", 0 if problem else 3, 3, FAILED if problem else PASSED, "")
                   for i in range(4)),
                 QuestionResult("why", 2, "written", 0, 5, MANUAL, ""))
    return SubmissionResult("s02_3", student, f"{student}.ipynb", questions, problem)


def test_the_totals_read_the_same_in_progress_table_and_results_json():
    result = _result()
    lines: list[str] = []
    progress = Progress(1, lines.append, terminal=False)
    progress.done(result.student, result)
    table = course_table([result], ["s02_3"])
    assert str(result.totals) == WORDS
    assert f"s02_3 ada: {WORDS}  [" in lines[0]
    assert gradescope_json(result)["output"].splitlines()[0] == f"s02_3: {WORDS}."
    row = table.splitlines()[2]
    assert row.split()[:5] == ["ada", "12", "/", "12", "+5"] and row.endswith(WORDS)


def test_the_table_sums_a_student_and_marks_what_could_not_be_graded():
    table = course_table([_result(), _result("bob", "not a notebook"),
                          SubmissionResult("s02_1", "ada", "ada.ipynb",
                                           (QuestionResult("q", 1, "value", 2, 4, PASSED, ""),))], ["s02_1", "s02_3"])
    ada, bob = table.splitlines()[2:4]
    assert ada.endswith("14 / 16 autograded, 5 to grade by hand")
    assert "0 / 12 +5 !" in bob and bob.split()[1] == "-"
    assert "hand" in table.splitlines()[-1] and "!" in table.splitlines()[-1]


def test_no_written_answers_no_words_about_them():
    result = SubmissionResult("s02_1", "ada", "ada.ipynb", (QuestionResult("q", 1, "value", 1, 1, PASSED, ""),))
    assert str(result.totals) == "1 / 1 autograded"
    assert gradescope_json(result)["output"] == "s02_1: 1 / 1 autograded."
