"""Write a new source notebook in this course's nbgrader convention from a short Python script.

A convenience for authors who prefer an editor to JupyterLab's nbgrader toolbar: it produces
exactly the cells and metadata docs/authoring.md describes. The ``.ipynb`` it writes is the source
from then on; edit it in JupyterLab (or rerun your script) and run ``make build``.

    nb = NotebookWriter("s02_1", section="2.1", title="Data Manipulation")
    nb.markdown("...")
    nb.code("X = np.arange(12).reshape(3, 4)")
    nb.answer("ex1_lt_answer", "lt = ref.less_than(X, Y)", stub="lt = ...")
    nb.test("ex1_lt", exercise=1, kind="CODE", points=1,
            public='check.value("lt", "array", shape=(3, 4), dtype="bool")',
            hidden='check.judge("lt", rtol=0, atol=0)')
    nb.free("ex3_why", exercise=3, points=1, solution="...model answer and rubric...")
    nb.write(Path("source/s02_1/data_manipulation.ipynb"))
"""

from __future__ import annotations

from pathlib import Path

import nbformat

ATTRIBUTION = (
    "Exercises quoted from *Dive into Deep Learning* by Aston Zhang, Zachary C. Lipton, Mu Li and "
    "Alexander J. Smola, release 0.16.6 ([d2l.ai](https://d2l.ai)), licensed under "
    "[CC BY-SA 4.0](https://creativecommons.org/licenses/by-sa/4.0/). The tasks built on them, the "
    "code and the tests are this course's, under the same license."
)


class NotebookWriter:
    """Accumulates cells with nbgrader metadata; :meth:`write` saves the notebook."""

    def __init__(self, assignment: str, section: str, title: str) -> None:
        self.assignment = assignment
        self.cells: list[nbformat.NotebookNode] = []
        self.metadata = {
            "d2l": {"assignment": assignment, "section": section, "title": title},
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        }
        self._ids: set[str] = set()

    def _nbgrader(self, grade_id: str, *, grade: bool, solution: bool, locked: bool,
                  points: float | None = None) -> dict[str, object]:
        if grade_id in self._ids:
            raise ValueError(f"grade_id {grade_id!r} used twice")
        self._ids.add(grade_id)
        meta: dict[str, object] = {"grade": grade, "solution": solution, "locked": locked,
                                   "grade_id": grade_id, "schema_version": 3}
        if points is not None:
            meta["points"] = points
        return meta

    def _locked_id(self) -> str:
        return f"given_{len(self.cells):02d}"

    def markdown(self, text: str) -> None:
        """Instructions: locked, so a student's edits are undone before grading."""
        self.cells.append(nbformat.v4.new_markdown_cell(text.strip(), metadata={
            "nbgrader": self._nbgrader(self._locked_id(), grade=False, solution=False, locked=True)}))

    def code(self, source: str, locked: bool = True) -> None:
        """Given code from the book or the course."""
        meta = {}
        if locked:
            meta = {"nbgrader": self._nbgrader(self._locked_id(), grade=False, solution=False, locked=True)}
        self.cells.append(nbformat.v4.new_code_cell(source.strip(), metadata=meta))

    def answer(self, grade_id: str, solution: str, stub: str = "") -> None:
        """A code cell the student fills in; ``solution`` uses ``solutions/`` (one source of truth)."""
        body = "\n".join(filter(None, [stub.strip() and f"# {stub.strip()}",
                                       "### BEGIN SOLUTION", solution.strip(), "### END SOLUTION"]))
        self.cells.append(nbformat.v4.new_code_cell(body, metadata={
            "nbgrader": self._nbgrader(grade_id, grade=False, solution=True, locked=False)}))

    def test(self, grade_id: str, *, exercise: int, kind: str, points: float, public: str, hidden: str) -> None:
        """An autograded part: public contract check, hidden judgement (stripped from the release)."""
        body = "\n".join([public.strip(), "### BEGIN HIDDEN TESTS", hidden.strip(), "### END HIDDEN TESTS"])
        self.cells.append(nbformat.v4.new_code_cell(body, metadata={
            "nbgrader": self._nbgrader(grade_id, grade=True, solution=False, locked=True, points=points),
            "d2l": {"exercise": exercise, "kind": kind}}))

    def free(self, grade_id: str, *, exercise: int, points: float, solution: str, kind: str = "FREE") -> None:
        """A written answer graded by a person; ``solution`` holds the model answer and the rubric."""
        body = "\n".join(["### BEGIN SOLUTION", solution.strip(), "### END SOLUTION"])
        self.cells.append(nbformat.v4.new_markdown_cell(body, metadata={
            "nbgrader": self._nbgrader(grade_id, grade=True, solution=True, locked=False, points=points),
            "d2l": {"exercise": exercise, "kind": kind}}))

    def write(self, path: Path) -> None:
        nb = nbformat.v4.new_notebook(cells=self.cells, metadata=self.metadata)
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{self.assignment.replace('_', '-')}-{i:03d}"
        nbformat.validate(nb)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
