"""nbgrader's settings for a student's JupyterLab (``make lab-student``): where the exchange is.

The Assignment List and Validate read nbgrader's config files (this folder, which is JUPYTER_CONFIG_DIR, and
the folder the lab serves), not the server's command line: without this file, ``--Exchange.root`` never
reaches them and the Assignment List looks for nbgrader's default exchange.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file
if os.environ.get("D2LGRADE_EXCHANGE"):
    c.Exchange.root = os.environ["D2LGRADE_EXCHANGE"]
