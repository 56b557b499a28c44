"""The house rules a newcomer relies on: one-way imports, small modules, self-contained docs."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT

MAX_MODULE_LINES = 400


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter not installed")
def test_imports_flow_one_way() -> None:
    done = subprocess.run(["lint-imports"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in (ROOT / "mmm_runner").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"split these modules: {long}"


def test_code_cites_documents_the_repository_contains() -> None:
    """Comments point at docs/ (in the repository), not at an outside spec's sections."""
    cited = [
        str(path.relative_to(ROOT))
        for folder in ("mmm_runner", "conf", "sql")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in (".py", ".yaml", ".sql") and "SPEC §" in path.read_text()
    ]
    assert not cited, cited
    for doc in ("docs/architecture.md", "docs/model.md"):
        assert (ROOT / doc).is_file(), doc
