#!/usr/bin/env python3
"""Prints the tables of bench/cuda/gpu_check.sh from its JSON lines.
  table.py check check.jsonl
  table.py speed speed.jsonl bandwidth.json
  table.py timeline timeline.tsv NAME"""
import json, re, sys

# llama.cpp de3ff815 on an H100 SXM (../shared/perf/README.md): pp512, tg128 tok/s.
LLAMA_CPP = {
    "smollm2-135m-Q8_0": (65640, 927), "smollm2-135m-Q4_0": (63871, 958),
    "llama-3.2-1b-Q8_0": (53697, 808), "llama-3.2-1b-Q4_0": (47541, 972),
    "llama-3.2-3b-Q8_0": (23693, 382), "llama-3.2-3b-Q4_0": (21846, 491),
}

def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip().startswith("{")]

def short_kernel(name):
    """A demangled kernel name without namespaces, template arguments and
    parameters; matvec_split keeps its input's kind, and "+argmax" where it
    takes the greedy token (the logits)."""
    short = re.sub(r"^(void )?([\w:]+::)?", "", name.split("<")[0].split("(")[0])
    if short == "matvec_split":
        src = re.search(r"(Levels|Norm|Glu|Embed)Input", name)
        short += "(" + (src.group(1) if src else "?") + (
            "+argmax" if re.search(r",\s*true>", name.split("(")[0]) else "") + ")"
    return short


def step_start(kernel):
    """The first kernel of a decode step: the embedding, or the first projection embedding its token."""
    return kernel in ("embed", "matvec_split(Embed)")

if sys.argv[1] == "check":
    rows = lines(sys.argv[2])
    # sampled: tokens drawn with a seed (default sampling, top-k 40), the
    # interpreter's against the program's (a last-bit difference in a logit
    # may move a draw: counted, not failed); top: the program's from its
    # GPU-selected logits against those from all its logits (must be equal).
    print("%-24s %9s %12s %12s %8s %8s %6s" % ("model", "positions", "rel RMS", "max |diff|", "greedy", "sampled", "top"))
    bad = 0
    same = [0, 0, 0]  # sampled runs equal to the interpreter's, GPU selection equal to all logits', compared
    for r in rows:
        if "error" in r or "greedy" in r:
            print("%-24s %s" % (r["model"], r.get("error", r.get("greedy"))))
            bad += 1
            continue
        top = r.get("sampled_top_equal")
        ok = r["greedy_equal"] and r["logits_rel_rms"] < 1e-3 and top is not False and "sampled" not in r
        bad += not ok
        if top is not None:
            same[0] += r["sampled_equal"]
            same[1] += top
            same[2] += 1
        print("%-24s %9d %12.2e %12.2e %8s %8s %6s" % (
            r["model"], r["positions"], r["logits_rel_rms"], r["logits_max_abs"],
            "equal" if r["greedy_equal"] else "DIFFER",
            r.get("sampled", "-" if top is None else ("equal" if r["sampled_equal"] else "differ")),
            "-" if top is None else ("equal" if top else "DIFFER")))
    print("%d of %d models pass (greedy tokens equal, logits within 1e-3 relative RMS%s)" % (
        len(rows) - bad, len(rows), ", sampled tokens from the GPU's selection equal to those from all the logits"
        if same[2] else ""))
    if same[2]:
        print("sampled tokens: equal to the interpreter's for %d of %d models; from the GPU's selection equal to "
              "those from all the logits for %d of %d" % (same[0], same[2], same[1], same[2]))
