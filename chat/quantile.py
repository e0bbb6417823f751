"""The one percentile every figure uses: linear interpolation between closest ranks (numpy's default, R's type 7)."""
from __future__ import annotations


def ranks(n: int, q: float) -> tuple[int, int, float]:
    """For n sorted values: the two ranks (0-based) the q-quantile lies between, and how far from the lower one."""
    pos = (n - 1) * q
    lo = int(pos)
    return lo, min(lo + 1, n - 1), pos - lo


def between(low: float, high: float, frac: float) -> float:
    return low + (high - low) * frac


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) of values, None for none; small samples read sensibly (p95 of 1 and 2 is 1.95)."""
    if not values:
        return None
    s = sorted(values)
    lo, hi, frac = ranks(len(s), q)
    return between(s[lo], s[hi], frac)
