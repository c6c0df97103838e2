"""Code fingerprints: a step's source plus the project code it reaches, libraries by version.

Each test writes project modules into its own folder (``code`` fixture), takes a fingerprint,
edits a file, re-imports it fresh and compares.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from loopml.pipelines import _fingerprint
from loopml.pipelines._fingerprint import code_fingerprint
from tests.pipelines._project import CodeProject

HELPERS = """
def double(x):
    return other(x) * 2


def other(x):
    return x + 1


def unrelated(x):
    return x - 1


class Scaler:
    def __init__(self, factor):
        self.factor = factor

    def apply(self, x):
        return x * self.factor
"""


def fingerprint_of(code: CodeProject, module: str, name: str) -> str:
    return code_fingerprint(getattr(code.load(module), name))


def edited(
    code: CodeProject, files: dict[str, str], module: str, name: str, edit: tuple[str, str, str]
) -> tuple[str, str]:
    """Fingerprint of ``module.name`` before and after replacing text in one file."""
    for file, source in files.items():
        code.write(file, source)
    before = fingerprint_of(code, module, name)
    file, old, new = edit
    assert old in files[file], f"{old!r} is not in {file}"
    code.write(file, files[file].replace(old, new))
    return before, fingerprint_of(code, module, name)


def test_a_fingerprint_is_a_sha256_and_stable_across_calls(code: CodeProject) -> None:
    code.write("helpers.py", HELPERS)
    code.write("flow.py", "from helpers import double\n\ndef step(x):\n    return double(x)\n")
    first = fingerprint_of(code, "flow", "step")
    assert first.startswith("sha256:") and len(first) == 7 + 64
    module = code.load("flow")
    assert code_fingerprint(module.step) == code_fingerprint(module.step) == first
    assert fingerprint_of(code, "flow", "step") == first  # imported afresh: the same


def test_a_fingerprint_is_the_same_in_another_process(code: CodeProject) -> None:
    code.write("helpers.py", HELPERS)
    code.write("flow.py", "import helpers\n\ndef step(x):\n    return helpers.double(x)\n")
    script = (
        "import sys; sys.path.insert(0, '.'); import flow; "
        "from loopml.pipelines._fingerprint import code_fingerprint; "
        "print(code_fingerprint(flow.step))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-B", "-c", script],
            capture_output=True,
            text=True,
            check=True,
            cwd=code.folder,
        ).stdout.strip()
        for _ in range(2)
    }
    assert outputs == {fingerprint_of(code, "flow", "step")}


def test_the_fingerprint_changes_when_the_step_body_changes(code: CodeProject) -> None:
    flow = "def step(x):\n    return x + 1\n"
    before, after = edited(code, {"flow.py": flow}, "flow", "step", ("flow.py", "x + 1", "x + 2"))
    assert before != after


def test_comments_blank_lines_and_formatting_do_not_change_the_fingerprint(
    code: CodeProject,
) -> None:
    flow = "from helpers import double\n\ndef step(x):\n    return double(x)\n"
    reformatted = (
        "def double(x):  # twice, after other\n\n\n"
        "    # a comment\n"
        "    return (\n        other(x)\n        * 2\n    )\n"
    )
    before, after = edited(
        code,
        {"helpers.py": HELPERS, "flow.py": flow},
        "flow",
        "step",
        ("helpers.py", "def double(x):\n    return other(x) * 2\n", reformatted),
    )
    assert before == after


def test_a_comment_in_the_step_itself_does_not_change_the_fingerprint(code: CodeProject) -> None:
    flow = "def step(x):\n    return x + 1\n"
    before, after = edited(
        code,
        {"flow.py": flow},
        "flow",
        "step",
        ("flow.py", "    return x + 1\n", "    # add one\n\n    return x + 1  # done\n"),
    )
    assert before == after


@pytest.mark.parametrize(
    "flow",
    [
        "from helpers import double\n\ndef step(x):\n    return double(x)\n",
        "import helpers\n\ndef step(x):\n    return helpers.double(x)\n",
        "import helpers as h\n\ndef step(x):\n    return h.double(x)\n",
    ],
    ids=["imported-name", "module-attribute", "module-alias"],
)
def test_the_fingerprint_changes_when_a_called_project_helper_changes(
    code: CodeProject, flow: str
) -> None:
    before, after = edited(
        code,
        {"helpers.py": HELPERS, "flow.py": flow},
        "flow",
        "step",
        ("helpers.py", "return other(x) * 2", "return other(x) * 3"),
    )
    assert before != after


@pytest.mark.parametrize(
    "flow",
    [
        "from helpers import double\n\ndef step(x):\n    return double(x)\n",
        "import helpers\n\ndef step(x):\n    return helpers.double(x)\n",
    ],
    ids=["imported-name", "module-attribute"],
)
def test_a_helper_called_by_a_helper_counts_transitively(code: CodeProject, flow: str) -> None:
    before, after = edited(
        code,
        {"helpers.py": HELPERS, "flow.py": flow},
        "flow",
        "step",
        ("helpers.py", "return x + 1", "return x + 10"),
    )
    assert before != after


@pytest.mark.parametrize(
    "flow",
    [
        "from helpers import double\n\ndef step(x):\n    return double(x)\n",
        "import helpers\n\ndef step(x):\n    return helpers.double(x)\n",
    ],
    ids=["imported-name", "module-attribute"],
)
def test_changing_an_unrelated_function_does_not_change_the_fingerprint(
    code: CodeProject, flow: str
) -> None:
    before, after = edited(
        code,
        {"helpers.py": HELPERS, "flow.py": flow},
        "flow",
        "step",
        ("helpers.py", "return x - 1", "return x - 100"),
    )
    assert before == after


def test_a_helper_reached_through_a_closure_counts(code: CodeProject) -> None:
    flow = """
    from helpers import double


    def make(function):
        def step(x):
            return function(x)

        return step


    step = make(double)
    """
    before, after = edited(
        code,
        {"helpers.py": HELPERS, "flow.py": flow},
        "flow",
        "step",
        ("helpers.py", "return other(x) * 2", "return other(x) * 5"),
    )
    assert before != after


def test_a_method_of_a_project_class_the_step_uses_counts(code: CodeProject) -> None:
    flow = "from helpers import Scaler\n\ndef step(x):\n    return Scaler(2).apply(x)\n"
    before, after = edited(
        code,
        {"helpers.py": HELPERS, "flow.py": flow},
        "flow",
        "step",
        ("helpers.py", "return x * self.factor", "return x * self.factor + 1"),
    )
    assert before != after


def test_a_helper_used_inside_a_nested_function_or_comprehension_counts(
    code: CodeProject,
) -> None:
    flow = """
    from helpers import double


    def step(xs):
        return [double(x) for x in xs]
    """
    before, after = edited(
        code,
        {"helpers.py": HELPERS, "flow.py": flow},
        "flow",
        "step",
        ("helpers.py", "return other(x) * 2", "return other(x) * 7"),
    )
    assert before != after


def test_a_helper_under_a_functools_wraps_decorator_counts(code: CodeProject) -> None:
    helpers = HELPERS + (
        "\n\nimport functools\n\n\ndef logged(fn):\n"
        "    @functools.wraps(fn)\n    def wrapper(*a):\n        return fn(*a)\n\n"
        "    return wrapper\n\n\n@logged\ndef triple(x):\n    return x * 3\n"
    )
    flow = "from helpers import triple\n\ndef step(x):\n    return triple(x)\n"
    before, after = edited(
        code,
        {"helpers.py": helpers, "flow.py": flow},
        "flow",
        "step",
        ("helpers.py", "return x * 3", "return x * 4"),
    )
    assert before != after


def test_a_module_level_constant_the_step_uses_counts(code: CodeProject) -> None:
    """A step computing ``x * FACTOR`` gives another result when FACTOR changes."""
    flow = "FACTOR = 2\n\n\ndef step(x):\n    return x * FACTOR\n"
    before, after = edited(
        code, {"flow.py": flow}, "flow", "step", ("flow.py", "FACTOR = 2", "FACTOR = 3")
    )
    assert before != after


def test_a_step_calling_another_step_counts_its_code(code: CodeProject) -> None:
    flow = """
    import loopml


    @loopml.step
    def inner(x: int) -> int:
        return x + 1


    @loopml.step
    def outer(x: int) -> int:
        return inner(x) * 2
    """
    code.write("flow.py", flow)
    before = code_fingerprint(code.load("flow").outer.fn)
    code.write("flow.py", flow.replace("return x + 1", "return x + 2"))
    assert code_fingerprint(code.load("flow").outer.fn) != before


def test_recursive_functions_terminate(code: CodeProject) -> None:
    flow = """
    def fact(n):
        return 1 if n <= 1 else n * fact(n - 1)


    def even(n):
        return True if n == 0 else odd(n - 1)


    def odd(n):
        return False if n == 0 else even(n - 1)


    def step(n):
        return fact(n), even(n)
    """
    before, after = edited(
        code, {"flow.py": flow}, "flow", "step", ("flow.py", "else even(n - 1)", "else even(n)")
    )
    assert before != after


def _fingerprint_with_library_version(
    monkeypatch: pytest.MonkeyPatch, fn: Callable[..., Any], version: str
) -> str:
    monkeypatch.setattr(_fingerprint, "_library_version", lambda obj: version)
    return code_fingerprint(fn)


@pytest.mark.parametrize(
    "flow",
    [
        "from sklearn.linear_model import LogisticRegression\n\n"
        "def step(x, y):\n    return LogisticRegression().fit(x, y)\n",
        "from sklearn.metrics import accuracy_score\n\n"
        "def step(x, y):\n    return accuracy_score(x, y)\n",
    ],
    ids=["class", "python-function"],
)
def test_a_library_class_or_function_counts_by_its_version_not_its_source(
    monkeypatch: pytest.MonkeyPatch, code: CodeProject, flow: str
) -> None:
    code.write("flow.py", flow)
    fn = code.load("flow").step
    old = _fingerprint_with_library_version(monkeypatch, fn, "scikit-learn==1.0")
    new = _fingerprint_with_library_version(monkeypatch, fn, "scikit-learn==2.0")
    assert old != new


@pytest.mark.parametrize(
    "flow",
    [
        "from numpy import mean\n\ndef step(x):\n    return mean(x)\n",
        "import numpy\n\ndef step(x):\n    return numpy.mean(x)\n",
        "import numpy as np\n\ndef step(x):\n    return np.mean(x)\n",
    ],
    ids=["imported-name", "module-attribute", "module-alias"],
)
def test_numpy_mean_counts_by_numpys_version(
    monkeypatch: pytest.MonkeyPatch, code: CodeProject, flow: str
) -> None:
    code.write("flow.py", flow)
    fn = code.load("flow").step
    old = _fingerprint_with_library_version(monkeypatch, fn, "numpy==1.0")
    new = _fingerprint_with_library_version(monkeypatch, fn, "numpy==2.0")
    assert old != new


def test_library_code_is_not_followed_into_its_source() -> None:
    """A library function's own globals are not walked: only its version counts."""
    import json as json_module

    def step(x: Any) -> str:
        return json_module.dumps(x)

    assert code_fingerprint(step) == code_fingerprint(step)
    assert not _fingerprint._is_project(json)
    assert _fingerprint._is_project(step)
