"""Where references run: ``mx.gpu(0)`` when MXNet sees a GPU, the CPU otherwise.

Set ``D2L_FORCE_CPU=1`` to use the CPU even when a GPU is present (e.g. to compare the two, or on a
shared grading machine). The decision is a pure function so that its logic is tested on machines
without a GPU; :func:`default_context` applies it to MXNet. Compare d2l's ``try_gpu`` (book §5.6).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

FORCE_CPU_VARIABLE = "D2L_FORCE_CPU"


def force_cpu_requested(environ: Mapping[str, str]) -> bool:
    """True when the environment asks for the CPU (any value but empty, 0, false or no)."""
    return environ.get(FORCE_CPU_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def choose_device(num_gpus: int, environ: Mapping[str, str]) -> tuple[str, int]:
    """``("gpu", 0)`` if a GPU is visible and the CPU is not forced, else ``("cpu", 0)``."""
    if num_gpus > 0 and not force_cpu_requested(environ):
        return ("gpu", 0)
    return ("cpu", 0)


def default_context(num_gpus: Callable[[], int] | None = None, environ: Mapping[str, str] | None = None) -> Any:
    """The MXNet context references compute on (see :func:`choose_device`)."""
    import mxnet as mx

    count = (num_gpus or mx.context.num_gpus)()
    kind, index = choose_device(count, os.environ if environ is None else environ)
    return mx.gpu(index) if kind == "gpu" else mx.cpu(index)
