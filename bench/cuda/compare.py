#!/usr/bin/env python3
"""Compares a compiled CUDA model with the CPU interpreter: logits of every
prompt position (relative RMS, worst position), greedy tokens (exact) and,
given the runs, tokens drawn with a seed: the interpreter's against the CUDA
program's (equal unless a logit differs in its last bits), and the CUDA
program's from the logits it selects on the GPU against those from all its
logits on the host (FORGE_CUDA_TOP_LOGITS=0: equal, always).
Usage: compare.py NAME INTERP_LOGITS.json CUDA_LOGITS.json INTERP_RUN.json CUDA_RUN.json
                  [INTERP_SAMPLED.json CUDA_SAMPLED.json CUDA_SAMPLED_ALL_LOGITS.json]
Prints one table row as JSON."""
import json, math, sys

name, il, cl, ir, cr = sys.argv[1:6]
sampled = sys.argv[6:9]
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
if sampled:
    e, f, g = (load(p) for p in sampled)
    if e is None or f is None or g is None:
        row["sampled"] = "missing run"
    else:
        row["sampled_equal"] = e["tokens"] == f["tokens"]
        row["sampled_top_equal"] = f["tokens"] == g["tokens"]
        if f["tokens"] != g["tokens"]:
            row["top_tokens"], row["all_logits_tokens"] = f["tokens"], g["tokens"]
print(json.dumps(row))
