"""The class server for tests/hub: one real hub (``make hub`` under a temporary prefix) for the whole run.

See ``hub_harness.py``: real Unix users ``d2lt…``, two courses, ports of its own, everything removed at the end.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.hub.hub_harness import Hub, running_hub


@pytest.fixture(scope="session")
def class_server() -> Iterator[Hub]:
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("npm"):
        pytest.fail("the class server's tests need root, useradd and npm (apt-get install passwd nodejs npm)")
    with running_hub() as hub:
        yield hub
