"""Sortition assignment algorithm v1: an independent Python reference implementation.

Written from spec/ALGORITHM.md alone (sections 2, 3, 5, 6 and 7), with the Python 3.11
standard library only. Section numbers in comments refer to that document.

Values are the ones json.loads produces: dict, list, str, int, float, bool, None.
Errors on the evaluation path are data (section 2.2): canonicalisation returns a
UnitIdError and assignment returns a result with reason "ERROR"; nothing is raised for
bad input. Config handling is deliberately minimal: the config is assumed valid (section
5.5 validation is out of scope), but nothing here repairs it either.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Optional, Sequence, Union

__all__ = [
    "UnitIdError",
    "CanonicalUnitId",
    "canonicalize_unit_id",
    "unit_id_from_integer",
    "derivation_message",
    "slot_v1",
    "parse_time",
    "format_time",
    "evaluate_condition",
    "parse_semver",
    "compare_semver",
    "AssignResult",
    "assign",
]

# ---------------------------------------------------------------------------------------------
# Section 2: unit ids
# ---------------------------------------------------------------------------------------------

MAX_UNIT_ID_BYTES = 256


@dataclass(frozen=True)
class UnitIdError:
    """A canonicalisation failure (section 2.2): a code and a message that says how to fix it."""

    code: str
    message: str


@dataclass(frozen=True)
class CanonicalUnitId:
    """The canonical form of a unit id: the NFC string and exactly the bytes that are hashed."""

    text: str
    utf8: bytes


def _json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: bool is a subclass of int in Python
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    return "object"


def _utf16_code_units(text: str) -> list[int]:
    """The UTF-16 code units of a Python string.

    Python strings are sequences of code points. json.loads keeps a lone "\\ud800" escape as
    the surrogate code point U+D800 and joins a properly paired escape into one astral code
    point. Encoding with "surrogatepass" maps surrogate code points to themselves, so the
    code-unit view below is exactly the UTF-16 string a JavaScript runtime would hold, and the
    well-formedness rule of section 2.1 step 3 can be applied literally, in UTF-16 terms.
    """
    raw = text.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def _ill_formed_at(units: Sequence[int]) -> Optional[tuple[str, int]]:
    """First lone surrogate in a UTF-16 code-unit sequence: ("high" | "low", index), or None."""
    i = 0
    n = len(units)
    while i < n:
        u = units[i]
        if 0xD800 <= u <= 0xDBFF:  # high surrogate: must be followed by a low surrogate
            if i + 1 < n and 0xDC00 <= units[i + 1] <= 0xDFFF:
                i += 2
                continue
            return ("high", i)
        if 0xDC00 <= u <= 0xDFFF:  # low surrogate not preceded by a high surrogate
            return ("low", i)
        i += 1
    return None


def _is_printable_ascii(text: str) -> bool:
    return all(0x20 <= ord(ch) <= 0x7E for ch in text)


def canonicalize_unit_id(value: Any) -> Union[CanonicalUnitId, UnitIdError]:
    """Section 2.1: canonicalise a unit id, or return the error code for the first failed step."""
    # Step 1: only strings are ids (section 2.3: numbers are converted explicitly, never here).
    if not isinstance(value, str):
        return UnitIdError(
            "UNIT_ID_NOT_STRING",
            f"unit id must be a string, got {_json_type_name(value)}; "
            "convert integers explicitly with unit_id_from_integer()",
        )
    # Step 2.
    if value == "":
        return UnitIdError("UNIT_ID_EMPTY", "unit id is empty; pass a non-empty string")

    # Printable ASCII is already canonical (the MAY of section 2.1); the general path below
    # gives the same answer, this is only a shortcut.
    if _is_printable_ascii(value):
        utf8 = value.encode("ascii")
        if len(utf8) > MAX_UNIT_ID_BYTES:
            return _too_long()
        return CanonicalUnitId(value, utf8)

    # Step 3: well-formedness, in UTF-16 terms, before normalisation.
    units = _utf16_code_units(value)
    bad = _ill_formed_at(units)
    if bad is not None:
        kind, index = bad
        return UnitIdError(
            "UNIT_ID_ILL_FORMED",
            f"unit id has a lone {kind} surrogate at UTF-16 index {index}; send well-formed Unicode",
        )
    # Re-join any surrogate code points that formed a valid pair (only possible for strings
    # that did not come from json.loads) so that the string is a proper sequence of scalars.
    text = bytes(
        b for u in units for b in u.to_bytes(2, "big")
    ).decode("utf-16-be")

    # Step 4: C0 controls and DEL, checked on the input (before NFC).
    for index, u in enumerate(units):
        if u <= 0x1F or u == 0x7F:
            return UnitIdError(
                "UNIT_ID_CONTROL_CHARACTER",
                f"unit id has control character U+{u:04x} at UTF-16 index {index}; "
                "strip it before assignment",
            )

    # Step 5: NFC. Python's unicodedata follows the Unicode version of the interpreter
    # (Unicode 14.0 for Python 3.11); see README.md.
    text = unicodedata.normalize("NFC", text)

    # Step 6: UTF-8 of the NFC form, at most 256 bytes.
    utf8 = text.encode("utf-8")
    if len(utf8) > MAX_UNIT_ID_BYTES:
        return _too_long()
    return CanonicalUnitId(text, utf8)


def _too_long() -> UnitIdError:
    return UnitIdError(
        "UNIT_ID_TOO_LONG",
        "unit id is longer than 256 bytes of UTF-8 after NFC normalisation; "
        "use a shorter id or a hash of it",
    )


def unit_id_from_integer(value: int) -> str:
    """Section 2.3: the explicit conversion of an integer id (shortest decimal, leading '-')."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("unit_id_from_integer takes an int (not bool, not float)")
    return str(value)  # Python ints are exact and str() is the shortest decimal form


