"""Statistics of the regression gate: ratio of medians with a bootstrap confidence interval, the Mann-Whitney U
test, Benjamini-Hochberg correction, and the verdict rule. Kept free of I/O so tests can feed known samples."""
from __future__ import annotations

import math
import random
import statistics

from scipy.stats import binom, mannwhitneyu, wilcoxon


def ratio_ci(base: list[float], head: list[float], level: float = 0.95, resamples: int = 2000,
             seed: int = 12345) -> tuple[float, float, float]:
    """head/base ratio of medians and its percentile-bootstrap confidence interval (seeded: the same samples
    always give the same interval)."""
    r = statistics.median(head) / statistics.median(base)
    rng = random.Random(seed)
    boots = []
    for _ in range(resamples):
        b = [base[rng.randrange(len(base))] for _ in base]
        h = [head[rng.randrange(len(head))] for _ in head]
        boots.append(statistics.median(h) / statistics.median(b))
    boots.sort()
    lo = boots[int((1 - level) / 2 * resamples)]
    hi = boots[min(resamples - 1, int((1 + level) / 2 * resamples))]
    return r, lo, hi


def ratio_ci_runs(base_runs: list[list[float]], head_runs: list[list[float]], level: float = 0.95,
                  resamples: int = 2000, seed: int = 12345) -> tuple[float, float, float]:
    """Like ratio_ci, for samples that come in runs (interleaved rounds): a two-level bootstrap that resamples
    whole runs first and repetitions within them second, so the interval carries the run-to-run drift that
    repetitions inside one run do not see. With one run per side it is the ordinary bootstrap."""
    if len(base_runs) < 2 or len(head_runs) < 2:
        return ratio_ci([x for r in base_runs for x in r], [x for r in head_runs for x in r], level, resamples, seed)
    pooled_b = [x for r in base_runs for x in r]
    pooled_h = [x for r in head_runs for x in r]
    ratio = statistics.median(pooled_h) / statistics.median(pooled_b)
    rng = random.Random(seed)

    def draw(runs):
        out = []
        for _ in runs:
            run = runs[rng.randrange(len(runs))]
            out += [run[rng.randrange(len(run))] for _ in run]
        return statistics.median(out)

    boots = sorted(draw(head_runs) / draw(base_runs) for _ in range(resamples))
    return ratio, boots[int((1 - level) / 2 * resamples)], boots[min(resamples - 1, int((1 + level) / 2 * resamples))]


def paired_ratio_ci(log_ratios: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """For paired measurements (base and head of one row measured back to back, scripts/abab): the ratio is
    exp(median of the pairs' log ratios), and its interval the distribution-free one for a median: order
    statistics k and n+1-k, k the largest with P(Binomial(n, 1/2) < k) <= (1 - level) / 2. It needs no
    assumption on the shape of the noise, so a pair that straddled a jump of the machine costs only itself.
    With too few pairs for the level (n < 6 at 95%) the interval is the whole range of the pairs."""
    xs = sorted(log_ratios)
    n = len(xs)
    mid = statistics.median(xs)
    k = 0
    while k + 1 <= n and binom.cdf(k, n, 0.5) <= (1 - level) / 2:
        k += 1
    lo, hi = (xs[k - 1], xs[n - k]) if k >= 1 else (xs[0], xs[-1])
    return math.exp(mid), math.exp(lo), math.exp(hi)


def signed_rank_p(log_ratios: list[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of the pairs' log ratios against 0 (exact for small n)."""
    xs = [x for x in log_ratios if x != 0.0]
    if len(xs) < 2:
        return 1.0
    return float(wilcoxon(xs, alternative="two-sided").pvalue)


def min_p_paired(n: int) -> float:
    """The smallest two-sided p-value an exact signed-rank test can give with n pairs: 2 / 2^n."""
    return min(1.0, 2.0 / 2 ** n) if n else 1.0


def mann_whitney_p(base: list[float], head: list[float]) -> float:
    """Two-sided p-value; exact for small samples without ties (scipy picks the method)."""
    if len(base) < 2 or len(head) < 2:
        return 1.0
    if len(set(base) | set(head)) == 1:
        return 1.0  # all identical: nothing to test
    return float(mannwhitneyu(head, base, alternative="two-sided").pvalue)


def min_p(n: int, m: int) -> float:
    """The smallest two-sided p-value an exact Mann-Whitney test can give with n and m samples: 2 / C(n+m, n)."""
    return min(1.0, 2.0 / math.comb(n + m, n)) if n and m else 1.0


def benjamini_hochberg(pvals: list[float]) -> list[float]:
    """q-values (BH adjusted p-values), in the input order."""
    n = len(pvals)
    order = sorted(range(n), key=lambda i: pvals[i])
    q = [0.0] * n
    running = 1.0
    for rank, i in reversed(list(enumerate(order, start=1))):
        running = min(running, pvals[i] * n / rank)
        q[i] = running
    return q


def spread(samples: list[float]) -> float:
    """Relative spread of one benchmark's own repetitions: (max - min) / median, robust enough for n >= 3."""
    if len(samples) < 2:
        return 0.0
    return (max(samples) - min(samples)) / statistics.median(samples)


def verdict(ratio: float, lo: float, hi: float, q: float, delta: float, alpha: float = 0.05) -> str:
    """REGRESSED: significant (q < alpha), the median got slower by at least delta, and the whole confidence
    interval lies above 1. IMPROVED: the mirror image. SAME: the interval lies inside the +-delta band (an
    equivalence test), or the change is not significant and the median moved less than delta.
    INCONCLUSIVE: everything else (too few samples or too much noise to say either)."""
    up, down = 1.0 + delta, 1.0 / (1.0 + delta)
    if q < alpha and ratio >= up and lo > 1.0:
        return "REGRESSED"
    if q < alpha and ratio <= down and hi < 1.0:
        return "IMPROVED"
    if down <= lo and hi <= up:
        return "SAME"
    if q >= alpha and down < ratio < up:
        return "SAME"
    return "INCONCLUSIVE"
