"""Reference solutions for §2.2 Data Preprocessing (D2L release 0.16.6, CC BY-SA 4.0).

The exercises ask for "a raw dataset with more rows and columns" than the book's ``house_tiny.csv``.
``RAW_CSV`` is that dataset: the notebook writes exactly these lines to ``data/house_small.csv`` (the
authoring script builds the notebook's cell from this constant, so the two cannot drift apart).

Two differences from the book's code, both forced by pandas 2: ``inputs.mean()`` raises on a frame
with a string column, so the mean is taken with ``numeric_only=True``; and ``get_dummies`` now makes
``bool`` columns, so ``inputs.values`` has dtype ``object``, which MXNet refuses: the frame is
converted to floats before it becomes a tensor.
"""

from __future__ import annotations

import io

import numpy as onp
import pandas as pd
from mxnet import np, npx

from d2lgrade.judging.reference import Function, Misconception, Region, Value
from solutions.context import default_context

npx.set_np()
CTX = default_context()

DATA_FILE = "house_small.csv"
RAW_CSV = """\
NumRooms,Area,Alley,RoofType,YearBuilt,Price
NA,74.5,Pave,Slate,1998,127500
2,58.0,NA,NA,1975,106000
4,112.0,NA,Tile,2004,178100
NA,88.5,NA,Slate,1989,140000
3,NA,Grvl,Tile,1962,121000
5,140.0,NA,Slate,2011,235000
3,92.0,Pave,NA,1994,152500
NA,65.5,NA,Tile,1971,98000
4,NA,NA,Slate,2007,189900
2,49.0,Grvl,Tile,1958,87500
6,165.5,Pave,Slate,2016,268000
3,81.0,NA,Thatch,1983,133000
"""
"""The notebook's raw dataset: 12 houses, 6 columns, missing values ("NA") in four of them."""

TARGET = "Price"


def raw_data() -> pd.DataFrame:
    """The dataset as ``pd.read_csv`` reads the notebook's file ("NA" becomes NaN)."""
    return pd.read_csv(io.StringIO(RAW_CSV))


# Exercise 1: delete the column with the most missing values.

def most_missing_column(df: pd.DataFrame) -> str:
    """The column with the most NaN entries; on a tie, the leftmost of them (``idxmax`` keeps the first)."""
    return str(df.isna().sum().idxmax())


def drop_most_missing(df: pd.DataFrame) -> pd.DataFrame:
    """A new frame: ``df`` without its column with the most missing values (``df`` is left unchanged)."""
    return df.drop(columns=most_missing_column(df))


def drop_most_missing_cases() -> list[tuple[pd.DataFrame]]:
    """Frames where the answer is not 'Alley', ties, a numeric column as the most missing, the last column."""
    nan = onp.nan
    return [
        (raw_data(),),
        (pd.DataFrame({"a": [1.0, nan, nan, 4.0], "b": ["x", nan, "y", "z"], "c": [nan, nan, nan, 1.0]}),),
        # a tie between "b" and "c" (2 each): the leftmost, "b", goes
        (pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [nan, 2.5, nan, 1.0, 0.5],
                       "c": ["u", nan, "v", nan, "w"], "d": [nan, 1.0, 2.0, 3.0, 4.0]}),),
        (pd.DataFrame({"city": [nan, "Oslo", nan, nan, "Rome", nan], "temp": [3.5, nan, 12.0, 8.0, 20.5, nan],
                       "rain": [nan, 1.0, 0.0, 2.5, nan, 0.0]}),),
        # the first column is the most missing
        (pd.DataFrame({"w": [nan, nan, nan, 1.0, nan, 2.0, nan], "x": [1, 2, 3, 4, 5, 6, 7],
                       "y": ["p", nan, "q", "p", nan, "q", "p"], "z": [nan, 0.5, 1.5, nan, 2.5, 3.5, 4.5]}),),
    ]


def _most_missing(df: pd.DataFrame) -> list[str]:
    counts = df.isna().sum()
    return [str(c) for c in counts.index[counts == counts.max()]]


DROP_MOST_MISSING_DOMAIN = (
    Region("a tie for the most missing values", lambda df: len(_most_missing(df)) > 1),
    Region("a text column has the most", lambda df: df[_most_missing(df)[0]].dtype == object),
    Region("a numeric column has the most", lambda df: df[_most_missing(df)[0]].dtype != object),
    Region("the first column goes", lambda df: _most_missing(df)[0] == df.columns[0]),
    Region("the last column goes", lambda df: _most_missing(df)[0] == df.columns[-1]),
    Region("a middle column goes", lambda df: _most_missing(df)[0] not in (df.columns[0], df.columns[-1])),
)


# Exercise 2: convert the preprocessed dataset to the tensor format.