# ---------------------------------------------------------------------------------------------
# Section 3: slot derivation v1
# ---------------------------------------------------------------------------------------------

DOMAIN_TAG_V1 = 0x01
CHUNK_BYTES = 6
CHUNKS_PER_MAC = 5
TWO_POW_48 = 1 << 48
LAYER_ID_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}", re.ASCII)
VALID_SLOT_COUNTS = (10000, 100000)


def derivation_message(layer_id: str, unit_utf8: bytes, counter: int) -> bytes:
    """Section 3.1: msg(c) = 0x01 || u8(len(L)) || L || u16be(len(U)) || U || u32be(c)."""
    layer = layer_id.encode("ascii")
    if not 1 <= len(layer) <= 64:
        raise ValueError("layer id must be 1..64 ASCII bytes")
    if not 1 <= len(unit_utf8) <= MAX_UNIT_ID_BYTES:
        raise ValueError("canonical unit id must be 1..256 bytes")
    if not 0 <= counter <= 0xFFFFFFFF:
        raise ValueError("counter must be an unsigned 32-bit integer")
    return (
        bytes([DOMAIN_TAG_V1, len(layer)])
        + layer
        + len(unit_utf8).to_bytes(2, "big")
        + unit_utf8
        + counter.to_bytes(4, "big")
    )


def slot_v1(key: bytes, layer_id: str, unit_utf8: bytes, slots: int) -> int:
    """Section 3.2: the slot of canonical unit bytes U in layer L with key K and N slots.

    Exact integer arithmetic throughout (Python ints are unbounded, so there is nothing to
    overflow and no floating point anywhere).
    """
    if len(key) != 32:
        raise ValueError("layer key must be 32 bytes")
    if slots not in VALID_SLOT_COUNTS:
        raise ValueError("slot count N must be 10000 or 100000")
    limit = TWO_POW_48 - (TWO_POW_48 % slots)
    counter = 0
    while True:
        mac = hmac.new(key, derivation_message(layer_id, unit_utf8, counter), hashlib.sha256).digest()
        for i in range(CHUNKS_PER_MAC):  # bytes 30 and 31 are unused
            x = int.from_bytes(mac[CHUNK_BYTES * i : CHUNK_BYTES * (i + 1)], "big")
            if x < limit:
                return x % slots
        counter += 1  # all five chunks rejected (probability below 1e-58 for N = 10000)


