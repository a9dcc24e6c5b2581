"""One self-contained HTML report of a stored run (and of a comparison of two runs).

Figures are drawn with matplotlib and embedded as base64 PNG; the page has no external URL
and opens offline. Sections appear when the indicators they need were stored, so the report
grows with the model: every stored indicator is shown somewhere (the ones no section claims
fall into "Other indicators", grouped by mechanism).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import stats
from .store import Store, StoreError, _q

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
# themed sections: title -> words an indicator name may contain
THEMES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("production", "Production by line", ("production", "output", "line_", "binding",
                                          "shells", "factory")),
    ("money", "Money: reserves and runway", ("reserve", "runway", "money", "budget", "deficit",
                                            "revenue", "spending", "fiscal", "debt")),
    ("strikes", "Strikes and the repair race", ("strike", "plant_capacity", "capacity_",
                                                "machine_tools", "repair", "awaiting_signoff",
                                                "time_to_restore")),
    ("front", "The front", ("front_", "territory", "force", "casualt", "slack", "offensive")),
    ("elites", "Elites, banks and allies", ("elite", "bank", "ally", "allies", "defect",
                                            "oligarch", "sanction")),
)


# --- figures -------------------------------------------------------------------------------

def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 90, "font.size": 8, "axes.titlesize": 9,
                         "axes.spines.top": False, "axes.spines.right": False})
    return plt


def _img(fig: Any, alt: str) -> str:
    """A figure as an embedded PNG <img>."""
    plt = _plt()
    buf = io.BytesIO()
    _layout(fig)
    with warnings.catch_warnings():  # AutoDateLocator on very short runs
        warnings.simplefilter("ignore", UserWarning)
        fig.savefig(buf, format="png")  # no bbox "tight"/tight_layout: they triple the drawing
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img class="fig" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _layout(fig: Any) -> None:
    """Fixed margins in inches (cheap, unlike tight_layout)."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=0.55 / w, right=1 - 0.15 / w, bottom=0.45 / h, top=1 - 0.5 / h,
                        wspace=0.3, hspace=0.75 if h > 3 else 0.5)


def _suptitle(fig: Any, text: str) -> None:
    """A figure title 0.1 inch from the top, above the first row's titles."""
    fig.suptitle(text, x=0.01, y=1 - 0.1 / fig.get_size_inches()[1], ha="left", va="top",
                 fontsize=10)


def _grid(n: int, ncols: int = 3, h: float = 2.3) -> tuple[Any, list[Any]]:
    plt = _plt()
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, h * nrows + 0.4),
                             squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _x(df: pd.DataFrame, start: dt.date) -> pd.DatetimeIndex:
    return pd.Timestamp(start) + pd.to_timedelta(df["day"].to_numpy(), unit="D")


def _fan(ax: Any, b: pd.DataFrame, start: dt.date, colour: str, label: str | None = None
         ) -> None:
    x = _x(b, start)
    ax.fill_between(x, b["p10"], b["p90"], color=colour, alpha=0.22, lw=0)
    ax.plot(x, b["p50"], color=colour, lw=1.3, label=label)
    _dates(ax)


def _dates(ax: Any) -> None:
    import matplotlib.dates as mdates

    loc = mdates.AutoDateLocator(maxticks=5)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def _title(ax: Any, name: str, meta: pd.Series) -> None:
    ax.set_title(f"{name} [{meta['unit']}]", loc="left")


