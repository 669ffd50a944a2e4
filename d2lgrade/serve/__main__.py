"""``d2lgrade serve --config /etc/d2lgrade/hub.toml [--jobs N]``: grade each submission as it reaches the exchange.

On the class server it runs as its own user ``d2lgrade-serve`` (``python -m d2lgrade.hub.launch serve``: in the staff
group of each course that grades on submit, never root, so no course file is executed or written as root) and grades
through the grading service (``D2LGRADE_GRADER_URL``), which runs the sandbox as root; run as root, it grades on warm
workers itself. It reaches the exchange as the hub service ``grader`` (its token: ``JUPYTERHUB_API_TOKEN``, else
``<secrets>/grader.token``).
The queue is ``<state>/serve/queue.sqlite``; feedback pages are kept in ``<state>/serve/feedback/``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from d2lgrade.course.layout import Course
from d2lgrade.grading.cluster import Cluster, ClusterRefused
from d2lgrade.hub.config import ConfigError, HubConfig
from d2lgrade.judging.bundle import Bundle
from d2lgrade.serve.course_files import StaffView
from d2lgrade.serve.course_policies import PolicyBook
from d2lgrade.serve.exchange_api import ExchangeAPI
from d2lgrade.serve.grader import BatchGrader
from d2lgrade.serve.loop import GradeOnSubmit, Serve
from d2lgrade.serve.queue import Queue


def queue_path(config: HubConfig) -> Path:
    return config.state / "serve" / "queue.sqlite"


def service_token(config: HubConfig) -> str:
    token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
    if token:
        return token
    try:
        return (config.secrets / "grader.token").read_text().strip()
    except OSError as e:
        raise ConfigError(f"no hub token for the grading service: set JUPYTERHUB_API_TOKEN or write "
                          f"{config.secrets / 'grader.token'} ({e})") from None


def build(config: HubConfig, jobs: int, exchange_url: str | None = None,
          cluster: Cluster | None = None) -> tuple[Serve, BatchGrader]:
    """The loop as ``d2lgrade serve`` runs it."""
    courses = {c.id: c.path for c in config.courses.values() if c.grade_on_submit}
    exchange = ExchangeAPI(exchange_url or f"{config.exchange.url}/services/exchange", service_token(config))
    queue = Queue(queue_path(config))
    policies = PolicyBook(courses, exchange.set_policies)
    remote = os.geteuid() != 0 and cluster is None
    grader = BatchGrader(courses, jobs, remote=remote, cluster=cluster)
    handler = GradeOnSubmit(exchange, queue, grader, config.state / "serve" / "feedback", policies,
                            lambda c, a: Bundle.load(Course(courses[c]).bundle_path(a)).notebook)

    staff_view = StaffView(queue, {c: Path(p) for c, p in courses.items()})

    def every_pass() -> None:
        policies.refresh()
        handler.release_held()
        staff_view()

    lanes = max(1, jobs) if jobs > 1 or remote or cluster else 1  # one job and no grader elsewhere: in this process
    return Serve(queue, exchange, sorted(courses), handler, handler.tell_failed, batch=max(1, 2 * jobs), lanes=lanes,
                 every_pass=every_pass), grader


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="d2lgrade serve", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("/etc/d2lgrade/hub.toml"), help="the hub's hub.toml")
    parser.add_argument("--jobs", type=int, default=2, help="warm grading workers per course (default 2)")
    parser.add_argument("--exchange-url", help="the exchange (default: [services.exchange], /services/exchange)")
    parser.add_argument("--cluster", metavar="tls://HOST:8786", help="grade on this Dask scheduler's workers (TLS, "
                        "certificates from `d2lgrade cluster-certs`, as `d2lgrade grade --cluster`) instead of here or "
                        "through the grading service")
    parser.add_argument("--cluster-certs", metavar="DIR", help="this machine's client certificate and key for --cluster")
    args = parser.parse_args(argv)
    os.umask(0o007)  # what it writes in a course folder is its staff's to read (its own state folder is 0700)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config = HubConfig.load(args.config)
        cluster = Cluster.secure(args.cluster, Path(args.cluster_certs or ".")) if args.cluster else None
        serve, grader = build(config, args.jobs, args.exchange_url, cluster)
    except (ConfigError, ClusterRefused) as e:
        print(f"serve: {e}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        serve.run(stop)
    except KeyboardInterrupt:
        pass
    finally:
        grader.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