# ---------------------------------------------------------------------------------------------
# Section 5: config (just enough to evaluate; validation per section 5.5 is out of scope)
# ---------------------------------------------------------------------------------------------

_TIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,3}))?Z"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def parse_time(text: str) -> int:
    """Section 5.4: a UTC instant YYYY-MM-DDTHH:MM:SS[.fff]Z as milliseconds since the epoch."""
    m = _TIME_RE.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"not a UTC instant YYYY-MM-DDTHH:MM:SS[.fff]Z: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction = m.group(7) or ""
    millis = int(fraction.ljust(3, "0")) if fraction else 0  # ".5" is 500 ms
    instant = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    return (instant - _EPOCH) // timedelta(milliseconds=1) + millis


def format_time(ms: int) -> str:
    """Milliseconds since the epoch as YYYY-MM-DDTHH:MM:SS.fffZ (for records and exposures)."""
    instant = _EPOCH + timedelta(milliseconds=ms)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def _in_ranges(slot: int, ranges: Sequence[Sequence[int]]) -> bool:
    """Section 5.1: ranges are half-open [from, to)."""
    return any(r[0] <= slot < r[1] for r in ranges)


def _allocated_variant(phase: Mapping[str, Any], slot: int) -> Optional[str]:
    for variant, ranges in phase.get("allocation", {}).items():
        if _in_ranges(slot, ranges):
            return variant
    return None


def _layer_key_bytes(layer: Mapping[str, Any]) -> bytes:
    return bytes.fromhex(layer["key"])


def _layer_slot(layer: Mapping[str, Any], unit: CanonicalUnitId) -> int:
    if layer.get("algorithm", "v1") != "v1":
        raise ValueError(f"layer {layer.get('id')!r}: unsupported algorithm {layer.get('algorithm')!r}")
    return slot_v1(_layer_key_bytes(layer), layer["id"], unit.utf8, layer["slots"])


# ---------------------------------------------------------------------------------------------
# Section 6: targeting
# ---------------------------------------------------------------------------------------------

# SemVer 2.0.0 (semver.org), with explicit ASCII classes: Python's \d also matches non-ASCII
# digits, which SemVer does not allow.
_SEMVER_RE = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)

SemVer = tuple[int, int, int, tuple[str, ...]]


def parse_semver(text: Any) -> Optional[SemVer]:
    """A SemVer 2.0.0 version as (major, minor, patch, pre-release identifiers), or None.

    No leading "v", no surrounding whitespace. Build metadata is accepted and discarded,
    because it does not take part in precedence.
    """
    if not isinstance(text, str):
        return None
    m = _SEMVER_RE.fullmatch(text)
    if m is None:
        return None
    pre = tuple(m.group(4).split(".")) if m.group(4) is not None else ()
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), pre)


def _cmp(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


def compare_semver(a: SemVer, b: SemVer) -> int:
    """SemVer 2.0.0 precedence (section 11 of semver.org): -1, 0 or 1."""
    core = _cmp(a[:3], b[:3])
    if core != 0:
        return core
    pa, pb = a[3], b[3]
    if not pa or not pb:
        # A version without pre-release identifiers has higher precedence than one with them.
        return _cmp(not pa, not pb)
    for x, y in zip(pa, pb):
        x_num, y_num = x.isdigit(), y.isdigit()  # identifiers are ASCII by the regex above
        if x_num and y_num:
            c = _cmp(int(x), int(y))
        elif x_num != y_num:
            c = -1 if x_num else 1  # numeric identifiers have lower precedence
        else:
            c = _cmp(x, y)  # ASCII sort order
        if c != 0:
            return c
    return _cmp(len(pa), len(pb))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool, int, float))