elif sys.argv[1] == "check-modes":
    # Prompt logits' worst rel RMS per model: the default check, then each GEMM mode.
    files = sys.argv[2:]
    tabs = [{r["model"]: r for r in lines(f)} for f in files]
    names = ["default"] + [f.rsplit("check-gemm-", 1)[-1].split(".")[0] for f in files[1:]]
    print("%-24s" % "rel RMS" + "".join("%10s" % n for n in names))
    for model in tabs[0]:
        cells = []
        for t in tabs:
            r = t.get(model, {})
            cells.append("%10.1e" % r["logits_rel_rms"] if "logits_rel_rms" in r else "%10s" % "-")
        print("%-24s" % model + "".join(cells))
    for n, t in zip(names, tabs):
        v = [r["logits_rel_rms"] for r in t.values() if "logits_rel_rms" in r]
        print("%-8s within 1e-3: %d of %d, within 1e-5: %d" % (n, sum(x < 1e-3 for x in v), len(t), sum(x < 1e-5 for x in v)))
elif sys.argv[1] == "ncu":
    # table.py ncu ncu.csv speed.jsonl NAME: the kernels of the first one-token
    # step (first embed .. before the second) by kind, against the graph's time a token.
    import csv
    with open(sys.argv[2]) as f:
        text = [l for l in f if l.startswith('"')]
    kernels = []
    for row in csv.DictReader(text):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        kernels.append((short_kernel(row["Kernel Name"]), float(row["Metric Value"].replace(",", "")) / 1e3))  # ns -> us
    starts = [i for i, (k, _) in enumerate(kernels) if step_start(k)]
    step = kernels[starts[0]:starts[1]] if len(starts) > 1 else kernels
    name = sys.argv[4]
    tg, cur = 0.0, False
    for r in lines(sys.argv[3]):
        if r.get("name") == name:
            cur = True
        elif "tg_tok_s" in r and cur:
            tg = r["tg_tok_s"]
            cur = False
    by = {}
    for k, us in step:
        c, t = by.get(k, (0, 0.0))
        by[k] = (c + 1, t + us)
    total = sum(us for _, us in step)
    graph = 1e6 / tg if tg else 0
    print("== %s: one decode step, kernels timed one by one (Nsight Compute): %d kernels, %.1f us; "
          "the graph takes %.1f us a token (tg128), so %.1f us are between kernels (%.2f us a launch)" % (
              name, len(step), total, graph, graph - total, (graph - total) / max(1, len(step))))
    for k, (c, t) in sorted(by.items(), key=lambda kv: -kv[1][1]):
        print("    %-28s %4d launches %9.1f us  (%.2f us each)" % (k, c, t, t / c))
elif sys.argv[1] == "timeline":
    # table.py timeline timeline.tsv NAME: the decode steps of the graph (the
    # embedding .. the greedy token: argmax_next, or the logits' matvec_split
    # taking it) as CUPTI recorded them (bench/cuda/timeline.cpp), the median
    # of the last 100. With programmatic dependent launch a kernel
    # starts before the one before it ends and waits inside, so what each
    # kernel costs the step is how much later than the kernel before it ends.
    from statistics import median
    recs = []
    with open(sys.argv[2]) as f:
        for l in f:
            a, b, name = l.rstrip("\n").split(" ", 2)
            recs.append((int(a), int(b), short_kernel(name)))
    recs.sort()
    starts = [i for i, r in enumerate(recs) if step_start(r[2])]
    steps = [recs[i:j] for i, j in zip(starts, starts[1:])]
    n = len(steps[-1]) if steps else 0
    ends = ("argmax_next", "matvec_split(Norm+argmax)", "matvec_split(Levels+argmax)")
    steps = [s for s in steps if len(s) == n and s[-1][2] in ends][-100:]
    if not steps:
        sys.exit("timeline: no decode step (the embedding .. the greedy token) recorded")
    step_us = median((b[0][0] - a[0][0]) / 1e3 for a, b in zip(steps, steps[1:])) if len(steps) > 1 else 0
    start = [median((s[i][0] - s[0][0]) / 1e3 for s in steps) for i in range(n)]
    dur = [median((s[i][1] - s[i][0]) / 1e3 for s in steps) for i in range(n)]
    adds = [dur[0]] + [median((s[i][1] - s[i - 1][1]) / 1e3 for s in steps) for i in range(1, n)]
    def idle(s):  # time in the step when no kernel ran
        t, end = 0, s[0][0]
        for a, b, _ in s:
            t += max(0, a - end)
            end = max(end, b)
        return t / 1e3
    print("== %s: a decode step in the graph (CUPTI, median of %d): %.1f us from one step's first kernel to the "
          "next's, %d kernels, %.1f us of it with no kernel running" % (
              sys.argv[3], len(steps), step_us, n, median(idle(s) for s in steps)))
    print("    by kernel: launches, time each adds to the step (its end after the end of the kernel before), "
          "time each runs (from its start, waiting included)")
    by = {}
    for i in range(n):
        c, a, d = by.get(steps[-1][i][2], (0, 0.0, 0.0))
        by[steps[-1][i][2]] = (c + 1, a + adds[i], d + dur[i])
    for k, (c, a, d) in sorted(by.items(), key=lambda kv: -kv[1][1]):
        print("    %-24s %4d %9.1f us (%5.2f each) %6.2f us each" % (k, c, a, a / c, d / c))
    print("    one layer (the second): start after the step's start, end, time added, time run")
    layer = [i for i in range(n) if steps[-1][i][2] == "attention"][1:3]
    for i in range(layer[0] - 1 if layer else 0, layer[1] - 1 if len(layer) > 1 else min(n, 8)):
        print("      %-24s %8.2f %8.2f %6.2f %6.2f" % (steps[-1][i][2], start[i], start[i] + dur[i], adds[i], dur[i]))
