#!/usr/bin/env python3
"""Regenerates packages/analysis/src/stats/scipy-reference.json, the fixture the TypeScript tests of
@sortition/analysis compare against (relative error 1e-6; see README.md).

    python3 packages/analysis/scripts/scipy_reference.py          # rewrite the fixture
    python3 packages/analysis/scripts/scipy_reference.py --check  # exit 1 if it would change

Needs numpy and scipy (written against scipy 1.17.1, numpy 2.4.6; the versions are recorded in
the fixture) and ../shared/data/ab_data.csv beside the repository checkout for the Udacity check.
Every random input comes from a fixed seed, so the same versions regenerate the file byte for byte.

Where scipy has the test (Welch's t, chi-square goodness of fit, the normal and t distributions,
Benjamini-Hochberg, the Dirichlet-multinomial and multinomial pmfs) the expected values come from
scipy. Where it has none (the two-proportion z-test's interval, delta-method relative lift, ratio
metrics, CUPED's theta, Holm, mSPRT, quantile capping) they are computed here with numpy from the
formulas, written independently of the TypeScript and, where possible, by a different route
(unit-level arrays instead of sums, a likelihood ratio of two normal densities and a root search
instead of the closed forms). The fixture's "source" fields say which is which.
"""

from __future__ import annotations

import csv
import json
import math
import pathlib
import platform
import sys

import numpy as np
import scipy
from scipy import integrate, optimize, stats

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE.parent / "src" / "stats" / "scipy-reference.json"
# scripts -> analysis -> packages -> repository root -> its parent, which holds shared/.
AB_DATA = HERE.parents[3] / "shared" / "data" / "ab_data.csv"

TOLERANCE = {
    "relative": 1e-6,
    "rule": "|actual - expected| <= 1e-6 * |expected| for every number; where the expected value is exactly 0, |actual| <= 1e-15",
}


def num(x) -> float:
    v = float(x)
    if not math.isfinite(v):
        raise ValueError(f"non-finite value in fixture: {v}")
    return v


def critical_normal(confidence: float) -> float:
    return float(stats.norm.ppf(1 - (1 - confidence) / 2))


def relative_lift(c: float, var_c: float, t: float, var_t: float, confidence: float):
    """Delta method for t/c - 1 with independent arms (numpy, not from scipy)."""
    if c == 0:
        return None
    est = t / c - 1
    grad = np.array([-t / c**2, 1 / c])  # d(t/c)/dc, d(t/c)/dt
    cov = np.diag([var_c, var_t])
    se = math.sqrt(float(grad @ cov @ grad))
    q = critical_normal(confidence)
    return {"estimate": num(est), "standardError": num(se), "lower": num(est - q * se), "upper": num(est + q * se)}


def mean_stats(y: np.ndarray) -> dict:
    return {"n": int(y.size), "sum": math.fsum(y.tolist()), "sumSquares": math.fsum((y * y).tolist())}


# ---------------------------------------------------------------------------------------------
# Two-proportion z-test


def proportion_case(name, control, treatment, confidence=0.95):
    (xc, nc), (xt, nt) = control, treatment
    pc, pt = xc / nc, xt / nt
    pooled = (xc + xt) / (nc + nt)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nt))
    z = (pt - pc) / pooled_se
    p = 2 * stats.norm.sf(abs(z))
    # scipy cross-check: the 2x2 chi-square without continuity correction is z^2 with the same p.
    chi2, p_chi2, _, _ = stats.chi2_contingency([[xc, nc - xc], [xt, nt - xt]], correction=False)
    assert math.isclose(chi2, z * z, rel_tol=1e-9) and math.isclose(p_chi2, p, rel_tol=1e-9), name
    var_c, var_t = pc * (1 - pc) / nc, pt * (1 - pt) / nt
    se = math.sqrt(var_c + var_t)
    q = critical_normal(confidence)
    diff = pt - pc
    return {
        "name": name,
        "input": {"control": {"n": nc, "conversions": xc}, "treatment": {"n": nt, "conversions": xt}, "confidence": confidence},
        "expected": {
            "control": {"proportion": num(pc), "standardError": num(math.sqrt(var_c))},
            "treatment": {"proportion": num(pt), "standardError": num(math.sqrt(var_t))},
            "pooledStandardError": num(pooled_se),
            "z": num(z),
            "pValue": num(p),
            "pValueChi2Contingency": num(p_chi2),
            "difference": {"estimate": num(diff), "standardError": num(se), "lower": num(diff - q * se), "upper": num(diff + q * se)},
            "relative": relative_lift(pc, var_c, pt, var_t, confidence),
        },
    }


