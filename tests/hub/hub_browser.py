"""Chromium through the class server's login page, for the browser tests under tests/hub/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from tests.browser import Browser
from tests.hub.hub_harness import Hub

NEWS_OFF = ('mkdir -p "$HOME/.jupyter/lab/user-settings/@jupyterlab/apputils-extension" && printf %s '
            '\'{"fetchNews": "false", "checkForUpdates": false}\' '
            '> "$HOME/.jupyter/lab/user-settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"')
"""A person's own JupyterLab setting: no "get notified about Jupyter news?" over the page (no network anyway)."""


def menu(label: str) -> str:
    """The XPath of JupyterLab's menu-bar item ``label``."""
    return f"//div[contains(@class,'lm-MenuBar-itemLabel') and text()='{label}']"


def log_in(hub: Hub, name: str, shots: Callable[[], int], artifacts: Path) -> Browser:
    """``name`` types their username and password on the hub's login page; the hub starts their server."""
    browser = Browser(name, shots, artifacts)
    browser.d.get(f"{hub.url}/hub/login")
    browser.until(ec.presence_of_element_located((By.ID, "username_input")), "no login page")
    browser.d.find_element(By.ID, "username_input").send_keys(name)
    browser.d.find_element(By.ID, "password_input").send_keys(hub.passwords[name])
    browser.shot("login")
    browser.click("//input[@id='login_submit']", "Sign in button")
    browser.until(lambda d: f"/user/{name}/lab" in d.current_url, f"{name} never reaches their own JupyterLab")
    browser.until(ec.presence_of_element_located((By.XPATH, menu("Nbgrader"))), f"{name}'s JupyterLab has no "
                  "Nbgrader menu")
    return browser
