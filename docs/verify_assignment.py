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

Committed layers (§4.1): once the seed is revealed, pass it with the beacon randomness of the drand
round named in the launch record (or the operator's beacon value); the layer whose config key is
the seed's commitment is re-keyed with the derived key before re-deriving:

    python3 docs/verify_assignment.py --config config.json --experiment checkout_v2 --unit 8821 \
        --at 2023-09-15T12:00:00Z --seed <64 hex> --beacon-randomness <64 hex>

The drand BLS signature itself needs a pairing library (not in the standard library): check it
with `sortition verify`, or any drand client; this script checks randomness = SHA-256(signature).
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


def seed_commit(seed):
    """§4.1: SHA-256("sortition/v1/seed" || 0x00 || seed)."""
    return hashlib.sha256(b"sortition/v1/seed\x00" + seed).hexdigest()


def operator_beacon(value):
    """§4.1: the randomness of an operator-supplied beacon value (weaker than a drand round)."""
    return hashlib.sha256(b"sortition/v1/operator-beacon\x00" + value.encode("utf-8")).digest()


def layer_key(seed, beacon, layer_id):
    """§4.1: HMAC-SHA256(seed, "sortition/v1/layer-key" || 0x00 || beacon || u8(len L) || L)."""
    layer = layer_id.encode("ascii")
    return hmac.new(seed, b"sortition/v1/layer-key\x00" + beacon + bytes([len(layer)]) + layer, hashlib.sha256).hexdigest()


def rekey(config, seed, beacon):
    """The config with each layer whose key is this seed's commitment keyed by the derived key."""
    commit = seed_commit(seed)
    layers = [dict(l, key=layer_key(seed, beacon, l["id"])) if l["key"] == commit else l for l in config["layers"]]
    if layers == config["layers"]: raise SystemExit(f"no layer of the config names the commitment {commit} of this seed")
    return dict(config, layers=layers)


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

    def record(f, ok, why, got, want):
        nonlocal passed, failed
        if ok: passed += 1
        else:
            failed += 1
            print(f"FAIL {f.name}: got {got}, want {want} ({why})")

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
            record(f, ok, why, got, want)
    for f in sorted(Path(folder).glob("committed/*.json")):
        v = json.loads(f.read_text(encoding="utf-8"))
        seed = bytes.fromhex(v["seed"])
        record(f, seed_commit(seed) == v["expected"]["seedCommit"], "seed commitment", seed_commit(seed), v["expected"]["seedCommit"])
        for c in v["cases"]:
            if c["source"] == "drand":
                rnd = hashlib.sha256(bytes.fromhex(c["beacon"]["signature"])).digest()
                record(f, rnd.hex() == c["beacon"]["randomness"] == c["beaconRandomness"], "drand randomness = SHA-256(signature)", rnd.hex(), c["beaconRandomness"])
            else:
                rnd = operator_beacon(c["operator"])
                record(f, rnd.hex() == c["beaconRandomness"], "operator beacon randomness", rnd.hex(), c["beaconRandomness"])
            key = layer_key(seed, rnd, c["layer"])
            record(f, key == c["expected"]["layerKey"], f"layer key of {c['layer']} ({c['source']})", key, c["expected"]["layerKey"])
            for unit, want in c["expected"]["slots"].items():
                data, _ = canonical_unit(unit)
                got = slot(key, c["layer"], data, c["slots"])
                record(f, got == want, f"slot of {unit} in committed layer {c['layer']} ({c['source']})", got, want)
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
    p.add_argument("--seed", help="committed layer: the revealed seed (hex)")
    p.add_argument("--beacon-randomness", help="committed layer: randomness of the drand round named at launch (hex)")
    p.add_argument("--operator-beacon", help="committed layer: the operator-supplied beacon value instead (weaker)")
    a = p.parse_args()
    if a.vectors: sys.exit(0 if run_vectors(a.vectors) else 1)
    config = json.loads(Path(a.config).read_text(encoding="utf-8"))
    if a.seed:
        beacon = operator_beacon(a.operator_beacon) if a.operator_beacon else bytes.fromhex(a.beacon_randomness)
        config = rekey(config, bytes.fromhex(a.seed), beacon)
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