def proportions():
    return [
        proportion_case("small", (12, 40), (20, 45)),
        proportion_case("moderate", (480, 5000), (545, 5000)),
        proportion_case("large n", (120_000, 1_000_000), (121_500, 1_000_000)),
        proportion_case("extreme low rate", (3, 100_000), (12, 100_000)),
        proportion_case("extreme high rate", (9_990, 10_000), (9_970, 10_000)),
        proportion_case("control converts nobody", (0, 1_000), (6, 1_000)),
        proportion_case("unequal n", (50, 200), (700, 2_000)),
        proportion_case("99% interval", (1_000, 8_000), (1_100, 8_100), confidence=0.99),
    ]


# ---------------------------------------------------------------------------------------------
# Welch's t-test


def welch_case(name, yc: np.ndarray, yt: np.ndarray, confidence=0.95, keep_raw=False):
    raw = stats.ttest_ind(yt, yc, equal_var=False)
    ci = raw.confidence_interval(confidence_level=confidence)
    sc, st = mean_stats(yc), mean_stats(yt)

    def from_sums(s):
        n = s["n"]
        return s["sum"] / n, (s["sumSquares"] - s["sum"] ** 2 / n) / (n - 1)

    mc, vc = from_sums(sc)
    mt, vt = from_sums(st)
    from_stats = stats.ttest_ind_from_stats(mt, math.sqrt(vt), st["n"], mc, math.sqrt(vc), sc["n"], equal_var=False)
    var_mean_c = np.var(yc, ddof=1) / yc.size
    var_mean_t = np.var(yt, ddof=1) / yt.size
    case = {
        "name": name,
        "input": {"control": sc, "treatment": st, "confidence": confidence},
        "expected": {
            "control": {"mean": num(np.mean(yc)), "variance": num(np.var(yc, ddof=1)), "standardError": num(stats.sem(yc))},
            "treatment": {"mean": num(np.mean(yt)), "variance": num(np.var(yt, ddof=1)), "standardError": num(stats.sem(yt))},
            "t": num(raw.statistic),
            "df": num(raw.df),
            "pValue": num(raw.pvalue),
            "difference": {
                "estimate": num(np.mean(yt) - np.mean(yc)),
                "standardError": num(math.sqrt(var_mean_c + var_mean_t)),
                "lower": num(ci.low),
                "upper": num(ci.high),
            },
            "relative": relative_lift(float(np.mean(yc)), float(var_mean_c), float(np.mean(yt)), float(var_mean_t), confidence),
            "fromStats": {"t": num(from_stats.statistic), "pValue": num(from_stats.pvalue)},
        },
    }
    if keep_raw:
        case["raw"] = {"control": yc.tolist(), "treatment": yt.tolist()}
    return case


def welch():
    rng = np.random.default_rng(1001)
    return [
        welch_case("small n", rng.normal(10, 2, 5), rng.normal(12, 3, 7), keep_raw=True),
        welch_case("df near 1", np.array([0.0, 0.1]), np.array([0.0, 50.0]), keep_raw=True),
        welch_case("df near 1, three units", np.array([1.0, 1.01, 0.99]), np.array([3.0, 40.0, -20.0]), keep_raw=True),
        welch_case("unequal variances", rng.normal(5, 1, 30), rng.normal(5.8, 5, 25), keep_raw=True),
        welch_case("lognormal revenue", rng.lognormal(3, 1, 1_000), rng.lognormal(3.05, 1.1, 1_200)),
        welch_case("large n", rng.normal(100, 15, 100_000), rng.normal(100.1, 15, 100_000)),
        welch_case("3 vs 50", rng.normal(0, 1, 3), rng.normal(1, 1, 50), keep_raw=True),
        welch_case("90% interval", rng.exponential(2, 400), rng.exponential(2.3, 380), confidence=0.9),
        welch_case("negative means", rng.normal(-40, 8, 60), rng.normal(-37, 12, 70)),
    ]


# ---------------------------------------------------------------------------------------------
# Ratio metrics (delta method)


