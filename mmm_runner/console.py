"""What a finished run prints: timings, convergence, the ROAS table, where the files are."""

from __future__ import annotations

from typing import Any


def run_summary(result: Any) -> str:
    lines = [f"mmm_runner: {result.stage}  run directory: {result.run_dir}"]
    timings = "  ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
    lines.append(f"stage timings: {timings}")
    diag = result.diagnostics
    if diag:
        verdict = (
            "converged" if diag["converged"] else "NOT CONVERGED: " + "; ".join(diag["reasons"])
        )
        lines.append(
            f"convergence: {verdict} (max R-hat {diag['max_rhat']:.4f}, min ESS bulk "
            f"{diag['min_ess_bulk']:.0f} / tail {diag['min_ess_tail']:.0f}, divergences "
            f"{diag['divergences']})"
        )
        lines += [f"  advice: {a}" for a in diag["advice"]]
        learned = diag.get("prior_posterior") or {}
        lines += [f"  prior only: {w}" for w in learned.get("warnings", [])]
        lines += calibration_lines(diag.get("calibration") or {})
    if result.roi:
        lines += roas_table(result.roi)
    return "\n".join(lines)


def calibration_lines(section: dict[str, Any]) -> list[str]:
    """One line per lift test (measured vs the model's own counterfactual) and ROAS prior."""
    lines = []
    for test in section.get("lift_tests", []):
        p = test["predicted"]
        verdict = "agrees" if test["agrees"] else f"DISAGREES (z {test['z']:+.1f})"
        lines.append(
            f"calibration {test['name']}: measured lift {test['measured']['lift']:,.0f} +- "
            f"{test['measured']['se']:,.0f}, model {p['mean']:,.0f} [94% HDI "
            f"{p['hdi_lower']:,.0f}, {p['hdi_upper']:,.0f}]: {verdict}"
        )
    for prior in section.get("roas_priors", []):
        post = prior["posterior_roas"]
        lines.append(
            f"ROAS prior {prior['channel']}: {prior['prior']['dist']}{prior['prior']['params']}, "
            f"posterior ROAS {post['mean']:.3f} [{post['hdi_lower']:.3f}, {post['hdi_upper']:.3f}]"
        )
    return lines


def _interval(summary: dict[str, Any] | None) -> tuple[str, str]:
    if not summary:
        return "-", "-"
    return f"{summary['mean']:.3f}", f"[{summary['hdi_lower']:.3f}, {summary['hdi_upper']:.3f}]"


def roas_table(roi: dict[str, Any]) -> list[str]:
    """ROAS (average return) and mROAS (return on the next dollar), mean and 94% HDI."""
    lines = [
        f"{'channel':<24}{'spend':>14}{'ROAS mean':>11}{'94% HDI':>22}"
        f"{'mROAS mean':>12}{'94% HDI':>22}"
    ]
    for name, entry in roi["channels"].items():
        if "roas" not in entry:
            lines.append(f"{name:<24}{'-':>14}{'-':>11}   ({entry.get('note')})")
            continue
        roas, roas_hdi = _interval(entry["roas"])
        mroas, mroas_hdi = _interval(entry.get("mroas"))
        lines.append(
            f"{name:<24}{entry['spend_total']:>14,.0f}{roas:>11}{roas_hdi:>22}"
            f"{mroas:>12}{mroas_hdi:>22}"
        )
    return lines
