"""Ensemble statistics of stored runs, computed in DuckDB where the members are.

Percentile bands and per-member summaries are SQL aggregates over the run's rows
(``quantile_cont`` is NumPy's default linear interpolation), so a 10,000-member run is never
loaded whole. An exact quantile holds every value of its group in memory, so per-day bands
over more than ``EXACT_ROWS`` rows use DuckDB's ``approx_quantile`` (a t-digest of fixed size
per group: within a fraction of a percentile, plenty for a fan chart). Survival is read off
the ``collapsed`` indicator when the model has one.

Survival interval: every member runs to the same horizon, so no member is censored before it
and the Kaplan-Meier estimate reduces to the share of members still standing; its 95% interval
is Wilson's score interval for a binomial proportion (well-behaved at 0 and 1, unlike the
Wald/Greenwood normal interval on a few collapses).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .store import Store, StoreError, _q

Z95 = 1.959963984540054
QUANTILES = (0.1, 0.5, 0.9)
DAYS_PER_MONTH = 365.25 / 12
EXACT_ROWS = 20_000_000  # values held at once by exact per-day quantiles (~160 MB)


def quantile_sql(col: str, q: float, rows: int) -> str:
    """Exact linear quantile, or a t-digest one when ``rows`` values would be held at once."""
    fn = "quantile_cont" if rows <= EXACT_ROWS else "approx_quantile"
    return f"{fn}({col}, {q})"


def _rows(store: Store, run_id: int, dim: str | None) -> int:
    """Rows of a run in the table of ``dim`` (members x days x coordinates)."""
    meta = store.run(run_id)
    c = len(store.coords(run_id, dim)) if dim else 1
    return int(meta["members"]) * int(meta["days"]) * max(c, 1)


def has_indicator(store: Store, run_id: int, name: str) -> bool:
    """Whether a run stored indicator ``name``."""
    return name in set(store.indicators(run_id)["name"])


def _table(store: Store, run_id: int, name: str) -> tuple[str, str | None]:
    inds = store.indicators(run_id).set_index("name")
    if name not in inds.index:
        raise StoreError(f"indicator {name!r} is not stored for run {run_id}; allowed: "
                         + ", ".join(inds.index))
    dim = inds.loc[name, "extra_dim"]
    dim = None if pd.isna(dim) else str(dim)
    return ("daily" if dim is None else f"daily_{dim}"), dim


def bands(store: Store, run_id: int, name: str,
          quantiles: tuple[float, ...] = QUANTILES) -> pd.DataFrame:
    """Per day (and coordinate of an extra dimension): p10 / p50 / p90, mean and member
    count of indicator ``name`` across members (SQL)."""
    table, dim = _table(store, run_id, name)
    col = f"{_q(name)}::DOUBLE"
    rows = _rows(store, run_id, dim)
    qs = ", ".join(f"{quantile_sql(col, q, rows)} AS p{round(q * 100)}" for q in quantiles)
    by = "day" + (f", {_q(dim)}" if dim else "")
    df = store.con.execute(
        f"SELECT {by}, {qs}, avg({col}) AS mean, count({col}) AS n FROM {_q(table)} "
        f"WHERE run_id = ? GROUP BY {by} ORDER BY {by}", [run_id]).df()
    if dim:
        order = {str(v): i for i, v in enumerate(store.coords(run_id, dim))}
        df["_o"] = df[dim].astype(str).map(order)
        df = df.sort_values(["_o", "day"]).drop(columns="_o").reset_index(drop=True)
    return df


def _member_sql(name: str, how: str, table: str = "daily") -> str:
    col = f"{_q(name)}::DOUBLE"
    if how == "mean":
        return (f"SELECT member, avg({col}) AS v FROM {_q(table)} WHERE run_id = $run "
                "GROUP BY member")
    return (f"SELECT member, {col} AS v FROM {_q(table)} WHERE run_id = $run "
            f"AND day = (SELECT max(day) FROM {_q(table)} WHERE run_id = $run)")


def member_values(store: Store, run_id: int, name: str) -> pd.DataFrame:
    """One number per member for indicator ``name``: its last-day value, or its mean over the
    days for daily rates (the indicator's ``summary``)."""
    inds = store.indicators(run_id).set_index("name")
    _, dim = _table(store, run_id, name)
    if dim:
        raise StoreError(f"indicator {name!r} has an extra dimension ({dim}); allowed: an "
                         "indicator with one value per member and day")
    how = inds.loc[name, "summary"]
    return store.con.execute(_member_sql(name, how) + " ORDER BY member", {"run": run_id}).df()


def summary(store: Store, run_id: int, names: list[str] | None = None) -> pd.DataFrame:
    """p10 / p50 / p90, mean, sd and n across members of each (headline) indicator, as
    :func:`~loyaltytrap.simulate.summarize` computes them in memory (SQL)."""
    inds = store.indicators(run_id).set_index("name")
    if names is None:
        names = [n for n in inds.index if bool(inds.loc[n, "headline"])
                 and pd.isna(inds.loc[n, "extra_dim"])]
    rows = []
    for name in names:
        how = inds.loc[name, "summary"]
        r = store.con.execute(
            f"SELECT quantile_cont(v, 0.1), quantile_cont(v, 0.5), quantile_cont(v, 0.9), "
            f"avg(v), stddev_samp(v), count(v) FROM ({_member_sql(name, how)})",
            {"run": run_id}).fetchall()[0]
        rows.append({"indicator": name, "unit": inds.loc[name, "unit"],
                     "how": "mean over days" if how == "mean" else "last day",
                     "p10": _f(r[0]), "p50": _f(r[1]), "p90": _f(r[2]), "mean": _f(r[3]),
                     "sd": _f(r[4]), "n": int(r[5])})
    return pd.DataFrame(rows)


def _f(x: Any) -> float:
    return float("nan") if x is None else float(x)


def member_summaries(ds: xr.Dataset, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """In memory, per batch: one number per member for each indicator (as :func:`summary`)."""
    from .indicators import BY_NAME

    out = {}
    for n in names:
        ind = BY_NAME.get(n)
        da = ds[n]
        if da.ndim != 2:  # one number per member: indicators over an extra dim are left out
            continue
        out[n] = (da.mean("day", skipna=True) if getattr(ind, "summary", "final") == "mean"
                  else da.isel(day=-1)).values.astype(float)
    return out


def summary_from_values(values: dict[str, np.ndarray]) -> pd.DataFrame:
    """p10 / p50 / p90, mean, sd and n of per-member values (see :func:`member_summaries`)."""
    from .indicators import BY_NAME

    rows = []
    for n, v in values.items():
        ind = BY_NAME.get(n)
        v = v[np.isfinite(v)]
        q = np.percentile(v, [10, 50, 90]) if len(v) else [np.nan] * 3
        rows.append({"indicator": n, "unit": getattr(ind, "unit", ""),
                     "how": "mean over days" if getattr(ind, "summary", "") == "mean"
                     else "last day", "p10": q[0], "p50": q[1], "p90": q[2],
                     "mean": v.mean() if len(v) else np.nan,
                     "sd": v.std(ddof=1) if len(v) > 1 else np.nan, "n": len(v)})
    return pd.DataFrame(rows)


# --- collapse and survival -----------------------------------------------------------------

def wilson(k: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion k/n."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        den = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def collapses(store: Store, run_id: int) -> pd.DataFrame | None:
    """Per member: collapse day (NaN if the regime stood) and cause; None when the run has no
    ``collapsed`` indicator."""
    if not has_indicator(store, run_id, "collapsed"):
        return None
    df = store.con.execute(
        "SELECT member, min(day) FILTER (WHERE collapsed > 0.5) AS collapse_day "
        "FROM daily WHERE run_id = ? GROUP BY member ORDER BY member", [run_id]).df()
    causes = store.con.execute(
        "SELECT member, first(label ORDER BY day) AS cause FROM events "
        "WHERE run_id = ? AND event = 'collapse' GROUP BY member", [run_id]).df()
    df = df.merge(causes, on="member", how="left")
    if df["cause"].isna().any() and has_indicator(store, run_id, "collapse_cause"):
        names = cause_names(store, run_id)
        codes = store.con.execute(
            "SELECT member, max(collapse_cause)::DOUBLE AS code FROM daily WHERE run_id = ? "
            "GROUP BY member", [run_id]).df()
        df = df.merge(codes, on="member", how="left")
        fill = df["code"].map(lambda c: names.get(int(c), f"cause {int(c)}")
                              if pd.notna(c) and c >= 0 else None)
        df["cause"] = df["cause"].fillna(fill)
        df = df.drop(columns="code")
    df.loc[df["collapse_day"].isna(), "cause"] = None
    return df


def cause_names(store: Store, run_id: int) -> dict[int, str]:
    """Code -> cause, read from the ``collapse_cause`` description ("0 military defeat, ...")."""
    inds = store.indicators(run_id).set_index("name")
    if "collapse_cause" not in inds.index:
        return {}
    text = str(inds.loc["collapse_cause", "description"])
    return {int(k): v.strip() for k, v in re.findall(r"(\d+) ([A-Za-z][A-Za-z \-]*)", text)}


def survival(store: Store, run_id: int) -> pd.DataFrame | None:
    """Share of members whose regime still stands at the end of each month, with a 95% Wilson
    interval; None when the run has no ``collapsed`` indicator."""
    c = collapses(store, run_id)
    if c is None:
        return None
    days = int(store.run(run_id)["days"])
    n = len(c)
    cd = c["collapse_day"].to_numpy(dtype=float)
    months = int(np.ceil(days / DAYS_PER_MONTH - 1e-9))
    rows = []
    for m in range(0, months + 1):
        d = min(days, round(m * DAYS_PER_MONTH))
        standing = int(np.sum(~(cd <= d)))
        rows.append({"month": m, "day": d, "standing": standing, "n": n})
    df = pd.DataFrame(rows)
    df["survival"] = df["standing"] / df["n"]
    df["lo"], df["hi"] = wilson(df["standing"].to_numpy(), df["n"].to_numpy())
    return df


def cause_distribution(store: Store, run_id: int) -> pd.DataFrame | None:
    """Collapses by cause: count and share of members; None without ``collapsed``."""
    c = collapses(store, run_id)
    if c is None:
        return None
    n = len(c)
    d = c.dropna(subset=["collapse_day"]).groupby("cause").size().rename("count")
    df = d.reset_index().sort_values("count", ascending=False).reset_index(drop=True)
    df["share"] = df["count"] / n
    return df


# --- comparing runs ------------------------------------------------------------------------

def diff_of_means(a: np.ndarray, b: np.ndarray, z: float = Z95) -> tuple[float, float, float]:
    """mean(b) - mean(a) and its normal-approximation 95% interval (Welch standard error)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        d = (b.mean() - a.mean()) if len(a) and len(b) else np.nan
        return float(d), np.nan, np.nan
    d = b.mean() - a.mean()
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return float(d), float(d - z * se), float(d + z * se)


def compare(store: Store, a: int, b: int, names: list[str] | None = None) -> pd.DataFrame:
    """Headline indicators of two runs side by side: p10/p50/p90 of each and the difference of
    means (B - A) with its 95% interval."""
    ia = store.indicators(a).set_index("name")
    ib = store.indicators(b).set_index("name")
    if names is None:
        names = [n for n in ia.index if bool(ia.loc[n, "headline"]) and n in ib.index
                 and pd.isna(ia.loc[n, "extra_dim"])]
    sa, sb = summary(store, a, names), summary(store, b, names)
    rows = []
    for n, ra, rb in zip(names, sa.itertuples(), sb.itertuples(), strict=True):
        d, lo, hi = diff_of_means(member_values(store, a, n)["v"],
                                  member_values(store, b, n)["v"])
        rows.append({"indicator": n, "unit": ra.unit, "how": ra.how,
                     "a_p10": ra.p10, "a_p50": ra.p50, "a_p90": ra.p90,
                     "b_p10": rb.p10, "b_p50": rb.p50, "b_p90": rb.p90,
                     "diff": d, "diff_lo": lo, "diff_hi": hi})
    return pd.DataFrame(rows)


def representative_member(store: Store, run_id: int) -> int:
    """The member closest to the ensemble median over the headline indicators (standardised);
    when some regimes collapse and the median member's did too, one that collapsed."""
    s = summary(store, run_id)
    cols = []
    for n in s["indicator"]:
        v = member_values(store, run_id, n).set_index("member")["v"]
        sd = v.std()
        cols.append(((v - v.median()) / (sd if sd and np.isfinite(sd) else 1.0)).rename(n))
    if not cols:
        return int(store.con.execute("SELECT min(member) FROM daily WHERE run_id = ?",
                                     [run_id]).fetchall()[0][0])
    dist = pd.concat(cols, axis=1).fillna(0.0).pow(2).sum(axis=1)
    c = collapses(store, run_id)
    if c is not None:
        fell = c.set_index("member")["collapse_day"].notna()
        if fell.mean() >= 0.5 and fell.any():
            dist = dist[fell.reindex(dist.index, fill_value=False)]
    return int(dist.idxmin())
