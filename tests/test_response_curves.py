"""Response curves and mROAS: hand-computed counterfactuals per structure, the run's files, shape.

The counterfactual keeps the fitted centring and scaling (learned's training-window mean and sd of
h, fixed's scaler and Hill peak) and moves only the channel's media: each test recomputes it by
hand from the structure's own pieces and compares with the vectorised `MediaResponse`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from mmm_runner.analysis.curves import MULTIPLIERS, response_report
from mmm_runner.analysis.response import IDENTITY, LOG1P, MediaResponse, _saturate, media_response
from mmm_runner.config.schema import FeaturesConfig, ModelConfig
from mmm_runner.features.build import build_features
from mmm_runner.features.transforms import geometric_adstock, hill_saturation
from mmm_runner.model.fixed import FIXED
from mmm_runner.model.parameters import Draws
from mmm_runner.synthetic import CaseSpec, simulate_case, true_response, true_structure
from tests.conftest import run_cli

FEATURES_CFG = OmegaConf.structured(FeaturesConfig)


def case_features(spec: CaseSpec) -> tuple[object, dict]:
    """A simulated case's features as the pipeline builds them, and its truth."""
    panel, truth = simulate_case(spec)
    panel["period_start"] = pd.to_datetime(panel["period_start"])
    features = build_features(
        panel, "sales", truth["channels"], ["ctrl_price"], FEATURES_CFG, spec.grain
    )
    return features, truth


def learned_by_hand(structure, params, features, channel: int, x: float) -> np.ndarray:
    """(S,) target over the window with `channel` at x times its media minus at zero, from the
    structure's own `saturated` on scaled media and the OBSERVED mean and sd of h."""
    data = structure.model_data(features)
    _, _, spread = structure.standardized(params, data, np)
    mu = structure.mean(params, data, np)
    observed = structure.saturated(params, data, np)[..., channel]

    def at(multiplier: float) -> np.ndarray:
        lags = data["media_lags"].copy()
        lags[..., channel] *= multiplier
        scaled = structure.saturated(params, {**data, "media_lags": lags}, np)[..., channel]
        moved = mu + (params["beta"][:, channel] / spread[:, channel])[:, None] * (
            scaled - observed
        )
        return structure.to_original(moved, features).sum(-1)

    return at(x) - at(0.0)


@pytest.mark.parametrize(
    "spec",
    [
        CaseSpec("learned", 3, "WEEK", 2, seed=1),
        CaseSpec("additive", 3, "WEEK", 2, seed=11),
        CaseSpec("learned", 3, "WEEK", 2, saturation="logistic", seed=6),
    ],
    ids=["learned", "additive", "logistic"],
)
def test_curve_is_the_counterfactual_computed_by_hand(spec: CaseSpec) -> None:
    features, truth = case_features(spec)
    response = true_response(spec, truth, features)
    structure = true_structure(spec)
    params = Draws.single(truth["parameters"]).values
    for channel in range(3):
        curve = response.channel_curve(channel, np.array([0.0, 0.35, 1.0, 1.7]))
        for j, x in enumerate([0.0, 0.35, 1.0, 1.7]):
            expected = learned_by_hand(structure, params, features, channel, x)
            np.testing.assert_allclose(curve[:, j], expected, rtol=1e-9, atol=1e-6)
    if spec.structure == "additive":  # at 1x the curve is the contribution (known truth)
        at_one = [response.channel_curve(i, np.array([1.0]))[0, 0] for i in range(3)]
        np.testing.assert_allclose(at_one, list(truth["contribution_total"].values()), rtol=1e-9)


