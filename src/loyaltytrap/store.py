"""Results that last: an embedded DuckDB database of runs, draws, daily indicators and events.

One file (default ``out/loyaltytrap.duckdb``, or ``$LOYALTYTRAP_DB``) holds every stored run:

    runs            one row per run: scenario (name, content hash, file text, resolved JSON),
                    overrides, seed, members, days, code version, times, status
    draws           the parameter values each member drew (long: run_id, member, parameter, value)
    daily           indicators without an extra dimension, WIDE: one row per (run, member, day)
                    and one REAL column per indicator (32-bit: 7 significant digits are
                    plenty for a model's indicator and halve the file of a large ensemble)
    daily_<dim>     indicators with an extra dimension (level, domain, ...), wide, one row per
                    (run, member, day, coordinate)
    events          the event log (the ``details`` sentence is rendered on read from
                    ``event_templates``, so it is not stored 50 million times)
    provenance      the parameter table of the scenario the run used
    indicators, coords, event_templates   what the columns mean, per run

Why wide: DuckDB stores by column, so a fan chart of one indicator reads one column of the
run's rows; a long table (run, member, day, indicator, value) would hold ~60 times as many rows
(an indicator-name column to filter and 3 key columns per value) and make every per-day
percentile a filter over all indicators. Indicators that appear later (the model grows) become
new columns (``ALTER TABLE ... ADD COLUMN``); older runs read NULL there.

Writing is chunked: :meth:`Store.record` stores each batch from
:func:`~loyaltytrap.simulate.iter_batches` in its own transaction, so memory holds one batch.
A run is ``running`` until its last batch is in; it becomes ``complete`` in one final
transaction. Ctrl-C or an error marks it ``interrupted``/``failed`` and deletes its partial
rows; a run whose process was killed is found ``running`` with no live writer the next time
the database is opened read-write and is marked ``interrupted`` the same way (DuckDB lets one
process at a time open a file for writing, so a ``running`` row of another process is stale).
Every query for results accepts only ``complete`` runs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import subprocess
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .events import sentences

DEFAULT_DB = Path("out") / "loyaltytrap.duckdb"
ENV_DB = "LOYALTYTRAP_DB"
STATUSES = ("running", "complete", "interrupted", "failed")
KEY = ("run_id", "member", "day")
EVENT_COLUMNS = ["day", "member", "mechanism", "event", "officer", "level", "value", "value2",
                 "label"]
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ACTIVE: set[tuple[str, int]] = set()  # (db path, run id) this process is writing


class StoreError(Exception):
    """A stored-results problem the user can act on (unknown run, incomplete run, locked file)."""


def default_path() -> Path:
    """The database path: ``$LOYALTYTRAP_DB`` or ``out/loyaltytrap.duckdb``."""
    return Path(os.environ.get(ENV_DB) or DEFAULT_DB)


def _q(name: str) -> str:
    """A quoted SQL identifier (names come from indicator and dimension names)."""
    if not _IDENT.match(name):
        raise StoreError(f"cannot store a column named {name!r}: allowed: letters, digits, _")
    return f'"{name}"'


# --- schema and migrations -----------------------------------------------------------------

def _v1(con: Any) -> None:
    """The first schema."""
    con.execute("""
        CREATE TABLE runs (
            run_id INTEGER PRIMARY KEY, scenario VARCHAR NOT NULL, scenario_hash VARCHAR,
            scenario_path VARCHAR, scenario_toml VARCHAR, scenario_json VARCHAR,
            overrides VARCHAR, seed UBIGINT, members INTEGER, days INTEGER,
            start_date DATE, code_version VARCHAR, started_at TIMESTAMP,
            finished_at TIMESTAMP, status VARCHAR NOT NULL)""")
    con.execute("CREATE TABLE draws (run_id INTEGER, member INTEGER, parameter VARCHAR, "
                "value DOUBLE)")
    con.execute("CREATE TABLE daily (run_id INTEGER, member INTEGER, day INTEGER)")
    con.execute("""
        CREATE TABLE events (run_id INTEGER, day INTEGER, member INTEGER, mechanism VARCHAR,
            event VARCHAR, officer INTEGER, level INTEGER, value DOUBLE, value2 DOUBLE,
            label VARCHAR)""")
    con.execute("""
        CREATE TABLE provenance (run_id INTEGER, mechanism VARCHAR, section VARCHAR,
            parameter VARCHAR, value VARCHAR, unit VARCHAR, provenance VARCHAR,
            source VARCHAR, figure VARCHAR, rationale VARCHAR, range VARCHAR)""")
    con.execute("""
        CREATE TABLE indicators (run_id INTEGER, name VARCHAR, unit VARCHAR, mechanism VARCHAR,
            description VARCHAR, extra_dim VARCHAR, headline BOOLEAN, summary VARCHAR,
            position INTEGER)""")
    con.execute("CREATE TABLE coords (run_id INTEGER, dim VARCHAR, position INTEGER, "
                "value VARCHAR, kind VARCHAR)")


def _v2(con: Any) -> None:
    """Who writes a run (to tell a killed run from a live one) and the event sentences."""
    con.execute("ALTER TABLE runs ADD COLUMN host VARCHAR")
    con.execute("ALTER TABLE runs ADD COLUMN pid INTEGER")
    con.execute("CREATE TABLE event_templates (run_id INTEGER, event VARCHAR, "
                "mechanism VARCHAR, template VARCHAR)")
    # runs stored under v1 read their sentences from the templates of this code
    from .events import TEMPLATES

    tpl = pd.DataFrame([(k, m, t) for k, (m, t) in TEMPLATES.items()],
                       columns=["event", "mechanism", "template"])
    con.register("_tpl", tpl)
    con.execute("INSERT INTO event_templates SELECT r.run_id, t.event, t.mechanism, t.template "
                "FROM runs r CROSS JOIN _tpl t")
    con.unregister("_tpl")


MIGRATIONS: list[Callable[[Any], None]] = [_v1, _v2]  # MIGRATIONS[i] takes v{i} to v{i+1}
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(con: Any) -> int:
    """The schema version of an open database (0 when empty)."""
    has = con.execute("SELECT count(*) FROM information_schema.tables "
                      "WHERE table_name = 'schema_version'").fetchall()[0][0]
    if not has:
        return 0
    v = con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
    return int(v or 0)


def migrate(con: Any, target: int = SCHEMA_VERSION) -> int:
    """Apply the migrations from the database's version up to ``target``, each in a
    transaction; returns the new version."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, "
                "applied_at TIMESTAMP)")
    v = schema_version(con)
    if v > SCHEMA_VERSION:
        raise StoreError(f"the database has schema v{v}, newer than this loyaltytrap knows "
                         f"(v{SCHEMA_VERSION}); allowed: a database written by this version "
                         "or older")
    for i in range(v, target):
        con.execute("BEGIN TRANSACTION")
        try:
            MIGRATIONS[i](con)
            con.execute("INSERT INTO schema_version VALUES (?, ?)", [i + 1, _now()])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return max(v, target)


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def code_version() -> str:
    """The package version and, in a git checkout, the commit (``+dirty`` if edited)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("loyaltytrap")
    except PackageNotFoundError:
        v = "unknown"
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return v
    return f"{v}+g{sha}{'.dirty' if dirty else ''}" if sha else v


# --- the store -----------------------------------------------------------------------------

class Store:
    """An open results database. Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path | None = None, create: bool = True,
                 memory_limit: str = "512MB") -> None:
        import duckdb

        self.path = Path(path) if path is not None else default_path()
        if not create and not self.path.exists():
            raise StoreError(f"--db {self.path}: no database there; allowed: the path of a "
                             "database written by `loyaltytrap run` (or set "
                             f"{ENV_DB})")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(self.path))
        except (OSError, duckdb.Error) as e:
            msg = str(e).splitlines()[0]
            if "lock" in msg.lower():
                raise StoreError(f"--db {self.path}: in use by another loyaltytrap process; "
                                 "wait for it to finish") from None
            raise StoreError(f"--db {self.path}: cannot open the database: {msg}") from None
        self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self.con.execute("SET preserve_insertion_order = false")
        migrate(self.con)
        self._key = str(self.path.resolve())
        self.recover()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (writes are already committed)."""
        if getattr(self, "con", None) is not None:
            self.con.close()
            self.con = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT, or ROLLBACK on any exception (KeyboardInterrupt included)."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # --- writing ---------------------------------------------------------------------------

    def recover(self) -> list[int]:
        """Mark runs left ``running`` by a process that is gone as ``interrupted`` and delete
        their partial rows; returns their ids."""
        rows = self.con.execute("SELECT run_id, host, pid FROM runs WHERE status = 'running'"
                                ).fetchall()
        stale = []
        for run_id, host, pid in rows:
            if (self._key, run_id) in _ACTIVE:
                continue
            if host == socket.gethostname() and pid and pid != os.getpid() and _alive(pid):
                continue
            stale.append(run_id)
        for run_id in stale:
            self._abandon(run_id, "interrupted")
        return stale

    def begin_run(self, scenario: Any, seed: int, members: int, days: int) -> int:
        """Register a run as ``running`` and return its id."""
        toml = ""
        with suppress(OSError):
            toml = Path(scenario.path).read_text()
        with self.transaction():
            run_id = int(self.con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs"
                                          ).fetchall()[0][0])
            self.con.execute(
                "INSERT INTO runs (run_id, scenario, scenario_hash, scenario_path, "
                "scenario_toml, scenario_json, overrides, seed, members, days, start_date, "
                "code_version, started_at, status, host, pid) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                [run_id, scenario.name, scenario.content_hash, str(scenario.path), toml,
                 json.dumps(scenario.raw, sort_keys=True, default=str),
                 json.dumps(list(scenario.overrides)), int(seed), int(members), int(days),
                 scenario.meta.start_date, code_version(), _now(), socket.gethostname(),
                 os.getpid()])
            prov = pd.DataFrame(scenario.provenance_rows())
            if len(prov):
                self._insert("provenance", prov, run_id)
            from .events import TEMPLATES

            tpl = pd.DataFrame([(k, m, t) for k, (m, t) in TEMPLATES.items()],
                               columns=["event", "mechanism", "template"])
            self._insert("event_templates", tpl, run_id)
        _ACTIVE.add((self._key, run_id))
        return run_id

    def write_batch(self, run_id: int, ds: xr.Dataset, events: pd.DataFrame,
                    draws: pd.DataFrame) -> None:
        """Store one batch of members (daily indicators, events, draws) in one transaction."""
        members = ds["member"].values
        days = ds["day"].values
        E, D = len(members), len(days)
        groups: dict[str | None, list[str]] = {}
        for name, var in ds.data_vars.items():
            extra = [d for d in var.dims if d not in ("member", "day")]
            if len(extra) > 1:
                raise StoreError(f"indicator {name} has dims {var.dims}; allowed: (member, "
                                 "day) and at most one more")
            groups.setdefault(extra[0] if extra else None, []).append(str(name))
        with self.transaction():
            first = not self.con.execute("SELECT count(*) FROM indicators WHERE run_id = ?",
                                         [run_id]).fetchall()[0][0]
            if first:
                self._describe(run_id, ds, groups)
            for dim, names in groups.items():
                if dim is None:
                    cols: dict[str, np.ndarray] = {
                        "member": np.repeat(members, D).astype(np.int32),
                        "day": np.tile(days, E).astype(np.int32)}
                    for n in names:
                        cols[n] = np.asarray(ds[n].transpose("member", "day").values,
                                             dtype=np.float32).reshape(-1)
                    self._insert(self._daily_table(None, names, ds), pd.DataFrame(cols), run_id)
                else:
                    C = ds.sizes[dim]
                    coord = ds[dim].values if dim in ds.coords else np.arange(C)
                    cols = {"member": np.repeat(members, D * C).astype(np.int32),
                            "day": np.tile(np.repeat(days, C), E).astype(np.int32),
                            dim: np.tile(coord, E * D)}
                    for n in names:
                        cols[n] = np.asarray(ds[n].transpose("member", "day", dim).values,
                                             dtype=np.float32).reshape(-1)
                    self._insert(self._daily_table(dim, names, ds), pd.DataFrame(cols), run_id)
            ev = events[[c for c in EVENT_COLUMNS if c in events.columns]]
            if len(ev):
                self._insert("events", ev, run_id)
            long = draws.melt(id_vars="member", var_name="parameter", value_name="value")
            if len(long):
                self._insert("draws", long, run_id)

    def finish_run(self, run_id: int) -> None:
        """Mark a run ``complete`` (one transaction, after its last batch)."""
        with self.transaction():
            self.con.execute("UPDATE runs SET status = 'complete', finished_at = ? "
                             "WHERE run_id = ?", [_now(), run_id])
        _ACTIVE.discard((self._key, run_id))

    def _abandon(self, run_id: int, status: str) -> None:
        """Mark a run incomplete and delete its partial rows, in one transaction."""
        with self.transaction():
            for t in self._data_tables():
                self.con.execute(f"DELETE FROM {_q(t)} WHERE run_id = ?", [run_id])
            self.con.execute("UPDATE runs SET status = ?, finished_at = ? WHERE run_id = ?",
                             [status, _now(), run_id])
        _ACTIVE.discard((self._key, run_id))

    def record(
        self,
        scenario: Any,
        members: int,
        seed: int = 0,
        days: int | None = None,
        batch: int = 256,
        progress: Callable[[int], None] | None = None,
        on_batch: Callable[[xr.Dataset, pd.DataFrame, pd.DataFrame], None] | None = None,
        batches: Iterable[tuple[xr.Dataset, pd.DataFrame, pd.DataFrame]] | None = None,
    ) -> int:
        """Run ``scenario`` batch by batch, storing each batch as it finishes; returns the
        run id. ``batches`` replaces the in-process executor (e.g. a process pool)."""
        from .simulate import iter_batches

        days = scenario.meta.horizon_days if days is None else days
        run_id = self.begin_run(scenario, seed, members, days)
        try:
            it = batches if batches is not None else iter_batches(
                scenario, members, seed, days, batch, progress=progress)
            for ds, events, draws in it:
                self.write_batch(run_id, ds, events, draws)
                if on_batch is not None:
                    on_batch(ds, events, draws)
                del ds, events, draws
                _release_memory()
        except KeyboardInterrupt:
            self._abandon(run_id, "interrupted")
            raise
        except BaseException:
            self._abandon(run_id, "failed")
            raise
        self.finish_run(run_id)
        return run_id

    def delete(self, run_id: int) -> None:
        """Remove a run and all its rows."""
        self.run(run_id, complete=False)
        with self.transaction():
            for t in [*self._data_tables(), "runs"]:
                self.con.execute(f"DELETE FROM {_q(t)} WHERE run_id = ?", [run_id])

    # --- helpers for writing ---------------------------------------------------------------

    def _insert(self, table: str, df: pd.DataFrame, run_id: int) -> None:
        self.con.register("_batch", df)
        try:
            self.con.execute(f"INSERT INTO {_q(table)} BY NAME SELECT ?::INTEGER AS run_id, * "
                             "FROM _batch", [run_id])
        finally:
            self.con.unregister("_batch")

    def _daily_table(self, dim: str | None, names: list[str], ds: xr.Dataset) -> str:
        """The wide table for indicators over ``dim``, created or widened as needed."""
        table = "daily" if dim is None else f"daily_{dim}"
        cols = self._columns(table)
        if not cols:
            kind = _coord_kind(ds, dim)
            self.con.execute(f"CREATE TABLE {_q(table)} (run_id INTEGER, member INTEGER, "
                             f"day INTEGER, {_q(dim)} {'BIGINT' if kind == 'int' else 'VARCHAR'})")
            cols = self._columns(table)
        for n in names:
            if n not in cols:  # REAL: 7 significant digits, half the disk of DOUBLE
                self.con.execute(f"ALTER TABLE {_q(table)} ADD COLUMN {_q(n)} REAL")
        return table

    def _describe(self, run_id: int, ds: xr.Dataset, groups: dict[str | None, list[str]]) -> None:
        from .indicators import BY_NAME

        rows = []
        for pos, (name, var) in enumerate(ds.data_vars.items()):
            ind = BY_NAME.get(str(name))
            extra = [d for d in var.dims if d not in ("member", "day")]
            rows.append({
                "name": str(name), "unit": var.attrs.get("unit", getattr(ind, "unit", "")),
                "mechanism": var.attrs.get("mechanism", getattr(ind, "mechanism", "")),
                "description": var.attrs.get("description", getattr(ind, "description", "")),
                "extra_dim": extra[0] if extra else None,
                "headline": bool(getattr(ind, "headline", False)),
                "summary": getattr(ind, "summary", "final"), "position": pos})
        self._insert("indicators", pd.DataFrame(rows), run_id)
        crow = []
        for dim in groups:
            if dim is None:
                continue
            vals = ds[dim].values if dim in ds.coords else np.arange(ds.sizes[dim])
            kind = _coord_kind(ds, dim)
            crow += [{"dim": dim, "position": i, "value": str(v), "kind": kind}
                     for i, v in enumerate(vals)]
        if crow:
            self._insert("coords", pd.DataFrame(crow), run_id)

    def _columns(self, table: str) -> list[str]:
        return [r[0] for r in self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position", [table]).fetchall()]

    def _data_tables(self) -> list[str]:
        fixed = ["draws", "events", "provenance", "indicators", "coords", "event_templates",
                 "daily"]
        extra = [r[0] for r in self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'daily_%'"
        ).fetchall()]
        return [t for t in fixed if self._columns(t)] + sorted(extra)

    # --- reading ---------------------------------------------------------------------------

    def runs(self, status: str | None = None) -> pd.DataFrame:
        """Every run (newest first): id, scenario, hash, seed, members, days, times, status."""
        where, args = ("WHERE status = ?", [status]) if status else ("", [])
        return self.con.execute(
            "SELECT run_id, scenario, left(scenario_hash, 12) AS hash, seed, members, days, "
            "overrides, code_version, started_at, finished_at, status FROM runs "
            f"{where} ORDER BY run_id DESC", args).df()

    def resolve(self, ref: str | int) -> int:
        """A run id from ``7``, ``latest`` or ``latest:<scenario>`` (complete runs only)."""
        text = str(ref).strip()
        if text.startswith("latest"):
            scen = text.partition(":")[2]
            q = "SELECT max(run_id) FROM runs WHERE status = 'complete'"
            row = self.con.execute(q + (" AND scenario = ?" if scen else ""),
                                   [scen] if scen else []).fetchall()[0]
            if row[0] is None:
                raise StoreError(f"run {text!r}: no complete run in {self.path}"
                                 + (f" for scenario {scen!r}" if scen else ""))
            return int(row[0])
        try:
            run_id = int(text)
        except ValueError:
            raise StoreError(f"run {text!r}: allowed: a run id (see `loyaltytrap runs`) or "
                             "'latest'") from None
        self.run(run_id)
        return run_id

    def run(self, run_id: int, complete: bool = True) -> dict[str, Any]:
        """The runs row of a run; a run that is not complete is an error unless
        ``complete=False``."""
        df = self.con.execute("SELECT * FROM runs WHERE run_id = ?", [int(run_id)]).df()
        if not len(df):
            known = self.con.execute("SELECT list(run_id ORDER BY run_id) FROM runs "
                                     "WHERE status = 'complete'").fetchall()[0][0] or []
            shown = ", ".join(map(str, known[-10:])) or "none"
            raise StoreError(f"run {run_id}: no such run in {self.path}; allowed: a complete "
                             f"run id ({shown})")
        row = df.iloc[0].to_dict()
        if complete and row["status"] != "complete":
            raise StoreError(f"run {run_id}: status {row['status']}; its results are "
                             "incomplete and not available (allowed: a complete run)")
        row["overrides"] = json.loads(row["overrides"] or "[]")
        return row

    def indicators(self, run_id: int) -> pd.DataFrame:
        """The indicators a run stored, in order: name, unit, mechanism, description,
        extra_dim, headline, summary."""
        self.run(run_id)
        return self.con.execute("SELECT name, unit, mechanism, description, extra_dim, "
                                "headline, summary FROM indicators WHERE run_id = ? "
                                "ORDER BY position", [run_id]).df()

    def coords(self, run_id: int, dim: str) -> list[Any]:
        """The coordinate values of an extra dimension, in order."""
        rows = self.con.execute("SELECT value, kind FROM coords WHERE run_id = ? AND dim = ? "
                                "ORDER BY position", [run_id, dim]).fetchall()
        return [int(v) if k == "int" else v for v, k in rows]

    def load(self, run_id: int, indicators: Iterable[str] | None = None,
             members: Iterable[int] | None = None) -> xr.Dataset:
        """A run's daily indicators as a Dataset (member, day[, extra dim]) like
        :func:`~loyaltytrap.simulate.simulate` returns; ``members`` limits the rows read."""
        meta = self.run(run_id)
        inds = self.indicators(run_id)
        if indicators is not None:
            want = list(indicators)
            unknown = [n for n in want if n not in set(inds["name"])]
            if unknown:
                raise StoreError(f"indicator {unknown[0]!r} is not stored for run {run_id}; "
                                 "allowed: " + ", ".join(inds["name"]))
            inds = inds[inds["name"].isin(want)]
        mem_filter, args = "", [run_id]
        if members is not None:
            mlist = [int(m) for m in members]
            mem_filter = " AND member IN (SELECT unnest(?::INTEGER[]))"
            args.append(mlist)
        mids = np.array([r[0] for r in self.con.execute(
            f"SELECT DISTINCT member FROM daily WHERE run_id = ?{mem_filter} ORDER BY member",
            args).fetchall()], dtype=np.int64)
        days = np.arange(1, int(meta["days"]) + 1)
        E, D = len(mids), len(days)
        start = pd.Timestamp(meta["start_date"])
        coords: dict[str, Any] = {"member": mids, "day": days,
                                  "date": ("day", start + pd.to_timedelta(days, unit="D"))}
        variables = {}
        for dim, grp in inds.groupby(inds["extra_dim"].fillna(""), sort=False):
            names = list(grp["name"])
            cols = ", ".join(_q(n) for n in names)
            if dim == "":
                arr = self.con.execute(
                    f"SELECT {cols} FROM daily WHERE run_id = ?{mem_filter} "
                    "ORDER BY member, day", args).fetchnumpy()
                shape, dims = (E, D), ("member", "day")
            else:
                cvals = self.coords(run_id, dim)
                coords[dim] = cvals
                arr = self.con.execute(
                    f"SELECT {cols} FROM {_q('daily_' + dim)} t JOIN coords c "
                    f"ON c.run_id = t.run_id AND c.dim = ? AND c.value = t.{_q(dim)}::VARCHAR "
                    f"WHERE t.run_id = ?{mem_filter.replace('member', 't.member')} "
                    "ORDER BY t.member, t.day, c.position", [dim, *args]).fetchnumpy()
                shape, dims = (E, D, len(cvals)), ("member", "day", dim)
            for r in grp.itertuples(index=False):
                values = np.asarray(arr[r.name], dtype=np.float64)
                if hasattr(arr[r.name], "mask"):
                    values = np.ma.filled(arr[r.name].astype(np.float64), np.nan)
                variables[r.name] = xr.Variable(dims, values.reshape(shape), attrs={
                    "unit": r.unit, "mechanism": r.mechanism, "description": r.description})
        ordered = {n: variables[n] for n in inds["name"] if n in variables}
        return xr.Dataset(ordered, coords=coords, attrs={
            "scenario": meta["scenario"], "scenario_hash": meta["scenario_hash"],
            "run_id": int(run_id), "seed": int(meta["seed"])})

    def events(self, run_id: int, member: int | Iterable[int] | None = None,
               details: bool = True) -> pd.DataFrame:
        """A run's event log (ordered by member, day), with the ``details`` sentences."""
        self.run(run_id)
        where, args = "run_id = ?", [run_id]
        if member is not None:
            ms = [int(member)] if np.isscalar(member) else [int(m) for m in member]
            where += " AND member IN (SELECT unnest(?::INTEGER[]))"
            args.append(ms)
        df = self.con.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE {where} "
                              "ORDER BY member, day", args).df()
        if details:
            df["details"] = render_details(df, self.templates(run_id))
        return df

    def templates(self, run_id: int) -> dict[str, tuple[str, str]]:
        """The event sentences a run was stored with."""
        rows = self.con.execute("SELECT event, mechanism, template FROM event_templates "
                                "WHERE run_id = ?", [run_id]).fetchall()
        return {e: (m, t) for e, m, t in rows}

    def draws(self, run_id: int) -> pd.DataFrame:
        """The parameter values each member drew, wide (member x "section.parameter")."""
        self.run(run_id)
        long = self.con.execute("SELECT member, parameter, value FROM draws WHERE run_id = ?",
                                [run_id]).df()
        if not len(long):
            return pd.DataFrame({"member": pd.Series(dtype="int64")})
        order = list(dict.fromkeys(long["parameter"]))
        wide = long.pivot(index="member", columns="parameter", values="value")[order]
        wide = wide.reset_index().rename_axis(columns=None)
        wide["member"] = wide["member"].astype(np.int64)
        return wide

    def provenance(self, run_id: int) -> pd.DataFrame:
        """The parameter table (value, unit, provenance and evidence) the run used."""
        self.run(run_id)
        return self.con.execute("SELECT * EXCLUDE (run_id) FROM provenance WHERE run_id = ? "
                                "ORDER BY rowid", [run_id]).df()

    def size_bytes(self) -> int:
        """Size of the database file on disk."""
        return self.path.stat().st_size if self.path.exists() else 0

    # --- export ----------------------------------------------------------------------------

    def export(self, run_id: int, out_dir: str | Path, fmt: str = "parquet") -> list[Path]:
        """Write a run's tables (runs row, draws, daily[_dim], events, provenance, event
        templates) as parquet or csv files under ``out_dir``; returns their paths."""
        if fmt not in ("parquet", "csv"):
            raise StoreError(f"--format {fmt!r}: allowed: parquet, csv")
        self.run(run_id)
        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
            probe = out / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as e:
            raise StoreError(f"--out {out}: cannot write there ({e.strerror or e}); allowed: "
                             "a writable directory") from None
        opt = "(FORMAT parquet, COMPRESSION zstd)" if fmt == "parquet" else "(HEADER, FORMAT csv)"
        paths = []
        for t in ["runs", *self._data_tables()]:
            if not self.con.execute(f"SELECT count(*) FROM {_q(t)} WHERE run_id = ?",
                                    [run_id]).fetchall()[0][0]:
                continue
            p = out / f"run{run_id}_{t}.{fmt}"
            order = " ORDER BY member, day" if t == "daily" or t.startswith("daily_") else ""
            sel = f"SELECT * FROM {_q(t)} WHERE run_id = {int(run_id)}{order}"
            self.con.execute(f"COPY ({sel}) TO '{_sql_str(p)}' {opt}")
            paths.append(p)
        return paths


