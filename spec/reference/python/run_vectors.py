#!/usr/bin/env python3
"""Run the Sortition test vectors (spec/vectors/*.json) against the Python reference.

Usage: python3 run_vectors.py [PATH ...]

Each PATH is a vector file or a directory of them (default: ../../vectors relative to this
script). Prints one line per vector file with its pass/fail counts, then each failing case with
its index, expected and actual values and the case's explanation, and ends with the line
"N passed, M failed" (counting cases). Exit status 0 only if every case passed.

Kinds:
  slot    one case per entry of "cases": slot and canonical UTF-8 bytes, or the error code.
  assign  one case per entry of "cases": every field of "expected".
  change  one case per file: for each listed unit, the variant under the current and under the
          proposed config at "now" in peek mode, without a stored record; the derived "moved"
          and "entered" lists must equal the expected ones. The planner's "verdict" and
          "movedSlots" (section 8) are produced by the TypeScript planner only and are skipped.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import traceback
from typing import Any, Callable, Optional

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sortition_v1 import (  # noqa: E402
    UnitIdError,
    assign,
    canonicalize_unit_id,
    parse_time,
    slot_v1,
)

DEFAULT_VECTORS = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "vectors")
)


class Failure:
    def __init__(self, index: Any, expected: Any, actual: Any, explanation: str) -> None:
        self.index = index
        self.expected = expected
        self.actual = actual
        self.explanation = explanation


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, sort_keys=True)


def _now_ms(text: Any) -> float:
    """A vector timestamp as ms since the epoch; an unparsable one is NaN (so INVALID_NOW)."""
    try:
        return parse_time(text)
    except (TypeError, ValueError):
        return math.nan


# ---------------------------------------------------------------------------------------------
# kinds
# ---------------------------------------------------------------------------------------------


def run_slot_case(vector: dict[str, Any], case: dict[str, Any]) -> tuple[Any, Any]:
    layer = vector["layers"][case["layer"]]
    canonical = canonicalize_unit_id(case["unit"])
    if isinstance(canonical, UnitIdError):
        actual: dict[str, Any] = {"error": canonical.code}
    else:
        actual = {
            "slot": slot_v1(bytes.fromhex(layer["key"]), layer["id"], canonical.utf8, layer["slots"]),
            "canonicalUtf8Hex": canonical.utf8.hex(),
        }
    return case["expected"], actual


def run_assign_case(vector: dict[str, Any], case: dict[str, Any]) -> tuple[Any, Any]:
    given = case["input"]
    result = assign(
        vector["config"],
        given["experiment"],
        given["units"],
        _now_ms(given["now"]),
        attributes=given.get("attributes"),
        sticky=given.get("sticky"),
        mode=given.get("mode", "enroll"),
    )
    return case["expected"], result.as_vector_expected()


def _change_target(vector: dict[str, Any]) -> tuple[str, str]:
    """The experiment and unit type of a change vector (both optional in the schema)."""
    experiment = vector.get("experiment")
    if experiment is None:
        keys = {e["key"] for c in (vector["current"], vector["proposed"]) for e in c.get("experiments", [])}
        if len(keys) != 1:
            raise ValueError("change vector without 'experiment' must hold exactly one experiment")
        experiment = keys.pop()
    unit_type = vector.get("unitType")
    if unit_type is None:
        for config in (vector["proposed"], vector["current"]):
            for e in config.get("experiments", []):
                if e["key"] == experiment:
                    layer = next(ly for ly in config["layers"] if ly["id"] == e["layer"])
                    unit_type = layer["unit"]
                    break
            if unit_type is not None:
                break
    if unit_type is None:
        raise ValueError(f"cannot determine the unit type of experiment {experiment!r}")
    return experiment, unit_type


def run_change_vector(vector: dict[str, Any]) -> tuple[Any, Any]:
    experiment, unit_type = _change_target(vector)
    now = _now_ms(vector["now"])
    moved: list[dict[str, Any]] = []
    entered: list[dict[str, Any]] = []
    for unit in vector["units"]:
        before = assign(vector["current"], experiment, {unit_type: unit}, now, mode="peek")
        after = assign(vector["proposed"], experiment, {unit_type: unit}, now, mode="peek")
        for side, result in (("current", before), ("proposed", after)):
            if result.reason == "ERROR" and result.error != "EXPERIMENT_NOT_FOUND":
                raise ValueError(f"unit {unit!r} under the {side} config: {result.error}")
        if before.variant is not None and after.variant != before.variant:
            moved.append({"unit": unit, "from": before.variant, "to": after.variant})
        elif before.variant is None and after.variant is not None:
            entered.append({"unit": unit, "to": after.variant})
    expected = {"moved": vector["expected"]["moved"], "entered": vector["expected"]["entered"]}
    return expected, {"moved": moved, "entered": entered}


# ---------------------------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------------------------


def run_file(path: str) -> tuple[int, list[Failure], str]:
    """Run one vector file: (passed, failures, note)."""
    with open(path, encoding="utf-8") as handle:
        vector = json.load(handle)
    kind = vector.get("kind")
    passed = 0
    failures: list[Failure] = []
    note = ""

    def check(index: Any, explanation: str, compute: Callable[[], tuple[Any, Any]]) -> None:
        nonlocal passed
        try:
            expected, actual = compute()
        except Exception as exc:  # a crash is a failed case, never an aborted run
            failures.append(Failure(index, "(no exception)", f"{type(exc).__name__}: {exc}", explanation))
            traceback.print_exc(file=sys.stderr)
            return
        if expected == actual and _dump(expected) == _dump(actual):
            passed += 1
        else:
            failures.append(Failure(index, expected, actual, explanation))

    if kind == "slot":
        for i, case in enumerate(vector["cases"]):
            check(i, case.get("explanation", ""), lambda case=case: run_slot_case(vector, case))
    elif kind == "assign":
        for i, case in enumerate(vector["cases"]):
            check(i, case.get("explanation", ""), lambda case=case: run_assign_case(vector, case))
    elif kind == "change":
        check("moved/entered", vector.get("explanation", ""), lambda: run_change_vector(vector))
        note = (
            f" (verdict {vector['expected'].get('verdict')!r} and movedSlots "
            f"{vector['expected'].get('movedSlots')!r} skipped: planner, TypeScript-only)"
        )
    else:
        failures.append(Failure("-", "kind slot, assign or change", kind, "unknown vector kind"))
    return passed, failures, note


def collect(paths: list[str]) -> list[str]:
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            files.extend(
                os.path.join(path, name) for name in sorted(os.listdir(path)) if name.endswith(".json")
            )
        else:
            files.append(path)
    return files


def _describe(failure: Failure) -> list[str]:
    lines = [f"    case {failure.index}:"]
    if isinstance(failure.expected, dict) and isinstance(failure.actual, dict):
        differing = sorted(
            k
            for k in set(failure.expected) | set(failure.actual)
            if _dump(failure.expected.get(k)) != _dump(failure.actual.get(k))
        )
        lines.append(f"      differs in: {', '.join(differing)}")
        for k in differing:
            lines.append(f"      {k}: expected {_dump(failure.expected.get(k))}, actual {_dump(failure.actual.get(k))}")
    lines.append(f"      expected: {_dump(failure.expected)}")
    lines.append(f"      actual:   {_dump(failure.actual)}")
    lines.append(f"      explanation: {failure.explanation}")
    return lines


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Run Sortition test vectors against the Python reference.")
    parser.add_argument("paths", nargs="*", default=[DEFAULT_VECTORS], help="vector files or directories")
    args = parser.parse_args(argv)

    files = collect(args.paths)
    total_passed = 0
    total_failed = 0
    if not files:
        print("no vector files found", file=sys.stderr)
    for path in files:
        name = os.path.basename(path)
        try:
            passed, failures, note = run_file(path)
        except Exception as exc:  # unreadable file: one failure
            passed, failures, note = 0, [Failure("-", "a readable vector", f"{type(exc).__name__}: {exc}", "")], ""
        status = "PASS" if not failures else "FAIL"
        print(f"{status} {name}: {passed} passed, {len(failures)} failed{note}")
        for failure in failures:
            print("\n".join(_describe(failure)))
        total_passed += passed
        total_failed += len(failures)
    print(f"{total_passed} passed, {total_failed} failed")
    return 0 if total_failed == 0 and total_passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