class _Run:
    """What a report reads of one run, fetched once."""

    def __init__(self, store: Store, run_id: int) -> None:
        self.store, self.id = store, run_id
        self.meta = store.run(run_id)
        self.inds = store.indicators(run_id).set_index("name")
        self.start = pd.Timestamp(self.meta["start_date"]).date()
        self._bands: dict[str, pd.DataFrame] = {}

    def has(self, name: str) -> bool:
        return name in self.inds.index

    def dim(self, name: str) -> str | None:
        d = self.inds.loc[name, "extra_dim"]
        return None if pd.isna(d) else str(d)

    def bands(self, names: Iterable[str]) -> dict[str, pd.DataFrame]:
        """p10/p50/p90 per day; one SQL scan for as many scalar indicators as fit at once."""
        names = [n for n in names if self.has(n)]
        scalar = [n for n in names if self.dim(n) is None and n not in self._bands]
        rows = int(self.meta["members"]) * int(self.meta["days"])
        per_scan = max(1, stats.EXACT_ROWS // max(rows, 1))  # columns whose values fit at once
        for k in range(0, len(scalar), per_scan):
            chunk = scalar[k:k + per_scan]
            sel = ", ".join(_band_sql(n, rows) for n in chunk)
            df = self.store.con.execute(f"SELECT day, {sel} FROM daily WHERE run_id = ? "
                                        "GROUP BY day ORDER BY day", [self.id]).df()
            for n in chunk:
                q = np.array([[np.nan] * 3 if _missing(v) else
                              [np.nan if _missing(x) else x for x in v] for v in df[n]],
                             dtype=float).reshape(-1, 3)
                self._bands[n] = pd.DataFrame({"day": df["day"], "p10": q[:, 0],
                                               "p50": q[:, 1], "p90": q[:, 2]})
        for n in names:
            if n not in self._bands:
                self._bands[n] = stats.bands(self.store, self.id, n)
        return {n: self._bands[n] for n in names}


def _band_sql(name: str, rows: int) -> str:
    """[p10, p50, p90] of a column per group (t-digest quantiles on a very large run)."""
    col = f"{_q(name)}::DOUBLE"
    if rows <= stats.EXACT_ROWS:
        return f"quantile_cont({col}, [0.1, 0.5, 0.9]) AS {_q(name)}"
    qs = ", ".join(stats.quantile_sql(col, q, rows) for q in (0.1, 0.5, 0.9))
    return f"[{qs}] AS {_q(name)}"


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def fan_charts(run: _Run, names: list[str], title: str, ncols: int = 3) -> str:
    """Small multiples: p10-p90 band and median per indicator (extra dims: median per
    coordinate)."""
    names = [n for n in names if run.has(n)]
    if not names:
        return ""
    bs = run.bands(names)
    fig, axes = _grid(len(names), ncols)
    for ax, n in zip(axes, names, strict=True):
        b, dim = bs[n], run.dim(n)
        if dim is None:
            _fan(ax, b, run.start, COLOURS[0])
        else:
            for i, (c, g) in enumerate(b.groupby(dim, sort=False)):
                ax.plot(_x(g, run.start), g["p50"], color=COLOURS[i % 10], lw=1.1, label=str(c))
            med = b.groupby(dim, sort=False)["p50"].max().to_numpy(dtype=float)
            med = med[np.isfinite(med) & (med > 0)]
            if len(med) > 1 and med.max() / med.min() > 100:  # lines on different scales
                ax.set_yscale("symlog", linthresh=max(med.min() / 10, 1e-9))
            ax.legend(fontsize=6, title=f"median by {dim}", title_fontsize=6)
            _dates(ax)
        _title(ax, n, run.inds.loc[n])
    _suptitle(fig, title)
    _layout(fig)
    return _img(fig, title)


def code_names(description: str) -> dict[int, str]:
    """Code -> meaning, read from a description like "(-1 none; 0 airframe, 1 engine)"."""
    import re

    inner = " ".join(re.findall(r"\(([^()]*)\)", description))
    return {int(k): v.strip() for k, v in re.findall(r"(-?\d+) ([A-Za-z][A-Za-z' \-]*)",
                                                     inner)}


def code_table(run: _Run, name: str) -> str:
    """A coded indicator over an extra dimension: on the last day, the share of members in
    each code, per coordinate (e.g. the component that binds each production line)."""
    dim = run.dim(name)
    table = f"daily_{dim}"
    df = run.store.con.execute(
        f"SELECT {_q(dim)} AS coord, {_q(name)} AS code, count(*) AS n FROM {_q(table)} "
        f"WHERE run_id = ? AND day = (SELECT max(day) FROM {_q(table)} WHERE run_id = ?) "
        f"AND {_q(name)} IS NOT NULL GROUP BY ALL", [run.id, run.id]).df()
    if not len(df):
        return ""
    names = code_names(str(run.inds.loc[name, "description"]))
    order = {str(c): i for i, c in enumerate(run.store.coords(run.id, dim))}
    rows = []
    for coord, g in sorted(df.groupby("coord"), key=lambda kv: order.get(str(kv[0]), 0)):
        g = g.sort_values("n", ascending=False)
        tot = g["n"].sum()
        rows.append({dim: coord, f"{name} on the last day (share of members)": "; ".join(
            f"{names.get(int(c), f'code {int(c)}')} {n / tot:.0%}"
            for c, n in zip(g["code"], g["n"], strict=True))})
    return f"<h3>{html.escape(name)}: {html.escape(str(run.inds.loc[name, 'description']))}" \
           f"</h3>" + _table(pd.DataFrame(rows))


def code_shares(run: _Run, name: str) -> str:
    """Share of members in each code of a coded indicator, month by month."""
    df = run.store.con.execute(
        f"SELECT (day - 1) // 30 AS month, {_q(name)}::DOUBLE AS code, count(*) AS n FROM daily "
        f"WHERE run_id = ? AND {_q(name)} IS NOT NULL GROUP BY ALL ORDER BY ALL",
        [run.id]).df()
    if not len(df):
        return ""
    wide = df.pivot(index="month", columns="code", values="n").fillna(0)
    wide = wide.div(wide.sum(axis=1), axis=0)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 2.4))
    names = code_names(str(run.inds.loc[name, "description"]))
    ax.stackplot(wide.index, wide.T.to_numpy(),
                 labels=[names.get(int(c), f"{c:g}") for c in wide.columns],
                 colors=COLOURS[: len(wide.columns)] * 3, alpha=0.8)
    ax.set_xlabel("month")
    ax.set_ylabel("share of member-days")
    ax.legend(fontsize=6, ncol=min(6, len(wide.columns)), loc="upper right")
    ax.set_ylim(0, 1.25)
    ax.set_title(f"{name}: share of member-days by code ("
                 f"{str(run.inds.loc[name, 'description'])[:80]})", loc="left")
    return _img(fig, name)