def _same(a: Any, b: Any) -> bool:
    """JavaScript a === b for JSON scalars: same type and same value, never coerced.

    Python's True == 1 and 1 == 1.0 are both true; JSON has one number type, so 30 and 30.0
    are the same value, but a boolean is never a number. NaN is not equal to itself.
    """
    if not (_is_scalar(a) and _is_scalar(b)):
        return False
    ta, tb = _json_type_name(a), _json_type_name(b)
    if ta != tb:
        return False
    if ta == "null":
        return True
    return a == b


_SEMVER_OPS = {
    "semver_eq": lambda c: c == 0,
    "semver_gt": lambda c: c > 0,
    "semver_gte": lambda c: c >= 0,
    "semver_lt": lambda c: c < 0,
    "semver_lte": lambda c: c <= 0,
}
_NUMBER_OPS = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _compare_attribute(attributes: Mapping[str, Any], attr: Any, op: Any, value: Any) -> bool:
    present = isinstance(attr, str) and attr in attributes
    a = attributes.get(attr) if present else None

    if op == "eq":
        return present and _same(a, value)
    if op == "ne":
        return (not present) or not _same(a, value)
    if op in ("in", "nin"):
        if not isinstance(value, list):
            return False  # a value that does not fit its operator: never true (section 6)
        inside = present and a is not None and any(_same(a, v) for v in value)
        return inside if op == "in" else not inside
    if op in _NUMBER_OPS:
        if not (_is_number(value) and math.isfinite(value)):
            return False
        if not (present and _is_number(a)) or (isinstance(a, float) and math.isnan(a)):
            return False
        return _NUMBER_OPS[op](a, value)
    if op in _SEMVER_OPS:
        target = parse_semver(value)
        actual = parse_semver(a) if present else None
        if target is None or actual is None:
            return False
        return _SEMVER_OPS[op](compare_semver(actual, target))
    if op == "exists":
        return present and a is not None
    return False  # unknown operator: evaluation never fails


def evaluate_condition(condition: Any, attributes: Optional[Mapping[str, Any]]) -> bool:
    """Section 6: evaluate a condition; never coerces types and never raises for bad input."""
    attrs: Mapping[str, Any] = attributes if isinstance(attributes, Mapping) else {}
    if not isinstance(condition, Mapping):
        return False
    if "all" in condition:
        items = condition["all"]
        return isinstance(items, list) and all(evaluate_condition(c, attrs) for c in items)
    if "any" in condition:
        items = condition["any"]
        return isinstance(items, list) and any(evaluate_condition(c, attrs) for c in items)
    if "not" in condition:
        return not evaluate_condition(condition["not"], attrs)
    if "attr" in condition and "op" in condition:
        return _compare_attribute(attrs, condition["attr"], condition["op"], condition.get("value"))
    return False


# ---------------------------------------------------------------------------------------------
# Section 7: assignment
# ---------------------------------------------------------------------------------------------


@dataclass
class AssignResult:
    variant: Optional[str] = None
    reason: str = "ERROR"
    error: Optional[str] = None
    error_message: Optional[str] = None
    slot: Optional[int] = None
    layer: Optional[str] = None
    phase: Optional[str] = None
    config_version: Optional[int] = None
    targeting: str = "none"  # none | matched | excluded
    holdout: Optional[str] = None
    sticky_status: str = "none"  # none | honored | superseded | unknown | mismatch
    value: Any = None  # the assigned variant's JSON value, if any
    record: Optional[dict[str, Any]] = None  # effect: the sticky record to store
    exposure: Optional[dict[str, Any]] = None  # effect: the exposure event to emit
    explanation: str = ""

    def as_vector_expected(self) -> dict[str, Any]:
        """The result in the shape of assignExpected of spec/schema/vector.schema.json."""
        return {
            "variant": self.variant,
            "reason": self.reason,
            "error": self.error,
            "slot": self.slot,
            "layer": self.layer,
            "phase": self.phase,
            "targeting": self.targeting,
            "holdout": self.holdout,
            "stickyStatus": self.sticky_status,
            "writesSticky": self.record is not None,
            "emitsExposure": self.exposure is not None,
        }


