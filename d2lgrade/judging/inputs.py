"""The kinds of a function question's hidden inputs: what the task text states and what the tests use.

A task's text must decide every hidden case: a student whose function is right on every input the text
describes must get full marks. So each function question declares, in its test cell's metadata
(``d2l.inputs``: parameter -> kinds), the kinds of input its hidden tests pass, from a fixed vocabulary
(:data:`VOCABULARY`); :func:`inputs_paragraph` renders that declaration into the sentence the task text
carries word for word (:mod:`d2lgrade.judging.spec` refuses a notebook where it does not), and
``tests/test_stated_inputs.py`` classifies every hidden input (:func:`kinds_of`) and fails when one is of a
kind the declaration does not name. :func:`case_label` names the kinds of one failed input in feedback,
never its values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from d2lgrade.judging.plain import Plain

TYPE, SHAPE, FEATURE, SIGN = "type", "shape", "feature", "sign"
"""The groups of kinds: what an input is; how many axes or items (alternatives); features some inputs have
(a length-1 axis, missing values); the signs of its numbers."""

_AXES = ("no axes", "1 axis", *(f"{n} axes" for n in range(2, 33)))
_ITEMS = ("no items", "1 item", *(f"{n} items" for n in range(2, 33)))

VOCABULARY: dict[str, str] = {
    **{f"{d} array": TYPE for d in ("float32", "float64", "float16", "int32", "int64", "uint8", "bool")},
    **{k: TYPE for k in ("int", "float", "bool value", "str", "tuple", "list", "data frame")},
    **{k: SHAPE for k in (*_AXES, *_ITEMS)},
    **{k: FEATURE for k in ("an axis of length 1", "no entries", "no rows", "missing values", "text columns",
                            "numeric columns")},
    **{k: SIGN for k in ("negative", "zero", "positive", "NaN", "infinite")},
}
"""Every kind an input can be classified as, in the order statements list them, with its group."""

_ORDER = {kind: i for i, kind in enumerate(VOCABULARY)}


def kinds_of(plain: Plain) -> frozenset[str]:
    """The kinds of one plain hidden input (as :func:`d2lgrade.judging.plain.to_plain` gives it)."""
    tag = plain.get("t")
    if tag == "array":
        return _array_kinds(plain)
    if tag in ("int", "float"):
        return frozenset({tag, *_signs([plain["v"]])})
    if tag in ("tuple", "list"):
        items = plain["items"]
        numbers = [p["v"] for p in items if p.get("t") in ("int", "float")]
        return frozenset({tag, _count(len(items), _ITEMS), *_signs(numbers)})
    if tag == "frame":
        return _frame_kinds(plain)
    return frozenset({{"bool": "bool value", "str": "str"}.get(str(tag), f"unclassified ({tag})")})


def _count(n: int, names: tuple[str, ...]) -> str:
    return names[n] if n < len(names) else f"{n} {names[2].split()[1]}"


def _array_kinds(plain: Plain) -> frozenset[str]:
    shape, data = plain["shape"], plain.get("data") or []
    kinds = {f"{plain['dtype']} array", _count(len(shape), _AXES)}
    if 1 in shape and math.prod(shape) > 0:
        kinds.add("an axis of length 1")
    if math.prod(shape) == 0:
        kinds.add("no entries")
    numeric = [x for x in data if not isinstance(x, bool)] if plain["dtype"] != "bool" else []
    return frozenset(kinds | _signs(numeric))


def _signs(numbers: Iterable[Any]) -> set[str]:
    """Negative, zero, positive, NaN, infinite: plain floats spell NaN and infinities as strings."""
    found = set()
    for x in numbers:
        value = float(x) if isinstance(x, str) else x
        if math.isnan(value):
            found.add("NaN")
            continue
        if math.isinf(value):
            found.add("infinite")
        found.add("negative" if value < 0 else "zero" if value == 0 else "positive")
    return found


def _frame_kinds(plain: Plain) -> frozenset[str]:
    kinds = {"data frame"}
    if plain["shape"][0] == 0:
        kinds.add("no rows")
    for column in plain["data"]:
        text = column["dtype"] in ("object", "str") or any(isinstance(x, dict) and x.get("t") == "str"
                                                          for x in column.get("data") or [])
        kinds.add("text columns" if text else "numeric columns")
        if any(_missing(x) for x in column.get("data") or []):
            kinds.add("missing values")
    return frozenset(kinds)


def _missing(x: Any) -> bool:
    if isinstance(x, dict):
        return x.get("t") == "none" or (x.get("t") == "float" and x.get("v") == "nan")
    return x == "nan"


def ordered(kinds: Iterable[str]) -> list[str]:
    """Kinds in the vocabulary's order (unknown ones last, alphabetically)."""
    return sorted(set(kinds), key=lambda k: (_ORDER.get(k, len(_ORDER)), k))


