"""One person's Chromium and the notebook open in it, for the browser tests (the single-machine workflow in
``tests/test_browser_workflow.py`` and the class server's in ``tests/hub/``): waits on what a person sees."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import ElementClickInterceptedException
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
        self.wait = WebDriverWait(self.d, WAIT)

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