def ratio_stats(num_: np.ndarray, den: np.ndarray) -> dict:
    return {
        "n": int(num_.size),
        "sumNumerator": math.fsum(num_.tolist()),
        "sumDenominator": math.fsum(den.tolist()),
        "sumNumeratorSquares": math.fsum((num_ * num_).tolist()),
        "sumDenominatorSquares": math.fsum((den * den).tolist()),
        "sumNumeratorDenominator": math.fsum((num_ * den).tolist()),
    }


def ratio_arm(num_: np.ndarray, den: np.ndarray):
    r = num_.sum() / den.sum()
    c = np.cov(np.vstack([num_, den]), ddof=1)
    var = (c[0, 0] - 2 * r * c[0, 1] + r * r * c[1, 1]) / (num_.size * den.mean() ** 2)
    return float(r), float(var)


def ratio_case(name, control, treatment, confidence=0.95):
    rc, vc = ratio_arm(*control)
    rt, vt = ratio_arm(*treatment)
    se = math.sqrt(vc + vt)
    z = (rt - rc) / se
    q = critical_normal(confidence)
    return {
        "name": name,
        "input": {"control": ratio_stats(*control), "treatment": ratio_stats(*treatment), "confidence": confidence},
        "expected": {
            "control": {"ratio": num(rc), "variance": num(vc)},
            "treatment": {"ratio": num(rt), "variance": num(vt)},
            "z": num(z),
            "pValue": num(2 * stats.norm.sf(abs(z))),
            "difference": {"estimate": num(rt - rc), "standardError": num(se), "lower": num(rt - rc - q * se), "upper": num(rt - rc + q * se)},
            "relative": relative_lift(rc, vc, rt, vt, confidence),
        },
    }


def ratios():
    rng = np.random.default_rng(2002)

    def revenue_per_session(n, spend):
        sessions = rng.poisson(3, n) + 1.0
        revenue = sessions * rng.gamma(2.0, spend, n) * (rng.random(n) < 0.3)
        return revenue, sessions

    def clicks_per_view(n, ctr):
        views = rng.poisson(20, n) + 1.0
        clicks = rng.binomial(views.astype(np.int64), ctr).astype(np.float64)
        return clicks, views

    return [
        ratio_case("revenue per session", revenue_per_session(500, 4.0), revenue_per_session(520, 4.4)),
        ratio_case("click-through, large n", clicks_per_view(20_000, 0.05), clicks_per_view(20_000, 0.052)),
        ratio_case("small n", clicks_per_view(10, 0.3), clicks_per_view(12, 0.4)),
        ratio_case("99% interval", revenue_per_session(3_000, 2.0), revenue_per_session(2_900, 2.1), confidence=0.99),
    ]


# ---------------------------------------------------------------------------------------------
# CUPED


def covariate_stats(y: np.ndarray, x: np.ndarray) -> dict:
    s = mean_stats(y)
    s.update(
        {
            "sumCovariate": math.fsum(x.tolist()),
            "sumCovariateSquares": math.fsum((x * x).tolist()),
            "sumProducts": math.fsum((x * y).tolist()),
        }
    )
    return s


def cuped_case(name, control, treatment, confidence=0.95):
    (yc, xc), (yt, xt) = control, treatment
    x_all = np.concatenate([xc, xt])
    y_all = np.concatenate([yc, yt])
    fell_back = bool(np.ptp(x_all) == 0)  # the covariate takes one value: no variance to use
    theta = 0.0 if fell_back else float(np.cov(x_all, y_all, ddof=1)[0, 1] / np.var(x_all, ddof=1))
    x_bar = x_all.mean()
    adj_c = yc - theta * (xc - x_bar)
    adj_t = yt - theta * (xt - x_bar)
    res = stats.ttest_ind(adj_t, adj_c, equal_var=False)
    ci = res.confidence_interval(confidence_level=confidence)
    plain = stats.ttest_ind(yt, yc, equal_var=False)
    v_c, v_t = np.var(adj_c, ddof=1) / adj_c.size, np.var(adj_t, ddof=1) / adj_t.size
    v_plain = np.var(yc, ddof=1) / yc.size + np.var(yt, ddof=1) / yt.size
    return {
        "name": name,
        "input": {"control": covariate_stats(yc, xc), "treatment": covariate_stats(yt, xt), "confidence": confidence},
        "expected": {
            "theta": theta,
            "fellBack": fell_back,
            "control": {"mean": num(adj_c.mean()), "variance": num(np.var(adj_c, ddof=1)), "unadjustedMean": num(yc.mean())},
            "treatment": {"mean": num(adj_t.mean()), "variance": num(np.var(adj_t, ddof=1)), "unadjustedMean": num(yt.mean())},
            "t": num(res.statistic),
            "df": num(res.df),
            "pValue": num(res.pvalue),
            "difference": {"estimate": num(adj_t.mean() - adj_c.mean()), "standardError": num(math.sqrt(v_c + v_t)), "lower": num(ci.low), "upper": num(ci.high)},
            "relative": relative_lift(float(adj_c.mean()), float(v_c), float(adj_t.mean()), float(v_t), confidence),
            "varianceReduction": num(1 - (v_c + v_t) / v_plain),
            "unadjusted": {"t": num(plain.statistic), "pValue": num(plain.pvalue)},
        },
    }


