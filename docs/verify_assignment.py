#!/usr/bin/env python3
"""Stand-alone re-derivation of a Sortition v1 assignment (spec/ALGORITHM.md §2-3, §7), for auditors.

Python standard library only. Given a config document (JSON), an experiment, a unit id, its
attributes and a time, it prints the unit's slot, the phase in force and the variant, the way an
outsider re-derives "user 8821 was in treatment on March 14" from published material.

    python3 docs/verify_assignment.py --config config.json --experiment checkout_v2 --unit 8821 \
        --at 2026-03-14T00:00:00Z --attr country=DE --attr appVersion=4.3.1
    python3 docs/verify_assignment.py --vectors spec/vectors        # check it against the vectors

It covers fresh units (no stored record): slot, phase, exclusion, targeting, holdouts, ranges.
The complete reference implementation is spec/reference/python/sortition_v1.py.
"""
import argparse, hashlib, hmac, json, sys, unicodedata
from datetime import datetime, timezone
from pathlib import Path


def canonical_unit(uid):
    """§2.1: a string, non-empty, no lone surrogates or controls, NFC, at most 256 UTF-8 bytes."""
    if not isinstance(uid, str): return None, "UNIT_ID_NOT_STRING"
    if uid == "": return None, "UNIT_ID_EMPTY"
    if any(0xD800 <= ord(c) <= 0xDFFF for c in uid): return None, "UNIT_ID_ILL_FORMED"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in uid): return None, "UNIT_ID_CONTROL_CHARACTER"
    data = unicodedata.normalize("NFC", uid).encode("utf-8")
    if len(data) > 256: return None, "UNIT_ID_TOO_LONG"
    return data, None


def slot(key_hex, layer_id, unit_bytes, n):
    """§3: HMAC-SHA256 over 0x01 || u8 len || layer || u16be len || unit || u32be counter; 48-bit chunks."""
    key, layer = bytes.fromhex(key_hex), layer_id.encode("ascii")
    limit = 2**48 - (2**48 % n)
    counter = 0
    while True:
        msg = b"\x01" + bytes([len(layer)]) + layer + len(unit_bytes).to_bytes(2, "big") + unit_bytes + counter.to_bytes(4, "big")
        mac = hmac.new(key, msg, hashlib.sha256).digest()
        for i in range(5):
            x = int.from_bytes(mac[6 * i:6 * i + 6], "big")
            if x < limit: return x % n
        counter += 1


def ms(text):
    return int(datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z" if "." in text else "%Y-%m-%dT%H:%M:%S%z").timestamp() * 1000)


def semver(v):
    import re
    m = re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?", v) if isinstance(v, str) else None
    if not m: return None
    pre = m.group(4)
    if pre and any(p.isdigit() and len(p) > 1 and p[0] == "0" for p in pre.split(".")): return None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), [int(p) if p.isdigit() else p for p in pre.split(".")] if pre else [])


def semver_cmp(a, b):
    if a[:3] != b[:3]: return -1 if a[:3] < b[:3] else 1
    pa, pb = a[3], b[3]
    if not pa or not pb: return (len(pb) > 0) - (len(pa) > 0) if (pa or pb) else 0
    for x, y in zip(pa, pb):
        if x == y: continue
        if isinstance(x, int) and isinstance(y, int): return -1 if x < y else 1
        if isinstance(x, int): return -1
        if isinstance(y, int): return 1
        return -1 if x < y else 1
    return (len(pa) > len(pb)) - (len(pa) < len(pb))


def eq(a, b):
    if isinstance(a, bool) or isinstance(b, bool): return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)): return a == b
    return type(a) is type(b) and a == b


def holds(c, attrs):
    """§6: never coerces; comparisons on missing or mistyped attributes are false."""
    if "all" in c: return all(holds(x, attrs) for x in c["all"])
    if "any" in c: return any(holds(x, attrs) for x in c["any"])
    if "not" in c: return not holds(c["not"], attrs)
    op, v, present = c["op"], c.get("value"), c["attr"] in attrs
    a = attrs.get(c["attr"])
    if op == "exists": return present and a is not None
    if op == "eq": return present and eq(a, v)
    if op == "ne": return not (present and eq(a, v))
    if op in ("in", "nin"):
        inside = present and a is not None and any(eq(a, x) for x in v)
        return inside if op == "in" else not inside
    if op in ("gt", "gte", "lt", "lte"):
        if not isinstance(a, (int, float)) or isinstance(a, bool) or a != a: return False
        return {"gt": a > v, "gte": a >= v, "lt": a < v, "lte": a <= v}[op]
    sa, sb = semver(a), semver(v)
    if sa is None or sb is None: return False
    r = semver_cmp(sa, sb)
    return {"semver_eq": r == 0, "semver_gt": r > 0, "semver_gte": r >= 0, "semver_lt": r < 0, "semver_lte": r <= 0}[op]