# --- sections ------------------------------------------------------------------------------

def _section(title: str, body: str, sid: str, intro: str = "") -> str:
    if not body.strip():
        return ""
    p = f"<p>{intro}</p>" if intro else ""
    return f'<section id="{sid}"><h2>{html.escape(title)}</h2>{p}{body}</section>'


def _table(df: pd.DataFrame, floatfmt: str = "{:,.3g}", cls: str = "") -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return "-" if not np.isfinite(v) else floatfmt.format(v)
        return html.escape("" if v is None else str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>"
                   for r in df.itertuples(index=False))
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def true_vs_perceived(run: _Run) -> tuple[str, set[str]]:
    """Each ``true_X`` beside its ``perceived_X``: the truth and the leader's picture."""
    used: set[str] = set()
    parts = []
    pairs = [(n, "perceived_" + n[5:]) for n in run.inds.index
             if n.startswith("true_") and run.has("perceived_" + n[5:])]
    for t, p in pairs:
        used |= {t, p}
        bs = run.bands([t, p])
        dim = run.dim(t)
        if dim is None:
            plt = _plt()
            fig, ax = plt.subplots(figsize=(7, 2.6))
            _fan(ax, bs[t], run.start, COLOURS[1], "the truth (" + t + ")")
            _fan(ax, bs[p], run.start, COLOURS[0], "the leader's picture (" + p + ")")
            ax.legend(fontsize=7)
            ax.set_title(f"{t} beside {p} [{run.inds.loc[t, 'unit']}]: median and p10-p90",
                         loc="left")
            parts.append(_img(fig, f"{t} beside {p}"))
        else:
            coords = list(dict.fromkeys(bs[t][dim]))
            fig, axes = _grid(len(coords), 3)
            for ax, c in zip(axes, coords, strict=True):
                _fan(ax, bs[t][bs[t][dim] == c], run.start, COLOURS[1], "truth")
                _fan(ax, bs[p][bs[p][dim] == c], run.start, COLOURS[0], "perceived")
                ax.set_title(f"{dim} {c}", loc="left")
                ax.legend(fontsize=6)
            _suptitle(fig, f"{t} beside {p} by {dim}")
            _layout(fig)
            parts.append(_img(fig, f"{t} beside {p} by {dim}"))
    for n in ("gap_share", "hidden_problems", "surprises_total"):
        if run.has(n):
            used.add(n)
    parts.append(fan_charts(run, ["gap_share", "hidden_problems", "surprises_total"],
                            "How blind the leader is"))
    return "".join(parts), used


