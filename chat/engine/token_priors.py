"""Each model family's tokens per token of our own count, before its answers are in the log: pricing.yaml's
`token_ratios:` section, validated at load like the prices beside it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Script = Literal["hangul", "latin"]
SCRIPTS: tuple[Script, ...] = ("hangul", "latin")
MAX_RATIO = 10.0  # no tokenizer bills ten tokens for one of o200k_base's; a larger figure is a typo


class TokenPriorError(ValueError):
    """pricing.yaml's token_ratios section is malformed; the message names the family and the field."""


@dataclass(frozen=True)
class Guess:
    ratio: float  # the best guess
    high: float  # what spend caps reserve until the log knows better
    source: str
    low: float  # the fewest it may be: the ratio itself for the tokenizer we count with


@dataclass(frozen=True)
class TokenPrior:
    family: str
    starts: tuple[str, ...]
    contains: tuple[str, ...]
    guesses: dict  # Script -> Guess
    endpoints: tuple[str, ...] = ()  # only on these endpoints (a model named gpt-4o elsewhere may tokenize otherwise)

    def matches(self, bare: str, endpoint: str | None) -> bool:
        if self.endpoints and endpoint not in self.endpoints:
            return False
        return bare.startswith(self.starts) if self.starts else any(part in bare for part in self.contains)


def bare_name(model: str) -> str:
    """'bedrock:us.anthropic.claude-haiku-4-5' -> 'us.anthropic.claude-haiku-4-5'; the family is in what is left."""
    return model.split(":", 1)[-1].split("/")[-1].lower()


def prior_for(priors: tuple[TokenPrior, ...], model: str, endpoint: str | None = None) -> TokenPrior | None:
    bare = bare_name(model)
    return next((p for p in priors if p.matches(bare, endpoint)), None)


def token_priors(raw, path: Path) -> tuple[TokenPrior, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise TokenPriorError(f"{path}: 'token_ratios:' must be a list of families, each with starts or contains, "
                              "hangul and latin")
    return tuple(_family(entry, n, path) for n, entry in enumerate(raw, 1))


def _family(entry, n: int, path: Path) -> TokenPrior:
    where = f"{path}: token_ratios entry {n}"
    if not isinstance(entry, dict):
        raise TokenPriorError(f"{where}: expected family, starts or contains, hangul and latin")
    unknown = set(entry) - {"family", "starts", "contains", "endpoints", "hangul", "latin"}
    if unknown:
        raise TokenPriorError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    family = str(entry.get("family") or f"entry {n}")
    names = {}
    for key in ("starts", "contains", "endpoints"):
        value = entry.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TokenPriorError(f"{where} ({family}): {key} must be a list of names, e.g. [claude]")
        names[key] = tuple(v.lower() for v in value)
    if not names["starts"] and not names["contains"]:
        raise TokenPriorError(f"{where} ({family}): give starts or contains (contains: [''] matches every model)")
    return TokenPrior(family, names["starts"], names["contains"],
                      {script: _guess(entry.get(script), f"{where} ({family}) {script}") for script in SCRIPTS},
                      names["endpoints"])


def _guess(raw, where: str) -> Guess:
    if not isinstance(raw, dict) or "ratio" not in raw or "high" not in raw or not raw.get("source"):
        raise TokenPriorError(f"{where}: expected {{ratio: 1.4, high: 1.8, source: where the figure comes from}}")
    try:
        ratio, high = float(raw["ratio"]), float(raw["high"])
        # as far below the guess as the high is above it, unless the family says (an exact tokenizer: its ratio)
        low = float(raw["low"]) if "low" in raw else ratio * ratio / high
    except (TypeError, ValueError):
        raise TokenPriorError(f"{where}: ratio, low and high must be numbers, e.g. ratio: 1.4") from None
    if not 0 < low <= ratio <= high <= MAX_RATIO:
        raise TokenPriorError(f"{where}: needs 0 < low <= ratio <= high <= {MAX_RATIO:g}; got low {low:g}, "
                              f"ratio {ratio:g}, high {high:g}")
    unknown = set(raw) - {"ratio", "low", "high", "source"}
    if unknown:
        raise TokenPriorError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    return Guess(ratio, high, str(raw["source"]), low)