def cuped():
    rng = np.random.default_rng(3003)

    def arm(n, effect, slope=0.8, noise=2.0, x_mean=10.0, x_sd=3.0):
        x = rng.normal(x_mean, x_sd, n)
        y = 2.0 + slope * x + effect + rng.normal(0, noise, n)
        return y, x

    constant = lambda y, c: (y, np.full(y.size, c))  # noqa: E731
    return [
        cuped_case("strong covariate", arm(1_000, 0.0), arm(1_000, 0.3)),
        cuped_case("weak covariate, small n", arm(50, 0.0, slope=0.1), arm(60, 0.5, slope=0.1)),
        cuped_case("large n, unequal arms", arm(20_000, 0.0, slope=1.5), arm(15_000, 0.05, slope=1.5)),
        cuped_case("covariate constant: falls back", constant(rng.normal(5, 1, 200), 5.0), constant(rng.normal(5.2, 1, 210), 5.0)),
        cuped_case("covariate all zero: falls back", constant(rng.normal(1, 1, 40), 0.0), constant(rng.normal(1.4, 1, 45), 0.0)),
        cuped_case("covariate of 0.1s: falls back", constant(rng.normal(3, 1, 300), 0.1), constant(rng.normal(3, 1, 300), 0.1)),
    ]


# ---------------------------------------------------------------------------------------------
# mSPRT (normal mixture)


def msprt_log_lr(estimate, variance, tau2, null=0.0):
    # A different route from the closed form: the likelihood ratio of the marginal N(null, V + tau2)
    # (the mixture integrated out) to N(null, V), via scipy's normal log-density.
    return float(stats.norm.logpdf(estimate, null, math.sqrt(variance + tau2)) - stats.norm.logpdf(estimate, null, math.sqrt(variance)))


def msprt_case(name, estimate, variance, sample_size, tau2=None, planned=10_000, alpha=0.05, null=0.0, previous=None):
    ell = -2 * math.log(alpha)
    used_tau2 = tau2 if tau2 is not None else (ell + math.log(1 + ell)) / planned * sample_size * variance
    log_lr = msprt_log_lr(estimate, variance, used_tau2, null)
    if abs(estimate - null) < 50 * math.sqrt(variance):  # check against the mixture integral itself
        integrand = lambda th: stats.norm.pdf(estimate, th, math.sqrt(variance)) * stats.norm.pdf(th, null, math.sqrt(used_tau2))  # noqa: E731
        s = math.sqrt(variance + used_tau2)
        lr_quad = integrate.quad(integrand, null - 60 * s, null + 60 * s, points=[estimate, null], limit=400, epsabs=0)[0] / stats.norm.pdf(estimate, null, math.sqrt(variance))
        assert math.isclose(lr_quad, math.exp(log_lr), rel_tol=1e-7), (name, lr_quad, math.exp(log_lr))
    p = min(1.0 if previous is None else previous, 1.0, math.exp(-log_lr))
    # Confidence sequence by root search: the nulls theta0 with log LR(theta0) = ln(1/alpha).
    f = lambda th0: msprt_log_lr(estimate, variance, used_tau2, th0) - math.log(1 / alpha)  # noqa: E731
    span = math.sqrt(variance + used_tau2) * 100
    lower = optimize.brentq(f, estimate - span, estimate, xtol=1e-15, rtol=1e-14, maxiter=500)
    upper = optimize.brentq(f, estimate, estimate + span, xtol=1e-15, rtol=1e-14, maxiter=500)
    inp = {"estimate": estimate, "variance": variance, "sampleSize": sample_size, "options": {"plannedSampleSize": planned, "alpha": alpha, "nullValue": null}}
    if tau2 is not None:
        inp["options"]["tau2"] = tau2
    if previous is not None:
        inp["options"]["previousPValue"] = previous
    return {
        "name": name,
        "input": inp,
        "expected": {"tau2": num(used_tau2), "logLikelihoodRatio": num(log_lr), "pValue": num(p), "lower": num(lower), "upper": num(upper)},
    }