def purge_timeline(run: _Run) -> tuple[str, set[str]]:
    """Purges per month by cause (mean per member), stacked."""
    causes = [n for n in run.inds.index if n.startswith("purges_") and run.dim(n) is None]
    if not causes:
        return "", set()
    sums = ", ".join(f"sum({_q(n)}::DOUBLE) AS {_q(n)}" for n in causes)
    df = run.store.con.execute(
        f"SELECT (day - 1) // 30 AS month, {sums}, count(DISTINCT member) AS members "
        "FROM daily WHERE run_id = ? GROUP BY month ORDER BY month", [run.id]).df()
    members = max(int(run.meta["members"]), 1)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 2.6))
    start = pd.Timestamp(run.start)
    x = [start + pd.Timedelta(days=30 * int(m) + 15) for m in df["month"]]
    bottom = np.zeros(len(df))
    for i, n in enumerate(causes):
        v = df[n].to_numpy(dtype=float) / members
        ax.bar(x, v, width=26, bottom=bottom, color=COLOURS[i % 10], label=n[7:])
        bottom += v
    ax.set_ylabel("purges per member-month")
    ax.legend(fontsize=7, title="cause")
    ax.set_title("Purges by cause, month by month (mean over members)", loc="left")
    _dates(ax)
    _layout(fig)
    extra = [n for n in ("purged_total", "top_purged_total", "jailed_total",
                         "disappeared_total", "removed_total", "fear_mean", "fear_by_level",
                         "vacant_posts", "competence_mean") if run.has(n)]
    return _img(fig, "purges by cause") + fan_charts(run, extra, "Purges, fates and fear"), \
        {*causes, *extra}


