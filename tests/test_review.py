"""`python -m mmm_runner.review`: two runs one prior line apart, as a PR comment; its gates."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mmm_runner.review import fail_on, main
from mmm_runner.store import Artifact
from tests.conftest import ROOT, run_cli

SMALL = ("sampler=fast", "sampler.draws=200", "sampler.tune=300", "sampler.chains=2")
PRIOR = "model.gamma.params.sigma"


@pytest.fixture(scope="module")
def prior_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample run's config with one prior line changed."""
    run = run_cli(tmp_path_factory.mktemp("review") / "run", *SMALL, f"{PRIOR}=0.3")
    assert run.returncode == 0, run.stderr[-3000:]
    return run.run_dir


def review(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def edit_json(run_dir: Path, artifact: Artifact, change) -> None:
    path = artifact.path(run_dir)
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def copy(run_dir: Path, target: Path, converged: bool | None = None) -> Path:
    shutil.copytree(run_dir, target)
    if converged is not None:
        edit_json(target, Artifact.DIAGNOSTICS, lambda d: d.update(converged=converged))
    return target


def test_review_shows_the_prior_line_both_roas_tables_and_the_elpd_difference(
    sample_run: Path, prior_run: Path, capsys: pytest.CaptureFixture
) -> None:
    code, out, _ = review(capsys, sample_run, prior_run)
    assert code == 0
    config = out.split("### Config lines that differ")[1].split("```", 2)[1]
    assert config.split("\n")[1:-1] == [f"- {PRIOR}: 0.5", f"+ {PRIOR}: 0.3"]  # only that line
    assert "**Input data:** unchanged" in out
    roas = out.split("### ROAS per channel")[1].split("###")[0]
    rows = [r for r in roas.splitlines() if r.startswith("| ") and "channel" not in r]
    assert [r.split(" | ")[0] for r in rows] == [
        "| TV (act_tv)",
        "| Digital (act_digital)",
        "| Radio (act_radio)",
    ]
    for row in rows:  # A and B with their intervals, the change, whether intervals overlap
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert re.fullmatch(r"[\d.]+ \[[\d.]+, [\d.]+\]", cells[1]), cells
        assert re.fullmatch(r"[\d.]+ \[[\d.]+, [\d.]+\]", cells[2]), cells
        assert re.fullmatch(r"[+-][\d.]+ \([+-][\d.]+%\)", cells[3]), cells
        assert cells[4] in ("yes", "**no**")
    assert re.search(r"Difference B - A: \*\*[+-][\d.]+ ± [\d.]+\*\*", out)
    assert out.count("**Verdict:**") + out.count("**Not comparable yet:**") == 1


def test_fail_on_diverged_gates_on_either_run(
    sample_run: Path, prior_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    good_a = copy(sample_run, tmp_path / "a", converged=True)
    good_b = copy(prior_run, tmp_path / "b", converged=True)
    bad_b = copy(prior_run, tmp_path / "bad_b", converged=False)
    assert review(capsys, good_a, good_b, "--fail-on", "diverged")[0] == 0
    code, out, err = review(capsys, good_a, bad_b, "--fail-on", "diverged")
    assert code == 1 and "run B did not converge" in err and "Not comparable yet" in out
    code, _, err = review(capsys, bad_b, good_a, "--fail-on", "diverged")
    assert code == 1 and "run A did not converge" in err
    assert review(capsys, good_a, bad_b)[0] == 0  # no gate asked for: the comment is posted


def test_fail_on_roas_shift(
    sample_run: Path, prior_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    a = copy(sample_run, tmp_path / "a", converged=True)
    b = copy(prior_run, tmp_path / "b", converged=True)
    a_tv = json.loads(Artifact.ROI.path(a).read_text())["channels"]["act_tv"]["roas"]["mean"]

    def raise_tv(doc: dict) -> None:
        doc["channels"]["act_tv"]["roas"]["mean"] = a_tv * 1.5

    edit_json(b, Artifact.ROI, raise_tv)
    code, _, err = review(capsys, a, b, "--fail-on", "roas-shift>0.3")
    assert code == 1 and "act_tv +50.0%" in err
    assert review(capsys, a, b, "--fail-on", "roas-shift>60%")[0] == 0
    assert review(capsys, a, b, "--fail-on", "roas-shift>60%", "--fail-on", "diverged")[0] == 0


def test_other_data_is_named_and_elpd_not_compared(
    sample_run: Path, prior_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    b = copy(prior_run, tmp_path / "b")
    edit_json(b, Artifact.MANIFEST, lambda d: d["input"].update(sha256="0" * 64))
    _, out, _ = review(capsys, sample_run, b)
    assert "**Input data:** **changed**" in out and "Difference: not computed" in out


def test_cli_writes_the_comment_and_exits_nonzero_only_on_a_gate(
    sample_run: Path, prior_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "comment" / "review.md"
    cmd = [sys.executable, "-m", "mmm_runner.review", str(sample_run), str(prior_run)]
    proc = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == proc.stdout and PRIOR in proc.stdout
    bad = subprocess.run([*cmd, "--fail-on", "roas-drift"], capture_output=True, text=True)
    assert bad.returncode == 2 and "roas-shift>X" in bad.stderr
    missing = subprocess.run(
        [*cmd[:3], str(tmp_path), str(prior_run)], capture_output=True, text=True, cwd=ROOT
    )
    assert missing.returncode == 2 and "not a run directory" in missing.stderr


def test_example_workflow_calls_the_review_as_documented() -> None:
    """examples/github-actions-review.yml cannot run here; its commands must at least parse."""
    workflow = yaml.safe_load((ROOT / "examples" / "github-actions-review.yml").read_text())
    steps = {step.get("name"): step for step in workflow["jobs"]["review"]["steps"]}
    script = " ".join(steps["Review"]["run"].replace("\\\n", " ").split())
    command = shlex.split(script[script.index("python -m mmm_runner.review") :].split(";")[0])
    args = command[3 : command.index("--fail-on")] if "--fail-on" in command else command[3:]
    specs = [command[i + 1] for i, a in enumerate(command) if a == "--fail-on"]
    assert len(args) >= 2 and specs == ["diverged", "roas-shift>25%"]
    assert all(fail_on(spec) == spec for spec in specs)
    fits = [
        s["run"] for s in steps.values() if "run" in s and "mmm_runner sampler=fast" in s["run"]
    ]
    assert len(fits) == 2
