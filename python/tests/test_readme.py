"""The README's Python section is the acceptance script: run it as written, from the repository
root, so the README cannot drift from what the package does."""

import os
import re
import subprocess
import sys

from conftest import ROOT, data_file


def readme_script() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the README's Python section has exactly one script"
    return blocks[0]


def test_readme_script_runs():
    data_file("bench", "resnet18", "model.onnx")
    env = dict(os.environ, PYTHONPATH="")
    result = subprocess.run([sys.executable, "-c", readme_script()], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "input 'input': expected dtype float32, got float64"
