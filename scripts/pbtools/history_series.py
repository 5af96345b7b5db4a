"""The store read as time series: one series per (machine, profile, row), one point per commit, and what the change
detector says about each. Shared by `scripts/history changes` and `scripts/history report`."""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field

from . import changes
from .history_store import REPO, SERIES_SQL, connect


@dataclass
class Point:
    sha: str
    t: object          # commit time (or first run time when unknown)
    time_ns: float     # median over the commit's runs
    runs: int
    subject: str | None


@dataclass
class Series:
    machine: str
    profile: str
    name: str
    family: str
    points: list = field(default_factory=list)
    change_points: list = field(default_factory=list)  # changes.ChangePoint

    @property
    def key(self) -> str:
        return f"{self.machine} {self.profile} {self.name}"

    def commit_range(self, cp) -> tuple[str, str]:
        """(last commit before the change, first commit after it)."""
        return self.points[cp.index - 1].sha, self.points[cp.index].sha

    def open_regression(self, delta: float):
        """The newest change point when it made the row slower by more than delta (nothing came after it)."""
        if self.change_points and self.change_points[-1].step > delta:
            return self.change_points[-1]
        return None


def load(store, machine: str | None = None, rows: str | None = None, min_points: int = 6, **detect_args):
    """Every series of the store (filtered by machine id and a row regex), with its change points. Series shorter
    than min_points get none (E-Divisive needs a few points either side)."""
    con = connect(store)
    out: dict[tuple, Series] = {}
    pat = re.compile(rows) if rows else None
    for m, prof, name, sha, t, _first, tns, runs, subject, family in con.execute(SERIES_SQL).fetchall():
        if (machine and m != machine) or (pat and not pat.search(name)):
            continue
        s = out.setdefault((m, prof, name), Series(m, prof, name, family or name.split("/")[0]))
        s.points.append(Point(sha, t, float(tns), int(runs), subject))
    for s in out.values():
        if len(s.points) >= min_points:
            s.change_points = changes.detect([p.time_ns for p in s.points], **detect_args)
    return list(out.values()), con


def lifecycle(con, machine: str | None = None) -> tuple[list[str], list[dict]]:
    """(notes, failures): rows missing from the newest run of their machine and profile (removed or renamed: never
    merged with a new name's series), rows new in it, and rows whose newest run failed after earlier runs worked."""
    notes, failures = [], []
    newest = con.execute("""
        SELECT machine_id, profile, arg_max(run_id, run_time) AS run_id, max(run_time) AS at FROM rows
        GROUP BY machine_id, profile""").fetchall()
    for m, prof, rid, _at in newest:
        if machine and m != machine:
            continue
        gone = con.execute("""
            SELECT name, arg_max(git_sha, run_time) FROM rows WHERE machine_id = ? AND profile = ?
              AND name NOT IN (SELECT name FROM rows WHERE run_id = ?) GROUP BY name ORDER BY name""",
                           [m, prof, rid]).fetchall()
        for name, sha in gone:
            notes.append(f"{m} {prof} {name}: last measured at {sha}, not in the newest run (removed or renamed; "
                         "its history stays under the old name)")
        new = con.execute("""
            SELECT name FROM rows WHERE run_id = ? AND name NOT IN (
              SELECT name FROM rows WHERE machine_id = ? AND profile = ? AND run_id <> ?) ORDER BY name""",
                          [rid, m, prof, rid]).fetchall()
        runs = con.execute("SELECT count(DISTINCT run_id) FROM rows WHERE machine_id = ? AND profile = ?",
                           [m, prof]).fetchone()[0]
        if runs > 1:
            for (name,) in new:
                notes.append(f"{m} {prof} {name}: new in the newest run (a new row, or a renamed one)")
        for name, sha, err in con.execute("""
            SELECT name, git_sha, error FROM rows WHERE run_id = ? AND error IS NOT NULL AND name IN (
              SELECT name FROM rows WHERE machine_id = ? AND profile = ? AND run_id <> ? AND error IS NULL)
            ORDER BY name""", [rid, m, prof, rid]).fetchall():
            failures.append({"machine": m, "profile": prof, "name": name, "sha": sha, "error": err})
    return notes, failures


def commits_between(good: str, bad: str) -> int | None:
    """Commits in good..bad by this repository's git, or None when it does not know them."""
    try:
        r = subprocess.run(["git", "-C", str(REPO), "rev-list", "--count", f"{good}..{bad}"], capture_output=True,
                           text=True, timeout=10)
        return int(r.stdout.strip()) if r.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