def _find(items: Any, key_field: str, key: Any) -> Optional[Mapping[str, Any]]:
    for item in items or ():
        if isinstance(item, Mapping) and item.get(key_field) == key:
            return item
    return None


def _classify_record(
    record: Any, experiment: Mapping[str, Any], phases: Sequence[Mapping[str, Any]], active: int
) -> str:
    """Section 7 step 5: mismatch, unknown, superseded or honored."""
    if not isinstance(record, Mapping) or record.get("experiment") != experiment["key"]:
        return "mismatch"
    phase_ids = [p["id"] for p in phases]
    variant_keys = [v["key"] for v in experiment.get("variants", [])]
    if record.get("phase") not in phase_ids or record.get("variant") not in variant_keys:
        return "unknown"
    recorded = phase_ids.index(record["phase"])
    if recorded > active:
        return "unknown"
    for later in phases[recorded + 1 : active + 1]:
        if later.get("carryover", "sticky") == "rerandomize":
            return "superseded"
    return "honored"


def assign(
    config: Mapping[str, Any],
    experiment_key: str,
    units: Mapping[str, Any],
    now: Any,
    attributes: Optional[Mapping[str, Any]] = None,
    sticky: Optional[Mapping[str, Any]] = None,
    mode: str = "enroll",
) -> AssignResult:
    """Section 7: evaluate one experiment for one unit at time `now` (ms since the epoch).

    Pure: performs no I/O. Effects (a record to store, an exposure event) are returned as data
    and only in enroll mode.
    """
    if mode not in ("enroll", "peek"):
        raise ValueError(f"mode must be 'enroll' or 'peek', not {mode!r}")
    attributes = attributes if attributes is not None else {}
    r = AssignResult(config_version=config.get("version"))

    # Step 1.
    experiment = _find(config.get("experiments"), "key", experiment_key)
    if experiment is None:
        r.error = "EXPERIMENT_NOT_FOUND"
        r.error_message = f'experiment "{experiment_key}" is not in config version {r.config_version}'
        return r
    layer = _find(config.get("layers"), "id", experiment["layer"])
    if layer is None:  # impossible in a valid config (section 5.5 rule 2)
        raise ValueError(f"experiment {experiment_key!r} names an undeclared layer")
    r.layer = layer["id"]

    # The targeting outcome is reported whenever E has targeting, whatever decides (see README,
    # "targeting outcome on early exits").
    targeting = experiment.get("targeting")
    matched = True
    if targeting is not None:
        matched = evaluate_condition(targeting, attributes)
        r.targeting = "matched" if matched else "excluded"

    # Step 2.
    unit_type = layer["unit"]
    if unit_type not in units:
        r.error = "UNIT_MISSING"
        r.error_message = (
            f'no "{unit_type}" unit id given; experiment "{experiment_key}" buckets by {unit_type}'
        )
        return r
    if not _is_number(now) or not math.isfinite(now):
        r.error = "INVALID_NOW"
        r.error_message = "now must be a finite number of milliseconds since the Unix epoch"
        return r
    canonical = canonicalize_unit_id(units[unit_type])
    if isinstance(canonical, UnitIdError):
        r.error = canonical.code
        r.error_message = canonical.message
        return r

    # Step 3.
    slot = _layer_slot(layer, canonical)
    r.slot = slot

    # Step 4.
    phases: list[Mapping[str, Any]] = list(experiment.get("phases", []))
    active = -1
    for index, phase in enumerate(phases):
        if parse_time(phase["startsAt"]) <= now:
            active = index  # the last phase that has started
    if active < 0:
        r.reason = "NOT_STARTED"
        r.explanation = "now is before the first phase starts"
        return r
    ends_at = experiment.get("endsAt")
    if ends_at is not None and now >= parse_time(ends_at):
        r.reason = "ENDED"
        r.explanation = f"now is at or after endsAt {ends_at}"
        return r
    current = phases[active]
    r.phase = current["id"]

    # Step 5.
    if sticky is not None:
        r.sticky_status = _classify_record(sticky, experiment, phases, active)
    honored = r.sticky_status == "honored"

    # Step 6.
    excluded = list(current.get("exclude", []))
    if excluded:
        by_slot = any(
            _allocated_variant(p, slot) is not None for p in phases if p["id"] in excluded
        )
        by_record = honored and sticky is not None and sticky.get("phase") in excluded
        if by_slot or by_record:
            r.reason = "PHASE_EXCLUDED"
            r.explanation = f"phase {current['id']} excludes phases {excluded}"
            return r

    # Step 7.
    if honored and sticky is not None:
        r.reason = "STICKY"
        r.variant = sticky["variant"]
        return _with_effects(r, config, experiment, layer, canonical, unit_type, now, mode, first=False)

    # Step 8.
    if not matched:
        r.reason = "TARGETING_EXCLUDED"
        return r

    # Step 9: global holdouts for this unit type, in config order, each in its own layer.
    for holdout in config.get("holdouts", []) or []:
        if holdout.get("scope") != "global":
            continue
        holdout_layer = _find(config.get("layers"), "id", holdout["layer"])
        if holdout_layer is None or holdout_layer["unit"] != unit_type:
            continue
        if _in_ranges(_layer_slot(holdout_layer, canonical), holdout["ranges"]):
            r.reason = "HOLDOUT"
            r.holdout = holdout["id"]
            return r

    # Step 10: layer-scoped holdouts of Y.
    for holdout in config.get("holdouts", []) or []:
        if holdout.get("scope") == "layer" and holdout["layer"] == layer["id"]:
            if _in_ranges(slot, holdout["ranges"]):
                r.reason = "HOLDOUT"
                r.holdout = holdout["id"]
                return r

    # Step 11.
    variant = _allocated_variant(current, slot)
    if variant is None:
        r.reason = "NOT_ALLOCATED"
        return r
    r.reason = "ASSIGNED"
    r.variant = variant
    return _with_effects(r, config, experiment, layer, canonical, unit_type, now, mode, first=True)


