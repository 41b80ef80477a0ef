"""Go-style durations as Argo reads them, converted to seconds.

Two parsers, because Argo uses two:

* :func:`parse_go_duration` is Go's ``time.ParseDuration``: a sequence of decimal numbers each with
  a unit (``ns``, ``us``/``µs``, ``ms``, ``s``, ``m``, ``h``), e.g. ``90s``, ``1h30m``, ``500ms``,
  ``1.5h``; an optional sign; the bare string ``0``. Argo uses it for a template's ``timeout``.
* :func:`parse_argo_duration` is Argo's ``ParseStringToDuration``: a bare integer is a number of
  seconds, anything else goes through :func:`parse_go_duration`. Argo uses it for
  ``retryStrategy.backoff.duration``, ``cap`` and ``maxDuration``.

Both raise :class:`ValueError` with a message naming the bad string.
"""

from __future__ import annotations

import re

__all__ = ["format_seconds", "parse_argo_duration", "parse_go_duration"]

_UNITS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # U+00B5 micro sign
    "μs": 1e-6,  # U+03BC greek mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_COMPONENT = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration string (``time.ParseDuration``), e.g. ``"1h30m"`` → 5400.0."""
    if not isinstance(text, str):
        raise ValueError(f"invalid duration {text!r}: expected a string such as '90s' or '1h30m'")
    s = text.strip()
    sign = 1.0
    if s[:1] in "+-" and s:
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError(f"invalid duration {text!r}")
    total, pos = 0.0, 0
    while pos < len(s):
        match = _COMPONENT.match(s, pos)
        if match is None:
            hint = " (missing unit)" if re.fullmatch(r"[\d.]+", s[pos:]) else ""
            raise ValueError(
                f"invalid duration {text!r}{hint}: use a number with a unit "
                "(ns, us, ms, s, m, h), e.g. '500ms', '90s', '1h30m'"
            )
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return sign * total


def parse_argo_duration(text: str | int) -> float:
    """Seconds in an Argo backoff duration: a bare integer is seconds, else a Go duration."""
    if isinstance(text, bool):
        raise ValueError(f"invalid duration {text!r}")
    if isinstance(text, int):
        return float(text)
    if isinstance(text, str) and re.fullmatch(r"\s*[+-]?\d+\s*", text):
        return float(int(text))
    return parse_go_duration(text)


def format_seconds(seconds: float | None) -> str:
    """Short human form for tables: ``0.31s``, ``12.4s``, ``3m05s``, ``1h02m``; ``-`` for None."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
