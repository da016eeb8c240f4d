"""Dropwizard ``io.dropwizard.util.Duration`` as Drove parses and writes it (``5m`` in, ``5 minutes`` out)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Duration.parse: the whole text must match; ASCII digits, Java's \s, a case-sensitive suffix.
_PATTERN = re.compile(r"([0-9]+)[ \t\n\x0b\f\r]*(\S+)", re.ASCII)
_UNITS = {
    "ns": "NANOSECONDS", "nanosecond": "NANOSECONDS", "nanoseconds": "NANOSECONDS",
    "us": "MICROSECONDS", "microsecond": "MICROSECONDS", "microseconds": "MICROSECONDS",
    "ms": "MILLISECONDS", "millisecond": "MILLISECONDS", "milliseconds": "MILLISECONDS",
    "s": "SECONDS", "second": "SECONDS", "seconds": "SECONDS",
    "m": "MINUTES", "min": "MINUTES", "mins": "MINUTES", "minute": "MINUTES", "minutes": "MINUTES",
    "h": "HOURS", "hour": "HOURS", "hours": "HOURS",
    "d": "DAYS", "day": "DAYS", "days": "DAYS",
}
_SECONDS = {"NANOSECONDS": 1e-9, "MICROSECONDS": 1e-6, "MILLISECONDS": 1e-3, "SECONDS": 1.0,
            "MINUTES": 60.0, "HOURS": 3600.0, "DAYS": 86400.0}
_LONG_MAX = 2**63 - 1


class DurationError(ValueError):
    """The IllegalArgumentException / NumberFormatException message ``Duration.parse`` throws."""


@dataclass(frozen=True)
class Duration:
    count: int
    unit: str  # a java.util.concurrent.TimeUnit name

    @property
    def seconds(self) -> float:
        return self.count * _SECONDS[self.unit]

    def render(self) -> str:
        """``Duration.toString()`` (its @JsonValue): ``100 seconds``, ``1 minute``, ``5 minutes``."""
        unit = self.unit.lower()
        return f"{self.count} {unit[:-1] if self.count == 1 else unit}"


def parse_duration(text: str) -> Duration:
    """``Duration.parse``; raises DurationError with the server's message."""
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise DurationError(f"Invalid duration: {text}")
    digits, suffix = match.groups()
    if int(digits) > _LONG_MAX:  # Long.parseLong
        raise DurationError(f'For input string: "{digits}"')
    unit = _UNITS.get(suffix)
    if unit is None:
        raise DurationError(f"Invalid duration: {text}. Wrong time unit")
    return Duration(int(digits), unit)


def normalize(text: str) -> str:
    """What the server writes back for a duration it accepted: ``5m`` -> ``5 minutes``."""
    return parse_duration(text).render()