def test_fixed_curve_keeps_the_observed_hill_peak_and_scaler() -> None:
    """model=fixed: the transform is redone on scaled raw media with the fitted peak/scaler."""
    spec = CaseSpec("fixed", 3, "WEEK", 2, seed=21)
    panel, truth = simulate_case(spec)
    panel["period_start"] = pd.to_datetime(panel["period_start"])
    decays = {name: float(d) for name, d in truth["decay"].items()}
    cfg = OmegaConf.merge(FEATURES_CFG, {"adstock": {"per_channel": decays}})
    features = build_features(panel, "sales", truth["channels"], ["ctrl_price"], cfg, "WEEK")
    rng = np.random.default_rng(0)
    params = {
        "intercept": rng.normal(0, 0.1, 5),
        "beta": rng.uniform(0.02, 0.1, (5, 3)),
        "gamma": rng.normal(0, 0.03, (5, len(features.control_names))),
    }
    response = media_response(FIXED, Draws(params, 5), features, cfg)
    mu = FIXED.mean(params, FIXED.model_data(features), np)
    channel, name = 1, truth["channels"][1]
    raw = panel[name].to_numpy(float)
    carried = geometric_adstock(raw, truth["decay"][name], 13)
    scaler = features.scalers[name]

    def at(x: float) -> np.ndarray:
        z = scaler.transform(hill_saturation(x * carried, 0.5, 1.0, peak=carried.max()))
        moved = mu + params["beta"][:, [channel]] * (z - features.x_channels[:, channel])
        return np.expm1(moved + features.target_offset).sum(-1)

    curve = response.channel_curve(channel, np.array([0.5, 1.0, 2.0]))
    for j, x in enumerate([0.5, 1.0, 2.0]):
        np.testing.assert_allclose(curve[:, j], at(x) - at(0.0), rtol=1e-9)
    # a response that does not match what the model was fitted on is refused, not reported
    wrong = OmegaConf.merge(cfg, {"saturation": {"K": 0.3}})
    with pytest.raises(ValueError, match="does not reproduce its mean"):
        media_response(FIXED, Draws(params, 5), features, wrong)


def test_curves_increase_and_are_concave_where_hill_holds() -> None:
    """Hill with S = 1 (and logistic) is concave in spend; the additive link keeps it so."""
    for saturation in ("hill", "logistic"):
        spec = CaseSpec("additive", 4, "WEEK", 2, saturation=saturation, seed=12)
        features, _ = case_features(spec)
        structure = true_structure(spec)
        model_cfg = OmegaConf.structured(ModelConfig(structure="additive"))
        draws = Draws(structure.prior_draws(model_cfg, features, 40, seed=2), 40)
        response = media_response(structure, draws, features, FEATURES_CFG)
        for channel in range(4):
            curve = response.channel_curve(channel, MULTIPLIERS)
            step = np.diff(curve, axis=1)
            assert (step > 0).all(), (saturation, channel)
            assert (np.diff(step, axis=1) <= 1e-9 * np.abs(curve).max()).all()


def test_mroas_is_the_one_percent_difference_over_its_spend() -> None:
    spec = CaseSpec("learned", 3, "WEEK", 2, seed=1)
    features, truth = case_features(spec)
    response = true_response(spec, truth, features)
    spend = np.array(list(truth["spend_total"].values()))
    report = response_report(response, spend)
    for i, name in enumerate(truth["channels"]):
        low, high = response.channel_curve(i, np.array([1.0, 1.01]))[0]
        assert report.channels[name]["mroas"]["mean"] == pytest.approx(
            (high - low) / (0.01 * spend[i]), rel=1e-12
        )
        rows = report.curves[report.curves["channel"] == name]
        assert rows["multiplier"].tolist() == MULTIPLIERS.tolist()
        one = rows[rows["multiplier"] == 1.0].iloc[0]
        assert one["incremental_mean"] == pytest.approx(low, rel=1e-12)
        assert one["roas_mean"] == pytest.approx(low / spend[i], rel=1e-12)
        # concave: the next dollar returns less than the average one
        assert report.channels[name]["mroas"]["mean"] < one["roas_mean"]


def test_sample_run_writes_curves_and_mroas(sample_run: Path) -> None:
    curves = pd.read_parquet(sample_run / "response_curves.parquet")
    roi = json.loads((sample_run / "roi_metrics.json").read_text())
    summary = json.loads((sample_run / "contribution_summary.json").read_text())
    channels = list(roi["channels"])
    assert len(curves) == len(MULTIPLIERS) * len(channels)
    assert "mroas" in roi["definitions"] and "removal counterfactual" in roi["response_method"]
    for name in channels:
        rows = curves[curves["channel"] == name].sort_values("multiplier")
        assert rows["incremental_mean"].iloc[0] == 0.0 and np.isnan(rows["roas_mean"].iloc[0])
        assert (np.diff(rows["incremental_mean"]) > 0).all()
        # concave in log space too: on the sample a channel's lift is a few percent
        assert (np.diff(rows["incremental_mean"], 2) <= 0).all()
        mean = rows["incremental_mean"]
        assert (rows["incremental_hdi_lower"] <= mean).all()
        assert (mean <= rows["incremental_hdi_upper"]).all()
        entry = roi["channels"][name]
        at_one = rows[rows["multiplier"] == 1.0].iloc[0]
        assert entry["incremental_at_current"]["mean"] == pytest.approx(at_one["incremental_mean"])
        assert at_one["spend"] == pytest.approx(entry["spend_total"])
        mroas = entry["mroas"]
        assert 0 < mroas["hdi_lower"] <= mroas["mean"] <= mroas["hdi_upper"]
        # log space: removing the channel costs more than its proportional share of the lift
        share = summary["channels"][name]["contribution_total"]["mean"]
        assert at_one["incremental_mean"] > share


