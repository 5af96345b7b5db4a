"""Change points in a row's history, found by E-Divisive means (MongoDB's signal-processing-algorithms, the detector
of their performance CI, ICPE 2020), not by a rule written here.

The detector runs on log(time): a step of +10% is the same distance at 1 us and at 1 s, and the machine's noise is
multiplicative. E-Divisive splits the series where the energy distance between the two sides is largest and keeps
the split when a permutation test says so (pvalue), recursively. On this project's noisy VMs it also splits on
small wanders; a change smaller than min_step is then dropped and the steps of its neighbours recomputed (as
Apache Otava's min_magnitude does), which is what keeps false change points near one per hundred commits
(docs/history.md measures it).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

DEFAULTS = {"pvalue": 0.05, "permutations": 200, "min_step": 0.02, "seed": 1}


@dataclass
class ChangePoint:
    index: int       # first point after the change
    step: float      # median after / median before - 1 (time: > 0 is slower)
    pvalue: float    # energy-statistic permutation test of the two segments either side
    before: int      # points in the segment before
    after: int       # points in the segment after


def _segments(cps: list[int], n: int) -> list[tuple[int, int, int]]:
    bounds = [0, *cps, n]
    return [(bounds[i - 1], bounds[i], bounds[i + 1]) for i in range(1, len(bounds) - 1)]


def _step(x: np.ndarray, lo: int, cp: int, hi: int) -> float:
    return math.expm1(float(np.median(x[cp:hi]) - np.median(x[lo:cp])))


def detect(values, pvalue: float = DEFAULTS["pvalue"], permutations: int = DEFAULTS["permutations"],
           min_step: float = DEFAULTS["min_step"], seed: int | None = DEFAULTS["seed"]) -> list[ChangePoint]:
    """Change points of a series of positive values (times), oldest first."""
    from signal_processing_algorithms.energy_statistics import energy_statistics as es

    x = np.log(np.asarray(values, dtype=np.float64))
    n = len(x)
    if n < 4:
        return []
    if seed is not None:  # the permutation test draws from numpy's global generator: same series, same answer
        np.random.seed(seed)
        random.seed(seed)
    cps = sorted(int(c) for c in es.e_divisive(x, pvalue=pvalue, permutations=permutations))
    while cps:  # drop the smallest change under min_step, then look again with its neighbours merged
        steps = [abs(_step(x, lo, cp, hi)) for lo, cp, hi in _segments(cps, n)]
        k = min(range(len(cps)), key=steps.__getitem__)
        if steps[k] >= min_step:
            break
        del cps[k]
    out = []
    for lo, cp, hi in _segments(cps, n):
        if seed is not None:
            np.random.seed(seed + cp)
        p = es.get_energy_statistics_and_probabilities(x[lo:cp], x[cp:hi], permutations=permutations).e_pvalue
        out.append(ChangePoint(cp, _step(x, lo, cp, hi), float(p), cp - lo, hi - cp))
    return out