elif sys.argv[1] == "modes":
    rows = lines(sys.argv[2])
    modes = []
    by = {}
    for r in rows:
        if r["mode"] not in modes:
            modes.append(r["mode"])
        by.setdefault(r["name"], {})[r["mode"]] = r["pp_tok_s"]
    print("pp512 tok/s by FORGE_CUDA_GEMM (off: matrix-vector kernels)")
    print("%-20s" % "model" + "".join("%10s" % m for m in modes))
    for name, v in by.items():
        print("%-20s" % name + "".join("%10.0f" % v.get(m, 0) for m in modes))
else:
    rows = lines(sys.argv[2])
    bw = json.load(open(sys.argv[3]))["d2d_copy_gb_s"] * 1e9
    print("device-to-device copy: %.0f GB/s" % (bw / 1e9))
    print("%-20s %10s %10s %10s %10s %10s %8s %8s" % ("model", "GGUF MB", "pp512", "llama.cpp", "tg128", "llama.cpp",
                                                     "roof", "vs l.cpp"))
    size = {}
    for r in rows:
        if "gguf_bytes" in r:
            size[r["name"]] = r["gguf_bytes"]
            last = r["name"]
            continue
        gb = size.get(last, 0)
        ref = LLAMA_CPP.get(last, (0, 0))
        roof = bw / gb if gb else 0
        print("%-20s %10.0f %10.0f %10s %10.1f %10s %7.1f%% %8s" % (
            last, gb / 1e6, r["pp_tok_s"], ref[0] or "-", r["tg_tok_s"], ref[1] or "-",
            100 * r["tg_tok_s"] / roof if roof else 0, "%.2fx" % (r["tg_tok_s"] / ref[1]) if ref[1] else "-"))
        if "profile_ms" in r:
            prof = sorted(r["profile_ms"].items(), key=lambda kv: -kv[1]["ms"])
            print("    one decode step without graph: %.3f ms: " % r["profile_total_ms"] +
                  ", ".join("%s %.3f" % (k, v["ms"]) for k, v in prof[:8]))
        if "prefill_profile_ms" in r:
            prof = sorted(r["prefill_profile_ms"].items(), key=lambda kv: -kv[1]["ms"])
            print("    one prefill step of %d tokens: %.2f ms: " % (r["prefill_profile_tokens"],
                                                                   r["prefill_profile_total_ms"]) +
                  ", ".join("%s %.2f" % (k, v["ms"]) for k, v in prof[:8]))
