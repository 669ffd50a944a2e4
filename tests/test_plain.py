"""to_plain reads values without running their own methods: lying objects cannot change what is judged."""

from __future__ import annotations

import numpy

from d2lgrade.judging.plain import to_plain


class LyingFloat(float):
    def __eq__(self, other):
        return True

    def __float__(self):
        return 42.0

    def __repr__(self):
        return "42.0"


class LyingArray(numpy.ndarray):
    def __eq__(self, other):
        return numpy.ones(self.shape, dtype=bool)

    def __array__(self, *args, **kwargs):
        return numpy.full(self.shape, 42.0)


class Everything:
    def __eq__(self, other):
        return True

    def __bool__(self):
        return True

    def __float__(self):
        return 1.0


def test_float_subclass_is_read_as_its_true_value():
    assert to_plain(LyingFloat(1.5)) == {"t": "float", "v": 1.5}


def test_ndarray_subclass_is_read_as_its_true_data():
    lying = numpy.arange(3.0).view(LyingArray)
    assert to_plain(lying)["data"] == [0.0, 1.0, 2.0]


def test_object_that_equals_everything_is_just_an_object():
    assert to_plain(Everything()) == {"t": "object", "type": f"{__name__}.Everything"}


def test_containers_and_special_floats():
    assert to_plain((1, [2.0, "x"])) == {"t": "tuple", "items": [
        {"t": "int", "v": 1}, {"t": "list", "items": [{"t": "float", "v": 2.0}, {"t": "str", "v": "x"}]}]}
    assert to_plain(float("nan")) == {"t": "float", "v": "nan"}
    assert to_plain(-float("inf")) == {"t": "float", "v": "-inf"}


def test_huge_arrays_are_described_by_shape_only():
    big = numpy.broadcast_to(numpy.zeros(1), (2_000_000,))
    plain = to_plain(big)
    assert plain["shape"] == [2_000_000] and plain["data"] is None


def test_self_containing_list_does_not_recurse_forever():
    loop: list = []
    loop.append(loop)
    assert to_plain(loop)["t"] == "list"


def test_arrays_of_either_byte_order_report_the_same_dtype():
    big = numpy.arange(3, dtype=">i4")
    assert to_plain(big) == to_plain(numpy.arange(3, dtype="int32"))


def test_an_array_mxnet_cannot_compute_is_reported_with_a_clear_reason():
    """MXNet computes lazily: `.T` of a bool array fails only when read, as "Unknown type enum 7"."""
    from mxnet import np as mnp

    plain = to_plain((mnp.array([[1.0, 2.0]]) < 1.5).T)
    assert plain["t"] == "error" and plain["type"] == "MXNetError"
    assert "does not support bool arrays" in plain["message"] and "astype" in plain["message"]
    assert to_plain(mnp.array([[1.0, 2.0]]) < 1.5)["data"] == [True, False]  # MXNet still works afterwards