def msprts():
    return [
        msprt_case("no effect", 0.001, 1e-6, 20_000),
        msprt_case("clear effect", 0.02, 1e-5, 40_000),
        msprt_case("explicit tau2", 0.5, 0.04, 500, tau2=0.25),
        msprt_case("explicit tau2, tiny effect", 0.001, 0.04, 500, tau2=0.25),
        msprt_case("null value", 1.3, 0.09, 2_000, null=1.0),
        msprt_case("planned 100k, alpha 0.1", -0.004, 2e-6, 80_000, planned=100_000, alpha=0.1),
        msprt_case("running minimum keeps previous", 0.0, 1e-4, 5_000, previous=0.2),
        msprt_case("running minimum replaced", 0.05, 1e-4, 5_000, previous=0.2),
        msprt_case("overwhelming effect", 0.3, 1e-4, 100_000),
    ]


# ---------------------------------------------------------------------------------------------
# Holm and Benjamini-Hochberg


def holm_numpy(p: np.ndarray) -> np.ndarray:
    # Independently of the TypeScript: multipliers m, m-1, ..., 1 on the sorted p-values, a running
    # maximum, clipped to 1, scattered back to input order.
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def multiple_testing():
    rng = np.random.default_rng(4004)
    vectors = {
        "single": np.array([0.03]),
        "textbook": np.array([0.01, 0.04, 0.03, 0.005]),
        "ties": np.array([0.02, 0.02, 0.02, 0.5, 0.001, 0.001]),
        "twenty uniform": rng.random(20),
        "mixture of 50": np.concatenate([rng.random(35), rng.random(15) * 1e-3]),
        "tiny": np.array([1e-12, 3e-9, 0.04, 0.9, 1e-30]),
        "ones": np.array([1.0, 1.0, 0.7]),
    }
    out = []
    for name, p in vectors.items():
        out.append(
            {
                "name": name,
                "pValues": [num(v) for v in p],
                "holm": [num(v) for v in holm_numpy(p)],
                "benjaminiHochberg": [num(v) for v in stats.false_discovery_control(p, method="bh")],
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# Capping


def capping():
    rng = np.random.default_rng(5005)
    values = np.round(rng.lognormal(2, 1.2, 201), 6)
    values_even = np.round(rng.normal(50, 20, 100), 6)
    cases = []
    for name, v, lo_q, hi_q in [
        ("lognormal, 1% and 99%", values, 0.01, 0.99),
        ("lognormal, upper 95% only", values, None, 0.95),
        ("normal, 5% only", values_even, 0.05, None),
        ("normal, 2.5% and 97.5%", values_even, 0.025, 0.975),
    ]:
        lo = None if lo_q is None else float(np.quantile(v, lo_q, method="linear"))
        hi = None if hi_q is None else float(np.quantile(v, hi_q, method="linear"))
        capped = np.clip(v, lo if lo is not None else -np.inf, hi if hi is not None else np.inf)
        cases.append(
            {
                "name": name,
                "values": v.tolist(),
                "lowerQuantile": lo_q,
                "upperQuantile": hi_q,
                "expected": {
                    "lower": lo,
                    "upper": hi,
                    "cappedBelow": int(np.sum(v < lo)) if lo is not None else 0,
                    "cappedAbove": int(np.sum(v > hi)) if hi is not None else 0,
                    "cappedSum": math.fsum(capped.tolist()),
                    "quantiles": {str(q): float(np.quantile(v, q)) for q in (0.0, 0.1, 0.25, 0.5, 0.9, 1.0)},
                },
            }
        )
    return cases


# ---------------------------------------------------------------------------------------------
# Sample ratio mismatch


def srm_status(p, alert=0.001, warn=0.01):
    return "alert" if p < alert else "warn" if p < warn else "ok"


def srm_case(name, observed, weights):
    obs = np.array(observed, dtype=np.float64)
    shares = np.array(weights, dtype=np.float64) / np.sum(weights)
    expected = obs.sum() * shares
    res = stats.chisquare(obs, f_exp=expected)
    enough = bool(np.all(expected >= 8))
    return {
        "name": name,
        "observed": observed,
        "weights": weights,
        "expected": {
            "expected": [num(e) for e in expected],
            "chiSquare": num(res.statistic),
            "df": len(observed) - 1,
            "pValue": num(res.pvalue),
            "status": srm_status(res.pvalue) if enough else "insufficient-data",
        },
    }


def srm():
    return [
        srm_case("2 arms, fine", [5_021, 4_979], [50, 50]),
        srm_case("2 arms, warn", [10_200, 9_800], [1, 1]),
        srm_case("2 arms, alert", [10_000, 9_000], [0.5, 0.5]),
        srm_case("2 arms, overwhelming", [50_000, 45_000], [1, 1]),
        srm_case("2 arms, 10/90 split in force", [1_040, 8_960], [10, 90]),
        srm_case("3 arms", [3_300, 3_350, 3_210], [1, 1, 1]),
        srm_case("4 arms unequal", [2_010, 1_950, 4_100, 1_940], [0.2, 0.2, 0.4, 0.2]),
        srm_case("5 arms alert", [1_000, 1_000, 1_000, 1_000, 1_200], [1, 1, 1, 1, 1]),
        srm_case("too few expected", [9, 3], [1, 1]),
        srm_case("just enough expected", [12, 4], [1, 1]),
    ]


def sequential_srm_case(name, observed, weights, concentration=100.0):
    x = np.array(observed)
    theta0 = np.array(weights, dtype=np.float64) / np.sum(weights)
    alpha = concentration * theta0
    n = int(x.sum())
    # scipy: the Dirichlet-multinomial over the multinomial pmf (their multinomial coefficients cancel).
    log_bf = float(stats.dirichlet_multinomial.logpmf(x, alpha, n) - stats.multinomial.logpmf(x, n, theta0))
    p = min(1.0, math.exp(-log_bf))
    return {
        "name": name,
        "observed": observed,
        "weights": weights,
        "concentration": concentration,
        "expected": {"logBayesFactor": num(log_bf), "pValue": num(p), "status": srm_status(p)},
    }


def sequential_srm():
    return [
        sequential_srm_case("balanced", [5_021, 4_979], [1, 1]),
        sequential_srm_case("small", [12, 7], [1, 1]),
        sequential_srm_case("alert", [10_000, 9_000], [1, 1]),
        sequential_srm_case("3 arms, 20/30/50", [2_050, 2_900, 5_050], [20, 30, 50]),
        sequential_srm_case("5 arms, one heavy", [1_000, 1_000, 1_000, 1_000, 1_200], [1, 1, 1, 1, 1]),
        sequential_srm_case("concentration 1", [520, 480], [1, 1], concentration=1.0),
        sequential_srm_case("large balanced", [500_300, 499_700], [1, 1]),
    ]


# ---------------------------------------------------------------------------------------------
# The Udacity landing-page test


def udacity():
    if not AB_DATA.exists():
        sys.exit(f"missing {AB_DATA}: the Udacity check needs ../shared/data/ab_data.csv beside the checkout")
    rows = 0
    rows_per_user: dict[str, int] = {}
    groups: dict[str, set[str]] = {}
    mismatched_rows = 0
    mismatched_users: set[str] = set()
    kept: dict[str, tuple[str, int]] = {}
    duplicate_rows = 0
    with AB_DATA.open(newline="") as f:
        for r in csv.DictReader(f):
            rows += 1
            user = r["user_id"]
            rows_per_user[user] = rows_per_user.get(user, 0) + 1
            groups.setdefault(user, set()).add(r["group"])
            if (r["group"] == "treatment") != (r["landing_page"] == "new_page"):
                mismatched_rows += 1
                mismatched_users.add(user)
                continue
            if user in kept:  # keep the first row of a user, in file order
                duplicate_rows += 1
                continue
            kept[user] = (r["group"], int(r["converted"]))
    crossover = {u for u, g in groups.items() if len(g) > 1}

    def tally(users):
        counts = {"control": [0, 0], "treatment": [0, 0]}
        for user in users:
            group, converted = kept[user]
            counts[group][0] += 1
            counts[group][1] += converted
        return counts

    counts = tally(kept)
    without = tally(u for u in kept if u not in crossover)
    kept_crossover = tally(u for u in kept if u in crossover)
    (nc, xc), (nt, xt) = counts["control"], counts["treatment"]
    (nc2, xc2), (nt2, xt2) = without["control"], without["treatment"]
    return {
        "rows": rows,
        "users": len(groups),
        "usersWithSeveralRows": sum(1 for k in rows_per_user.values() if k > 1),
        "mismatchedRows": mismatched_rows,
        "usersWithMismatchedRows": len(mismatched_users),
        "crossoverUsers": len(crossover),
        "crossoverUsersKept": {"control": kept_crossover["control"][0], "treatment": kept_crossover["treatment"][0]},
        "duplicateRowsAfterMismatchDrop": duplicate_rows,
        "cleanRows": len(kept),
        "control": {"n": nc, "conversions": xc},
        "treatment": {"n": nt, "conversions": xt},
        "expected": proportion_case("udacity", (xc, nc), (xt, nt))["expected"],
        "srm": srm_case("udacity clean units, 50/50", [nc, nt], [1, 1])["expected"],
        "sequentialSrm": sequential_srm_case("udacity clean units, 50/50", [nc, nt], [1, 1])["expected"],
        "withoutCrossover": {
            "control": {"n": nc2, "conversions": xc2},
            "treatment": {"n": nt2, "conversions": xt2},
            "expected": proportion_case("udacity without crossover", (xc2, nc2), (xt2, nt2))["expected"],
        },
    }


# ---------------------------------------------------------------------------------------------


def build() -> dict:
    return {
        "generator": "packages/analysis/scripts/scipy_reference.py",
        "versions": {"scipy": scipy.__version__, "numpy": np.__version__, "python": platform.python_version()},
        "tolerance": TOLERANCE,
        "sources": {
            "proportions": "z and p: formula with scipy.stats.norm.sf, cross-checked in the script against scipy.stats.chi2_contingency(correction=False) (pValueChi2Contingency); intervals: formula with scipy.stats.norm.ppf; relative: numpy delta method",
            "welch": "scipy.stats.ttest_ind(equal_var=False) on the unit-level samples (t, df, p, confidence_interval) and scipy.stats.ttest_ind_from_stats on the means and variances from the sums (fromStats); per-arm summaries numpy; relative: numpy delta method",
            "ratios": "numpy from unit-level numerator/denominator arrays (np.cov), p via scipy.stats.norm.sf; not a scipy function",
            "cuped": "theta: numpy np.cov/np.var over both arms' unit-level data; test: scipy.stats.ttest_ind(equal_var=False) on the adjusted unit-level values y - theta (x - pooled mean x)",
            "msprt": "numpy/scipy, not a scipy test: log LR as the difference of scipy.stats.norm.logpdf of the mixture marginal N(null, V + tau2) and N(null, V), checked against numerical integration of the mixture; confidence sequence by scipy.optimize.brentq on the log LR",
            "multipleTesting": "Benjamini-Hochberg: scipy.stats.false_discovery_control(method='bh'); Holm: numpy (scipy has none)",
            "capping": "numpy.quantile(method='linear') and numpy.clip",
            "srm": "scipy.stats.chisquare against total * share",
            "sequentialSrm": "scipy.stats.dirichlet_multinomial.logpmf - scipy.stats.multinomial.logpmf with alpha = concentration * shares",
            "udacity": "csv module over ../shared/data/ab_data.csv; test as in proportions",
        },
        "proportions": proportions(),
        "welch": welch(),
        "ratios": ratios(),
        "cuped": cuped(),
        "msprt": msprts(),
        "multipleTesting": multiple_testing(),
        "capping": capping(),
        "srm": srm(),
        "sequentialSrm": sequential_srm(),
        "udacity": udacity(),
    }


def main() -> None:
    text = json.dumps(build(), indent=1) + "\n"
    if "--check" in sys.argv[1:]:
        current = OUT.read_text() if OUT.exists() else ""
        if current != text:
            sys.exit(f"{OUT} is out of date: run python3 {pathlib.Path(__file__).name}")
        print(f"{OUT} is up to date")
        return
    OUT.write_text(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