def _with_effects(
    r: AssignResult,
    config: Mapping[str, Any],
    experiment: Mapping[str, Any],
    layer: Mapping[str, Any],
    unit: CanonicalUnitId,
    unit_type: str,
    now: Union[int, float],
    mode: str,
    first: bool,
) -> AssignResult:
    """Section 7, Effects: enroll-mode ASSIGNED writes a record; ASSIGNED and STICKY emit an
    exposure. Peek mode returns the identical result without effects."""
    declared = _find(experiment.get("variants"), "key", r.variant)
    r.value = declared.get("value") if declared is not None else None
    if mode == "peek":
        return r
    at = format_time(int(now))
    if r.reason == "ASSIGNED":
        r.record = {
            "experiment": experiment["key"],
            "phase": r.phase,
            "variant": r.variant,
            "slot": r.slot,
            "layerEpoch": layer.get("epoch", 1),
            "configVersion": config.get("version"),
            "assignedAt": at,
        }
    r.exposure = {
        "unitId": unit.text,
        "unitType": unit_type,
        "experiment": experiment["key"],
        "layer": layer["id"],
        "phase": r.phase,
        "variant": r.variant,
        "slot": r.slot,
        "configVersion": config.get("version"),
        "at": at,
        "first": first,
    }
    return r