def unknown_kinds(stated: Mapping[str, Sequence[str]]) -> list[str]:
    """Kinds a declaration names that are not in the vocabulary (a typo would state nothing)."""
    return [k for kinds in stated.values() for k in kinds if k not in VOCABULARY]


def _join(words: list[str], last: str) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def _describe(kinds: Iterable[str], with_type: bool) -> str:
    """``float32 arrays with 1 or 2 axes (among them: an axis of length 1); entries negative and zero``; without
    the type for one input's label (``with 2 axes and an axis of length 1; entries zero``)."""
    groups: dict[str, list[str]] = {TYPE: [], SHAPE: [], FEATURE: [], SIGN: []}
    for kind in ordered(kinds):
        groups[VOCABULARY.get(kind, FEATURE)].append(kind)
    types, shapes, features, signs = groups[TYPE], groups[SHAPE], groups[FEATURE], groups[SIGN]
    text = _join([f"{t}s" for t in types], "or") if with_type and types else ""
    if with_type:
        text += f" with {_join(shapes, 'or')}" if shapes else ""
        text += f" (among them: {_join(features, 'and')})" if features else ""
    elif shapes or features:
        text += f"with {_join(shapes + features, 'and')}"
    container = any(t.endswith(("array", "tuple", "list")) for t in types) or bool(shapes or features)
    if signs:
        said = f"entries {_join(signs, 'and')}" if container else _join(signs, "and")
        if with_type and not container:
            text += f" ({said})"
        else:
            text += f"{('; ' if with_type else ', ') if text else ''}{said}"
    return text.strip()


def inputs_paragraph(stated: Mapping[str, Sequence[str]]) -> str:
    """The sentence a function task's text carries: the kinds of its hidden inputs, parameter by parameter."""
    parts = [f"`{param}`: {_describe(kinds, with_type=True)}." for param, kinds in stated.items()]
    return "**Hidden test inputs** (each kind listed occurs, and no other): " + " ".join(parts)


def case_kinds(params: Sequence[str], args: Sequence[Plain]) -> dict[str, frozenset[str]]:
    """The kinds of each argument of one hidden case, by parameter name."""
    return {param: kinds_of(arg) for param, arg in zip(params, args, strict=False)}


EDGES = frozenset({"no axes", "no entries", "no items", "no rows", "an axis of length 1", "missing values", "zero",
                   "negative", "NaN", "infinite"})
"""The kinds a failure message names: where answers right on ordinary inputs tend to break."""


def case_label(params: Sequence[str], args: Sequence[Plain]) -> str:
    """The edge kinds of one hidden case (```x` with no axes, entries negative``), never its values; empty when
    it has none (an ordinary input needs no label)."""
    parts = [f"`{p}` {_describe({k for k in kinds if k in EDGES or VOCABULARY.get(k) == TYPE}, with_type=False)}"
             for p, kinds in case_kinds(params, args).items() if kinds & EDGES]
    label = "; ".join(parts)
    return label if len(label) <= 240 else label[:239] + "…"


def unstated(stated: Mapping[str, Sequence[str]], params: Sequence[str],
             cases: Sequence[Sequence[Plain]]) -> list[str]:
    """Each hidden case's kinds that the statement does not name, as 'test input 4: `x` is no axes'."""
    problems = []
    for number, args in enumerate(cases, start=1):
        for param, kinds in case_kinds(params, args).items():
            extra = ordered(kinds - set(stated.get(param, ())))
            if extra:
                problems.append(f"test input {number}: `{param}` is {', '.join(repr(k) for k in extra)}")
    return problems


def unused(stated: Mapping[str, Sequence[str]], params: Sequence[str], cases: Sequence[Sequence[Plain]]) -> list[str]:
    """Kinds the statement names that no hidden case has: the text promises a case the tests never try."""
    seen: dict[str, set[str]] = {p: set() for p in params}
    for args in cases:
        for param, kinds in case_kinds(params, args).items():
            seen[param] |= kinds
    return [f"`{p}` {k!r}" for p, kinds in stated.items() for k in kinds if k not in seen.get(p, set())]