def pool_batches(
    scenario: Any, members: int, seed: int, days: int | None = None, batch: int = 256,
    workers: int = 2, progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[xr.Dataset, pd.DataFrame, pd.DataFrame]]:
    """Like :func:`~loyaltytrap.simulate.iter_batches`, with batches run by a process pool and
    yielded in member order (at most ``workers + 2`` batches in memory: one more is queued than
    there are workers, so that a worker that finishes starts the next batch at once, while the
    batch before is still running or being taken). Results do not depend on ``workers``: every
    stream is keyed by the member's global index."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from .executors import _run_batch_f32

    days = scenario.meta.horizon_days if days is None else days
    ids = np.arange(members)
    chunks = [ids[s:s + batch] for s in range(0, members, batch)]
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as ex:
        pending = []
        nxt = 0
        while nxt < len(chunks) or pending:
            while nxt < len(chunks) and len(pending) <= workers:  # one queued beyond the workers
                pending.append((len(chunks[nxt]), ex.submit(_run_batch_f32, scenario,
                                                             chunks[nxt], seed, days)))
                nxt += 1
            n, fut = pending.pop(0)
            out = fut.result()
            if progress is not None:
                progress(n * days)
            yield out


def _release_memory() -> None:
    """Give freed heap back to the OS (glibc), so the writer's RSS tracks what it holds."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _sql_str(p: Path) -> str:
    return str(p).replace("'", "''")