@pytest.fixture(scope="module")
def additive_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("additive") / "run"
    run = run_cli(
        run_dir, "model=additive", "sampler=fast", "sampler.draws=100", "sampler.tune=200",
        "sampler.chains=2",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "mROAS mean" in run.stdout
    return run_dir


def test_additive_curve_at_current_spend_equals_the_contribution(additive_run: Path) -> None:
    curves = pd.read_parquet(additive_run / "response_curves.parquet")
    summary = json.loads((additive_run / "contribution_summary.json").read_text())
    at_one = curves[curves["multiplier"] == 1.0].set_index("channel")
    for name, entry in summary["channels"].items():
        total = entry["contribution_total"]
        row = at_one.loc[name]
        assert row["incremental_mean"] == pytest.approx(total["mean"], rel=1e-9)
        assert row["incremental_hdi_lower"] == pytest.approx(total["hdi_lower"], rel=1e-9)
        assert row["incremental_hdi_upper"] == pytest.approx(total["hdi_upper"], rel=1e-9)


def numpy_curve(response: MediaResponse, index: int, multipliers: np.ndarray) -> np.ndarray:
    """The curve as numpy computed it before the compiled loop: libm's expm1, one multiplier at a
    time (the reference the kernel is held to)."""
    kernel = response.kernel[..., index]
    slope, coef = response.slope[..., None, index], response.coef[:, None, index]
    own_now = coef * _saturate(response.family, kernel, 1.0, slope, grad=False)[0]
    others = response.base + response.terms(np.ones(len(response.channels))).sum(-1) - own_now
    out = np.zeros((response.n_draws, len(multipliers)))
    for j, x in enumerate(multipliers):
        if x == 0:
            continue
        term = coef * _saturate(response.family, kernel, float(x), slope, grad=False)[0]
        if response.link == LOG1P:
            out[:, j] = (np.exp(others + response.offset) * response.weight * np.expm1(term)).sum(
                -1
            )
        else:
            out[:, j] = response.scale * (term @ response.weight)
    return out


@pytest.mark.parametrize("family", ["hill", "logistic", "none"])
@pytest.mark.parametrize("link", [LOG1P, IDENTITY])
@pytest.mark.parametrize("shared", [False, True], ids=["per_draw_media", "shared_media"])
def test_compiled_curves_match_numpy_to_rounding(family: str, link: str, shared: bool) -> None:
    """Every path of `curve_kernel`: the polynomial with 0-4 halvings and libm's expm1 beyond
    (coefficients up to 12 on the model scale), per-draw or shared media, learned slopes."""
    rng = np.random.default_rng(7)
    n_s, n_t, n_c = 60, 40, 3
    rows = 1 if shared else n_s
    carried = rng.uniform(0.0, 1.5, (rows, n_t, n_c))
    carried[:, :5] = 0.0  # no media yet: h at the floor
    coef = rng.uniform(0.0, 0.3, (n_s, n_c)) * np.array([1.0, 10.0, 40.0])
    response = MediaResponse(
        channels=("a", "b", "c"),
        family=family,
        carried=carried,
        half_saturation=rng.uniform(0.2, 0.8, (rows, n_c)),
        slope=rng.uniform(0.6, 2.0, (rows, n_c)),
        coef=coef,
        base=rng.normal(0.0, 0.1, (n_s, n_t)),
        link=link,
        offset=5.0 if link == LOG1P else 0.0,
        scale=1000.0 if link == IDENTITY else 1.0,
        weight=np.ones(n_t),
    )
    grid = np.append(MULTIPLIERS, 1.01)
    for index in range(n_c):
        expected = numpy_curve(response, index, grid)
        np.testing.assert_allclose(response.channel_curve(index, grid), expected, rtol=1e-13)
