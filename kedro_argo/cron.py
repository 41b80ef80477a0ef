"""Local checks of cron schedules and timezones, so `schedule` fails before the server does.

Argo v4 takes standard 5-field cron expressions (no seconds) or the ``@`` macros, and an
IANA timezone name.
"""

from __future__ import annotations

import re

from kedro_argo.errors import ConfigError

MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_EVERY_RE = re.compile(r"^@every (\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
# (name, low, high, names accepted instead of numbers)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),  # Argo's parser (robfig/cron) has no 7 for Sunday
)


def check_cron(expression: str) -> str:
    """Return ``expression`` if Argo would accept it, else raise a ConfigError saying why."""
    text = " ".join(expression.split())
    if text in MACROS or _EVERY_RE.fullmatch(text):
        return text
    parts = text.split(" ")
    if len(parts) != 5:
        raise ConfigError(
            f"Cron schedule '{expression}' has {len(parts)} fields: use 5 "
            "(minute hour day-of-month month day-of-week, e.g. '0 6 * * *') or @daily/@hourly."
        )
    for part, (name, low, high, names) in zip(parts, _FIELDS, strict=True):
        for item in part.split(","):
            _check_item(expression, item, name, low, high, names)
    return text


def _check_item(
    expression: str, item: str, name: str, low: int, high: int, names: tuple[str, ...]
) -> None:
    base, _, step = item.partition("/")
    if step and (not step.isdigit() or int(step) == 0):
        raise ConfigError(f"Cron schedule '{expression}': bad step '/{step}' in the {name} field.")
    if base in {"*", "?"}:
        return
    values = []
    for bound in base.split("-", 1):
        value = _value(bound, names, low)
        if value is None or not low <= value <= high:
            raise ConfigError(
                f"Cron schedule '{expression}': '{bound}' is not a valid {name} "
                f"({low}-{high}{', or names' if names else ''})."
            )
        values.append(value)
    if len(values) == 2 and values[0] > values[1]:
        raise ConfigError(
            f"Cron schedule '{expression}': range '{base}' in the {name} field is reversed."
        )


def _value(text: str, names: tuple[str, ...], low: int) -> int | None:
    if text.isdigit():
        return int(text)
    upper = text.upper()
    if upper in names:
        return names.index(upper) + (low if low == 1 else 0)
    return None


def check_timezone(name: str) -> str:
    """An IANA timezone name (``Europe/Paris``), checked against the tz database."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"Timezone '{name}' is not an IANA timezone name (e.g. UTC, Europe/Paris)."
        ) from None
    return name