def _coord_kind(ds: xr.Dataset, dim: str | None) -> str:
    if dim is None or dim not in ds.coords:
        return "int"
    return "int" if np.issubdtype(ds[dim].dtype, np.integer) else "str"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def render_details(df: pd.DataFrame, templates: dict[str, tuple[str, str]]) -> list[str]:
    """The sentence of each event row, from the templates the run was stored with (all
    rows at once with :func:`loyaltytrap.events.sentences`; row by row, with the event's
    name and label for a row no template can write, if any cannot)."""
    labels = np.array([lb if isinstance(lb, str) else "" for lb in df["label"]], dtype=object)
    try:
        return sentences(df["event"].to_numpy(), df["officer"].to_numpy(),
                         df["level"].to_numpy(), df["value"].to_numpy(),
                         df["value2"].to_numpy(), labels, templates)
    except (ValueError, TypeError, KeyError, IndexError):
        pass
    out = []
    for e, o, lv, v, v2, lb in zip(df["event"], df["officer"], df["level"], df["value"],
                                   df["value2"], df["label"], strict=True):
        tpl = templates.get(e)
        try:
            out.append(tpl[1].format(officer=o, level=lv, value=v, value2=v2,
                                     label=lb if isinstance(lb, str) else "")
                       if tpl else f"{e} ({lb})")
        except (ValueError, TypeError, KeyError, IndexError):
            out.append(f"{e} ({lb})")
    return out
