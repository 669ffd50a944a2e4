"""One person's Chromium and the notebook open in it, for the browser tests (the single-machine workflow in
``tests/test_browser_workflow.py`` and the class server's in ``tests/hub/``): waits on what a person sees."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.jupyter_servers import CHROMEDRIVER, CHROMIUM, WAIT


class Browser:
    """One person's Chromium: headless, Debian's driver given explicitly (Selenium Manager never goes online)."""

    def __init__(self, who: str, shots: Callable[[], int], artifacts: Path) -> None:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1400,1000", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update"):
            options.add_argument(arg)
        self.who, self._shots, self.artifacts = who, shots, artifacts
        self.d = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
        self.d.set_page_load_timeout(WAIT)
        # A list JupyterLab draws again (the Assignment List after each action) leaves elements found a moment
        # before stale: looked for again, as one not there yet is.
        self.wait = WebDriverWait(self.d, WAIT, ignored_exceptions=(StaleElementReferenceException,))

    def shot(self, step: str) -> None:
        self.d.save_screenshot(str(self.artifacts / f"{self._shots():02d}-{self.who}-{step}.png"))

    def until(self, condition: Callable, message: str) -> object:
        return self.wait.until(condition, message)

    def click(self, xpath: str, what: str) -> WebElement:
        """Scroll to the element and click it, again while the page still moves under it (a loaded machine lays
        out the manual-grading page late: the click lands on the cell above until it settles)."""
        def clicked(d: webdriver.Chrome) -> WebElement | bool:
            element = ec.element_to_be_clickable((By.XPATH, xpath))(d)
            if not element:
                return False
            d.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
            try:
                element.click()
            except ElementClickInterceptedException:
                return False
            return element

        return self.until(clicked, f"{self.who}: no {what} to click")

    def text(self, css: str = "body") -> str:
        return self.d.find_element(By.CSS_SELECTOR, css).text

    def sees(self, text: str, css: str = "body") -> None:
        self.until(lambda d: text in d.find_element(By.CSS_SELECTOR, css).text, f"{self.who} never sees {text!r}")

    def keys(self, *keys: str, modifier: str | None = None) -> None:
        chain = ActionChains(self.d)
        if modifier:
            chain.key_down(modifier)
        chain.send_keys(*keys)
        if modifier:
            chain.key_up(modifier)
        chain.perform()

    def quit(self) -> None:
        self.d.quit()


class Notebook:
    """The open notebook in a student's JupyterLab, cell by cell (JupyterLab 4 keeps every cell in the page)."""

    def __init__(self, browser: Browser) -> None:
        self.b = browser

    def cell(self, index: int) -> WebElement:
        return self.b.d.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Notebook .jp-Cell")[index]

    def show(self, index: int) -> WebElement:
        cell = self.cell(index)
        self.b.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", cell)
        return cell

    def type(self, index: int, text: str) -> None:
        """Click into the cell's editor, select what is there, type ``text`` over it."""
        self.show(index).find_element(By.CSS_SELECTOR, ".cm-content").click()
        self.b.keys("a", modifier=Keys.CONTROL)
        self.b.keys(text)
        self.b.until(lambda d: self.cell(index).find_element(By.CSS_SELECTOR, ".cm-content").text == text,
                     f"cell {index} does not show what was typed: {text!r}")

    def run(self, index: int) -> None:
        """Select the cell by its prompt and run it with Shift+Enter; wait until it has run."""
        cell = self.show(index)
        before = cell.find_element(By.CSS_SELECTOR, ".jp-InputPrompt").text
        cell.find_element(By.CSS_SELECTOR, ".jp-InputPrompt").click()
        self.b.keys(Keys.ENTER, modifier=Keys.SHIFT)

        def ran(_) -> bool:
            prompt = self.cell(index).find_element(By.CSS_SELECTOR, ".jp-InputPrompt").text
            return prompt != before and "*" not in prompt and any(ch.isdigit() for ch in prompt)
        self.b.until(ran, f"cell {index} did not run")

    def output(self, index: int) -> str:
        return self.cell(index).find_element(By.CSS_SELECTOR, ".jp-OutputArea").text

    def write_markdown(self, index: int, text: str) -> None:
        """Open a rendered Markdown cell for editing (double-click), type ``text`` over it, render it again."""
        rendered = self.show(index).find_element(By.CSS_SELECTOR, ".jp-RenderedMarkdown")
        ActionChains(self.b.d).double_click(rendered).perform()
        self.type(index, text)
        self.b.keys(Keys.ENTER, modifier=Keys.CONTROL)  # render, without adding a cell
        self.b.until(lambda d: text in self.cell(index).find_element(By.CSS_SELECTOR, ".jp-RenderedMarkdown").text,
                     f"cell {index} is not rendered with what was typed")
        self.b.keys(Keys.ESCAPE)

    def save(self) -> None:
        """Ctrl+S, until the notebook's tab is no longer marked as changed."""
        self.b.keys("s", modifier=Keys.CONTROL)
        self.b.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "li.lm-TabBar-tab.jp-mod-dirty"),
                     "the notebook was not saved")