def in_ranges(s, ranges):
    return any(lo <= s < hi for lo, hi in ranges)


def derive(config, experiment, units, attrs, at):
    """§7 for a unit without a stored record: returns (variant, reason, slot, phase, holdout)."""
    layers = {l["id"]: l for l in config["layers"]}
    exp = next((e for e in config["experiments"] if e["key"] == experiment), None)
    if exp is None: return None, "ERROR:EXPERIMENT_NOT_FOUND", None, None, None
    layer = layers[exp["layer"]]
    if layer["unit"] not in units: return None, "ERROR:UNIT_MISSING", None, None, None
    data, err = canonical_unit(units[layer["unit"]])
    if err: return None, "ERROR:" + err, None, None, None
    s = slot(layer["key"], layer["id"], data, layer["slots"])
    started = [p for p in exp["phases"] if ms(p["startsAt"]) <= at]
    if not started: return None, "NOT_STARTED", s, None, None
    if "endsAt" in exp and at >= ms(exp["endsAt"]): return None, "ENDED", s, None, None
    phase = started[-1]
    earlier = {p["id"]: p for p in exp["phases"]}
    if any(in_ranges(s, [r for rs in earlier[x]["allocation"].values() for r in rs]) for x in phase.get("exclude", [])):
        return None, "PHASE_EXCLUDED", s, phase["id"], None
    if "targeting" in exp and not holds(exp["targeting"], attrs): return None, "TARGETING_EXCLUDED", s, phase["id"], None
    for h in config.get("holdouts", []):
        hl = layers[h["layer"]]
        if h["scope"] == "global" and hl["unit"] == layer["unit"] and in_ranges(slot(hl["key"], hl["id"], data, hl["slots"]), h["ranges"]):
            return None, "HOLDOUT", s, phase["id"], h["id"]
    for h in config.get("holdouts", []):
        if h["layer"] == layer["id"] and in_ranges(s, h["ranges"]): return None, "HOLDOUT", s, phase["id"], h["id"]
    for v in exp["variants"]:
        if in_ranges(s, phase["allocation"].get(v["key"], [])): return v["key"], "ASSIGNED", s, phase["id"], None
    return None, "NOT_ALLOCATED", s, phase["id"], None


def run_vectors(folder):
    passed = failed = 0
    for f in sorted(Path(folder).glob("*.json")):
        v = json.loads(f.read_text(encoding="utf-8"))
        cases = []
        if v["kind"] == "slot":
            for c in v["cases"]:
                layer = v["layers"][c["layer"]]
                data, err = canonical_unit(c["unit"])
                got = {"error": err} if err else {"slot": slot(layer["key"], layer["id"], data, layer["slots"])}
                want = {"error": c["expected"]["error"]} if "error" in c["expected"] else {"slot": c["expected"]["slot"]}
                cases.append((got == want, c["explanation"], got, want))
        elif v["kind"] == "assign":
            for c in v["cases"]:
                if "sticky" in c["input"]: continue
                i, e = c["input"], c["expected"]
                variant, reason, s, phase, holdout = derive(v["config"], i["experiment"], i["units"], i.get("attributes", {}), ms(i["now"]))
                want_reason = "ERROR:" + e["error"] if e["reason"] == "ERROR" else e["reason"]
                got, want = (variant, reason, s, phase, holdout), (e["variant"], want_reason, e["slot"], e["phase"], e["holdout"])
                cases.append((got == want, c["explanation"], got, want))
        for ok, why, got, want in cases:
            if ok: passed += 1
            else:
                failed += 1
                print(f"FAIL {f.name}: got {got}, want {want} ({why})")
    print(f"{passed} passed, {failed} failed")
    return failed == 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--vectors")
    p.add_argument("--config")
    p.add_argument("--experiment")
    p.add_argument("--unit")
    p.add_argument("--unit-type")
    p.add_argument("--at")
    p.add_argument("--attr", action="append", default=[], help="k=v for a string, k:=json for a number/boolean/null")
    a = p.parse_args()
    if a.vectors: sys.exit(0 if run_vectors(a.vectors) else 1)
    config = json.loads(Path(a.config).read_text(encoding="utf-8"))
    exp = next(e for e in config["experiments"] if e["key"] == a.experiment)
    unit_type = a.unit_type or next(l for l in config["layers"] if l["id"] == exp["layer"])["unit"]
    attrs = {}
    for kv in a.attr:
        k, _, v = kv.partition(":=") if ":=" in kv else kv.partition("=")
        attrs[k] = json.loads(v) if ":=" in kv else v
    variant, reason, s, phase, holdout = derive(config, a.experiment, {unit_type: a.unit}, attrs, ms(a.at))
    print(json.dumps({"experiment": a.experiment, "unit": a.unit, "slot": s, "phase": phase, "variant": variant, "reason": reason, "holdout": holdout, "configVersion": config["version"]}, ensure_ascii=False))


if __name__ == "__main__":
    main()
