"""Strict request decoding with the messages of GoatCounter's decoder (reference 1.4).

Upstream decodes into Go structs with unknown fields rejected and keys matched
case-insensitively; type mismatches produce Go's `json: cannot unmarshal ...` text. JSON `null`
leaves a field at its zero value, as Go does. Fields marked read-only are accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from tinytrail.api.goatcounter.common import GoatCounterError, error

Spec = Mapping[str, str]  # canonical key -> Go type name; "readonly" = ignored on input


def json_type(value: Any) -> str:
    """The JSON kind of a value, in the words Go's decoder uses."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def type_error(value: Any, struct: str, path: str, go_type: str) -> GoatCounterError:
    return error(
        400,
        f"invalid JSON: json: cannot unmarshal {json_type(value)} into Go struct field "
        f"{struct}.{path} of type {go_type}",
    )


def decode_body(body: bytes, struct: str) -> dict[str, Any]:
    """The body as a JSON object; an empty body is `{}` (upstream treats them alike)."""
    if not body.strip():
        return {}
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise error(400, f"invalid JSON: {_decoder_message(exc)}") from None
    except UnicodeDecodeError:  # raised as is for bad bytes inside a string
        raise error(400, "invalid JSON: invalid character in JSON (invalid UTF-8)") from None
    except RecursionError:  # nesting deeper than the decoder goes (Go stops at 10000 levels)
        raise error(400, "invalid JSON: exceeded max depth") from None
    if not isinstance(data, dict):
        raise error(
            400,
            f"invalid JSON: json: cannot unmarshal {json_type(data)} into Go value of type "
            f"handlers.{struct}",
        )
    return data


def _decoder_message(exc: msgspec.DecodeError) -> str:
    text = str(exc)
    if "truncated" in text.lower():
        return "unexpected end of JSON input"
    return f"invalid character in JSON ({text})"


def pick(obj: Mapping[str, Any], spec: Spec, prefix: str = "") -> dict[str, Any]:
    """Map keys case-insensitively onto `spec`; unknown keys are a 400, read-only ones dropped.

    Null values are left out, so callers see them as absent (Go keeps the zero value).
    """
    canonical = {name.lower(): name for name in spec}
    picked: dict[str, Any] = {}
    for key, value in obj.items():
        name = canonical.get(key.lower())
        if name is None:
            raise error(400, f'unknown parameter: "{prefix}{key}"')
        if spec[name] == "readonly" or value is None:
            continue
        picked[name] = value
    return picked


def string(value: Any, struct: str, path: str) -> str:
    if not isinstance(value, str):
        raise type_error(value, struct, path, "string")
    return value


def integer(value: Any, struct: str, path: str, go_type: str = "int64") -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise type_error(value, struct, path, go_type)
    return int(value)


def boolean(value: Any, struct: str, path: str) -> bool:
    if not isinstance(value, bool):
        raise type_error(value, struct, path, "bool")
    return value


def zbool(value: Any, struct: str, path: str) -> bool:
    """GoatCounter's `zbool.Bool`: true/false or the numbers 1/0 (quoted strings are refused)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    shown = msgspec.json.encode(value).decode()
    raise error(400, f"invalid JSON: zbool.Bool: invalid value for {path}: {shown}")


def strings(value: Any, struct: str, path: str) -> list[str]:
    if not isinstance(value, list):
        raise type_error(value, struct, path, "[]string")
    return [string(item, struct, path) for item in value]


def timestamp(value: Any, struct: str, path: str) -> datetime:
    """An RFC 3339 date and time, as Go's `time.Time` requires in JSON bodies."""
    text = string(value, struct, path)
    try:
        moment = datetime.fromisoformat(text.strip())
        if "T" not in text.upper() or moment.tzinfo is None:
            raise ValueError(text)
    except ValueError:
        raise error(
            400,
            f'invalid JSON: parsing time "{text}" as "2006-01-02T15:04:05Z07:00": '
            "cannot parse as RFC 3339",
        ) from None
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # Go's time.Time goes further: the earliest or latest instant we have
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


def comma_list(value: Any, struct: str, path: str) -> list[str]:
    """GoatCounter's `Strings`: a comma-separated string; an array is accepted too (quirk Q2)."""
    if isinstance(value, list):
        return [item.strip() for item in strings(value, struct, path) if item.strip()]
    text = string(value, struct, path)
    return [part for part in text.replace(" ", ",").split(",") if part]