def survival_section(run: _Run) -> tuple[str, set[str]]:
    """Survival curve with its interval, collapse days and causes."""
    surv = stats.survival(run.store, run.id)
    if surv is None:
        return "", set()
    coll = stats.collapses(run.store, run.id)
    causes = stats.cause_distribution(run.store, run.id)
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(11, 2.8))
    ax = axes[0]
    ax.fill_between(surv["month"], surv["lo"], surv["hi"], step="post", color=COLOURS[0],
                    alpha=0.25, lw=0, label="95% Wilson interval")
    ax.step(surv["month"], surv["survival"], where="post", color=COLOURS[0], label="standing")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("months from start")
    ax.set_title("Regime survival", loc="left")
    ax.legend(fontsize=7)
    days = coll["collapse_day"].dropna()
    if len(days):
        axes[1].hist(days / stats.DAYS_PER_MONTH, bins=min(36, max(5, len(days) // 3)),
                     color=COLOURS[1])
    axes[1].set_title(f"Collapse month ({len(days)} of {len(coll)} members)", loc="left")
    axes[1].set_xlabel("month")
    if causes is not None and len(causes):
        axes[2].barh(causes["cause"].astype(str), causes["share"], color=COLOURS[3])
        axes[2].invert_yaxis()
    axes[2].set_title("Collapse causes (share of members)", loc="left")
    _layout(fig)
    table = surv[surv["month"] % 6 == 0] if len(surv) > 13 else surv
    tbl = table.assign(survival=table["survival"].map("{:.1%}".format),
                       interval=[f"[{a:.1%}, {b:.1%}]" for a, b in zip(table["lo"], table["hi"],
                                                                       strict=True)])
    body = (_img(fig, "survival") + _table(tbl[["month", "day", "standing", "n", "survival",
                                                 "interval"]])
            + (_table(causes.assign(share=causes["share"].map("{:.1%}".format)))
               if causes is not None and len(causes) else ""))
    extra = [n for n in ("stability", "stress", "threat") if run.has(n)]
    body += fan_charts(run, extra, "Stability, stress by source and the leader's threat")
    for n in ("collapse_cause",):
        if run.has(n):
            extra.append(n)
    return body, {"collapsed", *extra}


def _charts(run: _Run, names: list[str], title: str) -> str:
    """Fan charts of measured indicators; coded ones as shares (or a table over a dim)."""
    coded = [n for n in names if run.inds.loc[n, "unit"] == "code"]
    plain = [n for n in names if n not in coded]
    return fan_charts(run, plain, title) + "".join(
        code_shares(run, n) if run.dim(n) is None else code_table(run, n) for n in coded)


def themed(run: _Run, used: set[str]) -> list[tuple[str, str, str]]:
    """The war-economy sections (production, money, strikes, front, elites) that exist."""
    out = []
    for sid, title, words in THEMES:
        names = [n for n in run.inds.index if n not in used
                 and any(w in n for w in words)]
        body = _charts(run, names, title)
        used |= set(names)
        out.append((sid, title, body))
    return out


def narrative(run: _Run, member: int) -> str:
    """A plain-language account of one member's history, read from its event log."""
    ev = run.store.events(run.id, member=member)
    ds = run.store.load(run.id, members=[member])
    start = run.start

    def date(d: int) -> str:
        return (start + dt.timedelta(days=int(d))).strftime("%d %b %Y")

    items: list[str] = []
    counts = ev["event"].value_counts()
    overview = ", ".join(f"{int(c)} {e}" for e, c in counts.items())
    items.append(f"<p>Member {member} (the ensemble member closest to the median of the "
                 f"headline indicators) logged {len(ev)} events: "
                 f"{html.escape(overview) or 'none'}.</p>")
    # episodes: what happened on one day, as a chain (news surfaced -> surprise -> response
    # -> purge -> fear); routine kinds (more than 20 in this log) are left out
    routine = {k for k, c in counts.items() if c > 20}
    chains = []
    for d, g in ev[~ev["event"].isin(routine)].groupby("day"):
        kinds = set(g["event"])
        steps = _episode(g)
        rank = 0 if "collapse" in kinds else 1 if "surprise" in kinds else \
            2 if "purge" in kinds else 3 if any(counts[k] <= 3 for k in kinds) else 4
        chains.append((int(d), " &rarr; ".join(steps), rank))
    if chains:
        fell = [d for d, _, r in chains if r == 0]
        pick = [c for rank, cap in ((0, 1), (1, 8), (2, 5), (3, 8), (4, 3))
                for c in [c for c in chains if c[2] == rank][:cap]]
        if fell:
            pick += [c for c in chains if fell[0] - 60 <= c[0] < fell[0]][-5:]
        shown = sorted(set(pick))
        items.append("<p>The chain of causes, episode by episode"
                     + (f" (routine events left out: {html.escape(', '.join(sorted(routine)))})"
                        if routine else "") + ":</p><ol>"
                     + "".join(f"<li><b>Day {d} ({date(d)}):</b> {s}</li>" for d, s, _ in shown)
                     + "</ol>")
        if len(chains) > len(shown):
            items.append(f"<p>&hellip; and {len(chains) - len(shown)} more episodes.</p>")
    else:
        items.append("<p>Nothing beyond routine events happened to this member.</p>")
    # where the picture ended
    last = ds.isel(member=0, day=-1)
    facts = []
    for n, fmt in (("true_total", "{:.0f} unresolved problems"),
                   ("perceived_total", "the leader knew of {:.0f}"),
                   ("fear_mean", "mean fear {:.2f}"), ("purged_total", "{:.0f} officers purged"),
                   ("competence_mean", "mean competence {:.2f}")):
        if n in last and np.isfinite(float(last[n])):
            facts.append(fmt.format(float(last[n])))
    if facts:
        items.append(f"<p>On the last day: {html.escape('; '.join(facts))}.</p>")
    items.append(_why_collapse(run, member, ev, ds, date))
    return "".join(items)


def _episode(g: pd.DataFrame) -> list[str]:
    """One day's events of one member as steps of a chain, in causal order."""
    steps = []
    sf = g[g["event"] == "surfaced"]
    if len(sf):
        steps.append(html.escape(
            f"buried news surfaced ({int(sf['value'].sum())} problems, hidden "
            f"{sf['value2'].max():.0f} days at most, held back at level(s) "
            f"{', '.join(map(str, sorted(set(sf['level']))))})"))
    for _, r in g[g["event"] == "surprise"].iterrows():
        steps.append(html.escape(f"the leader was surprised ({r['value']:.0f} problems he did "
                                 "not know of)"))
    for _, r in g[g["event"] == "response"].iterrows():
        steps.append(html.escape(f"he answered with {r['label']}"))
    pg = g[g["event"] == "purge"]
    if len(pg):
        why = pg["label"].str.split(" \\(").str[0].value_counts()
        who = ", ".join(f"{k} x{v}" for k, v in why.items())
        steps.append(html.escape(f"{len(pg)} officer(s) purged ({who}; level(s) "
                                 f"{', '.join(map(str, sorted(set(pg['level']))))})"))
    for _, r in g[g["event"] == "fear_spread"].iterrows():
        steps.append(html.escape(f"fear at level {r['level']} rose from {r['value2']:.2f} to "
                                 f"{r['value']:.2f}"))
    known = {"surfaced", "surprise", "response", "purge", "fear_spread", "collapse"}
    for _, r in g[~g["event"].isin(known)].iterrows():
        steps.append(html.escape(str(r["details"])))
    for _, r in g[g["event"] == "collapse"].iterrows():
        steps.append(f"<b>the regime collapsed: {html.escape(str(r['label']))}</b>")
    return steps


def _why_collapse(run: _Run, member: int, ev: pd.DataFrame, ds: Any, date: Any) -> str:
    """"Why it collapsed on day N": the cause, the stresses that day and what led up to it."""
    c = ev[ev["event"] == "collapse"]
    if not len(c) and "collapsed" in ds:
        fell = np.flatnonzero(ds["collapsed"].isel(member=0).values > 0.5)
        if not len(fell):
            return ("<p>This member's regime was still standing at the end of the run.</p>"
                    if "collapsed" in ds else "")
        day, cause = int(ds["day"].values[fell[0]]), "cause not logged"
    elif len(c):
        day, cause = int(c["day"].iloc[0]), str(c["label"].iloc[0])
    else:
        return ""
    out = [f"<h3>Why it collapsed on day {day} ({date(day)})</h3>",
           f"<p>The regime fell to <b>{html.escape(cause)}</b>: the stress with the largest "
           "weighted share that day.</p>"]
    if "stress" in ds and len(ds["stress"].dims) == 3:
        dim = ds["stress"].dims[2]
        i = day - 1
        today = ds["stress"].isel(member=0, day=i).values
        before = ds["stress"].isel(member=0, day=max(0, i - 90)).values
        rows = [f"{html.escape(str(k))} {b:.2f} &rarr; {t:.2f}"
                for k, b, t in zip(ds[dim].values, before, today, strict=True)]
        out.append(f"<p>Stress by source, 90 days before &rarr; on the day: {'; '.join(rows)}."
                   "</p>")
    if "stability" in ds:
        st = ds["stability"].isel(member=0).values
        out.append(f"<p>Stability went from {st[0]:.2f} on day 1 to {st[day - 1]:.2f} on the "
                   "day of the collapse.</p>")
    lead = ev[(ev["day"] > day - 60) & (ev["day"] <= day) & (ev["event"] != "reruns")]
    if len(lead):
        kinds = lead["event"].value_counts()
        out.append("<p>In the 60 days before: " + html.escape(
            ", ".join(f"{int(v)} {k}" for k, v in kinds.items())) + ".</p>")
    return "".join(out)


def parameters(store: Store, run_id: int) -> str:
    """The parameter table with provenance."""
    p = store.provenance(run_id)
    if not len(p):
        return ""
    rows = []
    for r in p.itertuples(index=False):
        if r.provenance == "sourced":
            evidence = f"<b>{html.escape(r.source)}</b>: {html.escape(r.figure)}"
        elif r.provenance == "assumption":
            evidence = f"{html.escape(r.rationale)} <i>(range {html.escape(r.range)})</i>"
        else:
            evidence = html.escape(r.rationale)
        rows.append(f"<tr class='{r.provenance}'><td>{r.mechanism}</td><td>{r.section}."
                    f"{r.parameter}</td><td>{html.escape(r.value)}</td><td>"
                    f"{html.escape(r.unit)}</td><td>{r.provenance}</td><td>{evidence}</td></tr>")
    counts = p["provenance"].value_counts()
    intro = ", ".join(f"{v} {k}" for k, v in counts.items())
    return (f"<p>{len(p)} parameters: {intro}. Sourced ones cite the source and the figure "
            "they rest on; assumptions give a rationale and a plausible range.</p>"
            "<table class='params'><thead><tr><th>mech.</th><th>parameter</th><th>value</th>"
            "<th>unit</th><th>provenance</th><th>evidence</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


# --- the page ------------------------------------------------------------------------------

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1150px;
margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;
margin-top:2em}table{border-collapse:collapse;margin:.6em 0;font-size:12px}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}img.fig{max-width:100%;display:block;margin:.6em 0}
tr.sourced td:nth-child(5){color:#1a7f37;font-weight:600}
tr.assumption td:nth-child(5){color:#9a6700}tr.override td:nth-child(5){color:#cf222e}
nav a{margin-right:1em}.meta td:first-child{font-weight:600}ol li{margin:.3em 0}
"""


def _page(title: str, sections: list[str], nav: list[tuple[str, str]]) -> str:
    links = "".join(f'<a href="#{sid}">{html.escape(t)}</a>' for sid, t in nav)
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><nav>{links}</nav>" + "".join(sections)
            + f"<footer><p><small>Written by loyaltytrap on {dt.datetime.now():%Y-%m-%d %H:%M}"
            "; self-contained (figures embedded), opens offline.</small></p></footer>"
              "</body></html>")


def _meta_table(meta: dict[str, Any]) -> str:
    keys = ("run_id", "scenario", "scenario_hash", "overrides", "seed", "members", "days",
            "start_date", "code_version", "started_at", "finished_at", "status")
    rows = "".join(f"<tr><td>{k}</td><td>{html.escape(str(meta.get(k)))}</td></tr>"
                   for k in keys)
    return f"<table class='meta'>{rows}</table>"


def build_report(store: Store, run_id: int) -> str:
    """The HTML of a run's report."""
    run = _Run(store, run_id)
    m = run.meta
    secs: list[tuple[str, str, str, str]] = []  # id, title, body, intro
    summ = stats.summary(store, run_id)
    secs.append(("run", "The run", _meta_table(m) + _table(summ), "What was simulated and "
                 "the headline indicators across members (p10 / p50 / p90)."))
    headline = [n for n in run.inds.index if bool(run.inds.loc[n, "headline"])]
    used = set(headline)
    frozen = ("After a member's regime collapses its indicators stay as they were on the day "
              "of the collapse, so late in a run the bands describe fallen regimes as well as "
              "standing ones." if run.has("collapsed") else "")
    secs.append(("headline", "Headline indicators", fan_charts(run, headline, "Headline "
                 "indicators: median and p10-p90 band across members"), frozen))
    body, u = true_vs_perceived(run)
    used |= u
    secs.append(("picture", "The truth beside the leader's picture", body,
                 "Red: what is really wrong; blue: what reaches the leader."))
    body, u = purge_timeline(run)
    used |= u
    secs.append(("purges", "Purges", body, ""))
    for sid, title, body in themed(run, used):
        secs.append((sid, title, body, ""))
    body, u = survival_section(run)
    used |= u
    secs.append(("survival", "Survival of the regime", body, ""))
    rest = [n for n in run.inds.index if n not in used]
    other = ""
    for mech, g in pd.Series(rest, dtype=object).groupby(
            [run.inds.loc[n, "mechanism"] for n in rest], sort=True):
        other += _charts(run, list(g), f"{mech}")
    secs.append(("other", "Other indicators", other, "Every other stored indicator, by "
                 "mechanism."))
    member = stats.representative_member(store, run_id)
    secs.append(("story", f"One member's story (member {member})", narrative(run, member), ""))
    secs.append(("parameters", "Parameters and their provenance", parameters(store, run_id),
                 ""))
    html_secs = [_section(t, b, sid, i) for sid, t, b, i in secs]
    nav = [(sid, t) for (sid, t, _b, _i), h in zip(secs, html_secs, strict=True) if h]
    title = (f"loyaltytrap run {run_id}: {m['scenario']}, {m['members']} members x "
             f"{m['days']} days")
    return _page(title, [h for h in html_secs if h], nav)


def _write(text: str, path: str | Path) -> Path:
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise StoreError(f"--out {out}: cannot write ({e.strerror or e}); allowed: a file path "
                         "in a writable directory") from None
    return out.resolve()


def write_report(store: Store, run_id: int, path: str | Path) -> Path:
    """Write a run's self-contained HTML report; returns its path."""
    return _write(build_report(store, run_id), path)


# --- comparison ----------------------------------------------------------------------------

def build_comparison(store: Store, a: int, b: int) -> str:
    """The HTML comparing two runs: overlaid fan charts, survival curves, the difference
    table."""
    ra, rb = _Run(store, a), _Run(store, b)
    la = f"A: run {a} ({ra.meta['scenario']})"
    lb = f"B: run {b} ({rb.meta['scenario']})"
    df = stats.compare(store, a, b)
    tbl = df.assign(**{"B - A [95% CI]": [f"{d:,.3g} [{lo:,.3g}, {hi:,.3g}]" for d, lo, hi in
                                          zip(df["diff"], df["diff_lo"], df["diff_hi"],
                                              strict=True)]}).drop(
        columns=["diff", "diff_lo", "diff_hi"])
    names = list(df["indicator"])
    secs = [("runs", "The runs", "<h3>A</h3>" + _meta_table(ra.meta) + "<h3>B</h3>"
             + _meta_table(rb.meta), ""),
            ("table", "Headline indicators", _table(tbl), "p10 / p50 / p90 across members of "
             "each run and the difference of means B - A with its normal-approximation 95% "
             "interval.")]
    if names:
        ba, bb = ra.bands(names), rb.bands(names)
        fig, axes = _grid(len(names), 3)
        for ax, n in zip(axes, names, strict=True):
            _fan(ax, ba[n], ra.start, COLOURS[0], la)
            _fan(ax, bb[n], rb.start, COLOURS[1], lb)
            _title(ax, n, ra.inds.loc[n])
        axes[0].legend(fontsize=6)
        _layout(fig)
        secs.append(("fans", "Fan charts, overlaid", _img(fig, "overlaid fan charts"),
                     "Median and p10-p90 band; blue A, red B."))
    sa, sb = stats.survival(store, a), stats.survival(store, b)
    if sa is not None and sb is not None:
        plt = _plt()
        fig, ax = plt.subplots(figsize=(7, 3))
        for s, lab, col in ((sa, la, COLOURS[0]), (sb, lb, COLOURS[1])):
            ax.fill_between(s["month"], s["lo"], s["hi"], step="post", color=col, alpha=0.2,
                            lw=0)
            ax.step(s["month"], s["survival"], where="post", color=col, label=lab)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("months from start")
        ax.set_ylabel("share standing")
        ax.legend(fontsize=7)
        ax.set_title("Regime survival with 95% Wilson intervals", loc="left")
        both = sa[["month", "day"]].assign(
            A=[f"{s:.1%} [{lo:.1%}, {hi:.1%}]" for s, lo, hi in zip(sa["survival"], sa["lo"],
                                                                    sa["hi"], strict=True)])
        both = both.merge(sb[["month"]].assign(
            B=[f"{s:.1%} [{lo:.1%}, {hi:.1%}]" for s, lo, hi in zip(sb["survival"], sb["lo"],
                                                                    sb["hi"], strict=True)]),
            on="month", how="outer")
        secs.append(("survival", "Survival", _img(fig, "survival curves") + _table(both), ""))
    html_secs = [_section(t, bd, sid, i) for sid, t, bd, i in secs]
    return _page(f"loyaltytrap: run {a} vs run {b}", html_secs,
                 [(sid, t) for sid, t, _b, _i in secs])


def write_comparison(store: Store, a: int, b: int, path: str | Path) -> Path:
    """Write the HTML comparison of two runs; returns its path."""
    return _write(build_comparison(store, a, b), path)
