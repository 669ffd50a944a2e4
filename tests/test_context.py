"""References run on GPU 0 when MXNet sees a GPU and on the CPU otherwise; D2L_FORCE_CPU forces the CPU."""

from __future__ import annotations

import mxnet as mx
import pytest

from solutions.context import choose_device, default_context, force_cpu_requested


@pytest.mark.parametrize(("gpus", "env", "device"), [
    (0, {}, ("cpu", 0)),
    (1, {}, ("gpu", 0)),
    (4, {}, ("gpu", 0)),
    (2, {"D2L_FORCE_CPU": "1"}, ("cpu", 0)),
    (2, {"D2L_FORCE_CPU": "yes"}, ("cpu", 0)),
    (2, {"D2L_FORCE_CPU": "0"}, ("gpu", 0)),
    (2, {"D2L_FORCE_CPU": ""}, ("gpu", 0)),
    (0, {"D2L_FORCE_CPU": "1"}, ("cpu", 0)),
])
def test_choose_device(gpus, env, device):
    assert choose_device(gpus, env) == device


@pytest.mark.parametrize(("value", "forced"), [("1", True), ("true", True), ("False", False), ("no", False),
                                               (" 0 ", False)])
def test_force_cpu_values(value, forced):
    assert force_cpu_requested({"D2L_FORCE_CPU": value}) is forced


def test_default_context_applies_the_choice_to_mxnet():
    assert default_context(num_gpus=lambda: 1, environ={}) == mx.gpu(0)
    assert default_context(num_gpus=lambda: 0, environ={}) == mx.cpu(0)
    assert default_context(num_gpus=lambda: 1, environ={"D2L_FORCE_CPU": "1"}) == mx.cpu(0)


def test_this_machine_without_gpu_computes_on_cpu():
    assert default_context(environ={}) == (mx.gpu(0) if mx.context.num_gpus() > 0 else mx.cpu(0))