def autograde_first_submission(b: Browser) -> str:
    """On the formgrader's submissions page: the Autograde button, until the dialog says Success; its text."""
    b.click("//td[contains(@class,'autograde')]/a", "Autograde button")
    b.sees("Successfully autograded", ".modal-body")
    b.until(lambda d: d.find_element(By.CSS_SELECTOR, ".modal-title").text == "Success",
            "the Autograde dialog's title never says Success")  # it fades in after its body
    return b.text(".modal-body")


def grade_by_hand(b: Browser, assignment: str, notebook: str, grade_id: str, written: str, points: str,
                  comment: str) -> WebElement:
    """Manual Grading → the assignment → the notebook → Submission #1: reads the written answer, types its points and
    a comment, each saved when the box is left (nbgrader's ``finished_saving`` event). The score box, for a shot."""
    b.click("//a[normalize-space()='Manual Grading']", "Manual Grading")
    b.click(f"//table//a[text()='{assignment}']", "assignment in Manual Grading")
    b.click(f"//table//a[text()='{notebook}']", "notebook in Manual Grading")
    b.click("//a[text()='Submission #1']", "the submission")
    b.sees(written)
    b.d.execute_script("window.savedCount = 0; $(document).on('finished_saving', function () { window.savedCount++; });")
    score = b.click(f"//input[@id='{grade_id}']", "score of the written answer")
    assert "needs_manual_grade" in score.get_attribute("class")
    score.send_keys(points, Keys.TAB)
    b.until(lambda d: d.execute_script("return window.savedCount") >= 1, "the score is not saved")
    b.until(lambda d: "needs_manual_grade" not in score.get_attribute("class"), "the written answer still needs grading")
    b.click(f"//textarea[@id='{grade_id}-comment']", "comment box").send_keys(comment, Keys.TAB)
    b.until(lambda d: d.execute_script("return window.savedCount") >= 2, "the comment is not saved")
    b.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", score)
    return score


def open_in_lab_viewer(b: Browser, name: str) -> WebElement:
    """Double-click ``name`` in JupyterLab's file browser (where "view feedback" led) and switch into the HTML
    viewer's frame; the frame element."""
    item = b.until(ec.element_to_be_clickable(
        (By.XPATH, f"//li[contains(@class,'jp-DirListing-item')][.//span[text()='{name}']]")),
        f"no {name} in the file browser")
    ActionChains(b.d).double_click(item).perform()
    frame = b.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".jp-HTMLViewer iframe")), f"{name} does not open")
    b.d.switch_to.frame(frame)
    return frame


@contextmanager
def failure_shots(artifacts: Path, browsers: Iterable[Browser]) -> Iterator[None]:
    """On any failure inside: a screenshot and the page of each browser (``browsers`` is read then: a list still
    being filled, or a dict's values), then the failure."""
    try:
        yield
    except BaseException:
        for browser in browsers:
            try:
                browser.d.switch_to.default_content()
                browser.shot("FAILED")
                (artifacts / f"{browser.who}-FAILED.html").write_text(browser.d.page_source)
            except WebDriverException:
                pass
        raise
