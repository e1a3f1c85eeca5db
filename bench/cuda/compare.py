#!/usr/bin/env python3
"""Compares a compiled CUDA model with the CPU interpreter: logits of every
prompt position (relative RMS, worst position) and greedy tokens (exact).
Usage: compare.py NAME INTERP_LOGITS.json CUDA_LOGITS.json INTERP_RUN.json CUDA_RUN.json
Prints one table row as JSON."""
import json, math, sys

name, il, cl, ir, cr = sys.argv[1:6]
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except Exception as e:
        return None

row = {"model": name}
a, b = load(il), load(cl)
if a is None or b is None:
    row["error"] = "missing logits (%s)" % ("interpreter" if a is None else "cuda")
else:
    ref = [p["logits"] for p in a["positions"]] if "positions" in a else a["logits"]
    got = b["logits"]
    worst = 0.0
    maxabs = 0.0
    for r, g in zip(ref, got):
        num = sum((x - y) ** 2 for x, y in zip(r, g))
        den = sum(x * x for x in r) or 1.0
        worst = max(worst, math.sqrt(num / den))
        maxabs = max(maxabs, max(abs(x - y) for x, y in zip(r, g)))
    row["positions"] = len(got)
    row["same_count"] = len(ref) == len(got)
    row["logits_rel_rms"] = worst
    row["logits_max_abs"] = maxabs
c, d = load(ir), load(cr)
if c is None or d is None:
    row["greedy"] = "missing run (%s)" % ("interpreter" if c is None else "cuda")
else:
    row["greedy_equal"] = c["tokens"] == d["tokens"]
    row["greedy_n"] = len(c["tokens"])
    if c["tokens"] != d["tokens"]:
        row["interp_tokens"] = c["tokens"]
        row["cuda_tokens"] = d["tokens"]
print(json.dumps(row))
