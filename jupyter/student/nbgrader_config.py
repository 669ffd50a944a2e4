"""nbgrader's settings for a student's JupyterLab (``make lab-student``): where the exchange is.

The Assignment List and Validate read nbgrader's config files (this folder, which is JUPYTER_CONFIG_DIR, and
the folder the lab serves), not the server's command line: without this file, ``--Exchange.root`` never
reaches them and the Assignment List looks for nbgrader's default exchange.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file
if os.environ.get("D2LGRADE_EXCHANGE"):
    c.Exchange.root = os.environ["D2LGRADE_EXCHANGE"]

# On the class server (deploy/, README "Running a term") the exchange is a JupyterHub service: who submitted and when
# come from the hub login and the service's clock, never from a shared folder. Named by strings only, so this file
# cannot fail here: nbgrader drops a config file that raises and would fall back to the folder exchange. A class that
# cannot be imported later stops the command instead (fail closed).
if os.environ.get("D2LGRADE_EXCHANGE_URL"):
    for _step, _class in {"exchange": "HubExchange", "fetch_assignment": "HubFetchAssignment",
                          "fetch_feedback": "HubFetchFeedback", "release_assignment": "HubReleaseAssignment",
                          "release_feedback": "HubReleaseFeedback", "list": "HubList", "submit": "HubSubmit",
                          "collect": "HubCollect"}.items():
        setattr(c.ExchangeFactory, _step, f"d2lgrade.hub.exchange_client.{_class}")
    c.HubExchange.url = os.environ["D2LGRADE_EXCHANGE_URL"]
