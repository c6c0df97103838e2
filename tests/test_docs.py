"""Every Python example in the user guide runs, in a fresh project folder."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide"
PAGES = sorted(p for p in GUIDE.glob("*.md") if "```python" in p.read_text())


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_the_python_examples_of_a_guide_page_run(page: Path, project: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    assert blocks
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("LOOPML_")}
    for n, block in enumerate(blocks):
        script = project / f"example_{n}.py"
        script.write_text(block)
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{page.name} example {n} failed:\n{done.stderr}"
