"""The Python examples run and check their own results."""

import subprocess
import sys

from conftest import SOURCE_DIR


def test_quickstart_runs():
    script = SOURCE_DIR / "examples" / "python" / "quickstart.py"
    out = subprocess.run([sys.executable, str(script)], check=True, capture_output=True,
                         text=True, timeout=300).stdout
    assert "quickstart: ok" in out


def python_blocks(path):
    import re
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def test_readme_snippets_run():
    # The Python examples of README.md and python/README.md, as a reader would paste them.
    blocks = python_blocks(SOURCE_DIR / "README.md") + python_blocks(SOURCE_DIR / "python" /
                                                                      "README.md")
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "<readme>", "exec"), {})