def to_tensor(inputs: pd.DataFrame) -> np.ndarray:
    """§2.2.2–2.2.3: impute numeric NaN with column means, one-hot the rest (NaN as a category), to floats."""
    inputs = inputs.fillna(inputs.mean(numeric_only=True))
    inputs = pd.get_dummies(inputs, dummy_na=True)
    return np.array(inputs.to_numpy(dtype="float32"), ctx=CTX)


def to_tensor_cases() -> list[tuple[pd.DataFrame]]:
    """String columns before numeric ones (get_dummies moves them last), categories without NaN, ints."""
    nan = onp.nan
    return [
        (pd.DataFrame({"rooms": [nan, 2.0, 4.0, nan], "alley": ["Pave", nan, nan, nan]}),),
        (pd.DataFrame({"color": ["red", "blue", nan, "red", "green"], "size": [1.0, nan, 3.0, 4.0, nan],
                       "count": [3, 1, 4, 1, 5]}),),
        (pd.DataFrame({"kind": ["b", "a", "b", "a"], "x": [0.5, -1.5, nan, 2.0],
                       "grade": [nan, "B", "A", "C"], "y": [nan, nan, 7.0, -2.0]}),),
        (pd.DataFrame({"n": [10, 20, 30], "m": [1.0, 2.0, 4.0]}),),
        (raw_data().drop(columns=["Alley", TARGET]),),
        (pd.DataFrame({"a": ["y", "x", nan], "b": ["u", "u", "v"]}),),  # text columns only
    ]


def _text(df: pd.DataFrame) -> list[bool]:
    return [df[c].dtype == object for c in df.columns]


TO_TENSOR_DOMAIN = (
    Region("a text column before a numeric one",
           lambda df: any(t and not u for i, t in enumerate(_text(df)) for u in _text(df)[i + 1:])),
    Region("numeric columns only", lambda df: not any(_text(df))),
    Region("text columns only", lambda df: all(_text(df))),
    Region("a text column without NaN (its _nan column is all 0)",
           lambda df: any(df[c].dtype == object and not df[c].isna().any() for c in df.columns)),
    Region("an int column", lambda df: any(df[c].dtype.kind == "i" for c in df.columns)),
    Region("a numeric column with NaN",
           lambda df: any(df[c].dtype.kind == "f" and df[c].isna().any() for c in df.columns)),
    Region("negative numbers",
           lambda df: any(df[c].dtype.kind in "if" and (df[c] < 0).any() for c in df.columns)),
)


def preprocessed_inputs() -> np.ndarray:
    """Exercise 2 on the notebook's dataset: the most-missing column and the target removed, then to_tensor."""
    data = raw_data()
    return to_tensor(data.drop(columns=[most_missing_column(data), TARGET]))


def targets() -> np.ndarray:
    return np.array(raw_data()[TARGET].to_numpy(dtype="float32"), ctx=CTX)

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
DROP_MOST_MISSING_MISTAKES = (
    Misconception("threshold", "Dropping by a threshold of missing values is not dropping the one column with the "
                  "most: on other tables it deletes several columns, or none.",
                  wrong=lambda df: df.dropna(axis=1, thresh=len(df) // 2),
                  code="def drop_most_missing(df):\n    return df.dropna(axis=1, thresh=len(df) // 2)"),
    Misconception("rightmost-tie", "On a tie, the task deletes the leftmost of the columns with the most missing values.",
                  wrong=lambda df: df.drop(columns=df.isna().sum()[::-1].idxmax()),
                  code="def drop_most_missing(df):\n    return df.drop(columns=df.isna().sum()[::-1].idxmax())"),
)
TO_TENSOR_MISTAKES = (
    Misconception("no-dummy-na", "\"Missing\" is a category of its own: without `dummy_na=True` the missing text "
                  "values get no indicator column.",
                  wrong=lambda inputs: np.array(pd.get_dummies(inputs.fillna(inputs.mean(numeric_only=True)))
                                                .to_numpy(dtype=float), ctx=CTX),
                  code="def to_tensor(inputs):\n    inputs = inputs.fillna(inputs.mean(numeric_only=True))\n"
                       "    inputs = pd.get_dummies(inputs)\n    return np.array(inputs.to_numpy(dtype=float))"),
)


REFERENCES = {
    "most_missing": Value(lambda: most_missing_column(raw_data())),
    "drop_most_missing": Function(drop_most_missing, drop_most_missing_cases, DROP_MOST_MISSING_DOMAIN,
                                  misconceptions=DROP_MOST_MISSING_MISTAKES),
    "to_tensor": Function(to_tensor, to_tensor_cases, TO_TENSOR_DOMAIN, misconceptions=TO_TENSOR_MISTAKES),
    "X": Value(preprocessed_inputs),
    "y": Value(targets),
}
