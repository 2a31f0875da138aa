#!/usr/bin/env python3
"""Comparisons for the GPU check (standard library only).

    python3 gpu/compare.py losses CUDA_METRICS CPU_METRICS [--first N] [--rtol X]
        The per-step training losses of two runs from the same seed (metrics.jsonl): the first N steps must
        agree within rtol (relative); prints the worst difference over those and over all common steps, and
        one JSON line ("bench": "agreement"). Exit status 1 when they do not agree or a file has no steps.

    python3 gpu/compare.py table STEPS_TSV FIGURES_JSONL
        The closing table: each step of the check (name, status, seconds, figure), then our figures beside
        PyTorch's at the same shapes, as ratios, with the targets.
"""
import argparse
import json
import sys

# Targets (issue text): bf16 GEMM >= 0.9x torch.matmul; dense step >= 1.2x torch eager; generator <= 5 %.
GEMM_BF16_TARGET = 0.9
STEP_TARGET = 1.2
GENERATOR_SHARE_TARGET = 0.05
CUDNN_ATTENTION_TARGET = 0.9  # cuDNN attention fwd+bwd time: at least 0.9x as fast as torch SDPA


def read_losses(path):
    """{step: loss} of the training rows of a metrics.jsonl (validation rows have no "loss")."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            row = json.loads(line)
            if "loss" in row and row.get("loss") is not None:
                out[int(row["step"])] = float(row["loss"])
    return out


def agreement(a, b, first, rtol):
    """(ok, worst relative difference in the first `first` common steps, worst over all common steps, steps
    compared). Relative to max(|b|, 1e-6); a non-finite loss never agrees."""
    common = sorted(set(a) & set(b))
    if not common:
        return False, float("nan"), float("nan"), 0

    def rel(s):
        x, y = a[s], b[s]
        if x != x or y != y or x in (float("inf"), float("-inf")) or y in (float("inf"), float("-inf")):
            return float("inf")
        return abs(x - y) / max(abs(y), 1e-6)

    head = common[:first]
    worst_head = max(rel(s) for s in head)
    worst_all = max(rel(s) for s in common)
    return worst_head <= rtol and len(head) == min(first, len(common)), worst_head, worst_all, len(common)


def losses_main(args):
    a, b = read_losses(args.cuda), read_losses(args.cpu)
    if not a or not b:
        print(f"no training steps in {args.cuda if not a else args.cpu}")
        print(json.dumps({"impl": "leviathan", "bench": "agreement", "ok": False, "steps": 0}))
        return 1
    ok, head, whole, n = agreement(a, b, args.first, args.rtol)
    print(f"{'step':>5} {'cuda':>10} {'cpu':>10} {'rel diff':>10}")
    for s in sorted(set(a) & set(b))[: args.first]:
        print(f"{s:>5} {a[s]:>10.5f} {b[s]:>10.5f} {abs(a[s] - b[s]) / max(abs(b[s]), 1e-6):>10.2e}")
    print(f"first {min(args.first, n)} steps: worst relative difference {head:.2e} (tolerance {args.rtol:g}); "
          f"all {n} common steps: {whole:.2e}; final loss cuda {a[max(a)]:.4f}, cpu {b[max(b)]:.4f}")
    print(json.dumps({"impl": "leviathan", "bench": "agreement", "ok": ok, "steps": n, "first": args.first,
                      "rtol": args.rtol, "worst_first": head, "worst_all": whole,
                      "final_cuda": a[max(a)], "final_cpu": b[max(b)]}))
    return 0 if ok else 1


def read_rows(path):
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass
    except FileNotFoundError:
        pass
    return rows


def ratios(rows):
    """Lines 'what | ours | torch | ratio | target' for every figure measured by both at the same shape."""
    ours = [r for r in rows if r.get("impl") == "leviathan"]
    theirs = [r for r in rows if r.get("impl") == "torch"]

    def find(bench, **key):
        for r in theirs:
            if r.get("bench") == bench and all(r.get(k) == v for k, v in key.items()):
                return r
        return None

    out = []
    for r in ours:
        b = r.get("bench")
        if b == "gemm":
            t = find("gemm", dtype=r["dtype"], m=r["m"], k=r["k"], n=r["n"])
            target = f">= {GEMM_BF16_TARGET}" if r["dtype"] == "bf16" else ""
            out.append((f"gemm {r['dtype']} {r['m']}x{r['k']}x{r['n']} TFLOP/s", r["tflops"],
                        t and t["tflops"], t and _div(r["tflops"], t["tflops"]), target))
        elif b == "attention":
            t = find("attention", dtype=r["dtype"], b=r["b"], t=r["t"], h=r["h"], dh=r["dh"])
            impl = r.get("attention", "native")
            what = f"attention {impl} {r['dtype']} B{r['b']} T{r['t']} H{r['h']} Dh{r['dh']} fwd+bwd ms"
            target = f">= {CUDNN_ATTENTION_TARGET}" if impl == "cudnn" else "speed-up"
            out.append((what, r["fwd_bwd_ms"], t and t["fwd_bwd_ms"], t and _div(t["fwd_bwd_ms"], r["fwd_bwd_ms"]),
                        target))
        elif b == "generator":
            t = find("generator", tokens=r["tokens"], vocab=r["vocab"])
            out.append((f"generator fwd+bwd ms ({r['tokens']} tokens, {r['distinct']} distinct)", r["fwd_bwd_ms"],
                        t and t["fwd_bwd_ms"], t and _div(t["fwd_bwd_ms"], r["fwd_bwd_ms"]), "speed-up"))
        elif b == "step":
            t = find("step", family=r["family"], batch=r["batch"], seq=r["seq"], vocab=r["vocab"])
            target = f">= {STEP_TARGET}" if r["family"] == "dense" else ""
            impl = "" if r.get("attention", "native") == "native" else f" ({r['attention']} attention)"
            out.append((f"step {r['family']} {r.get('model', '')}{impl} tokens/s", r["tokens_per_s"],
                        t and t["tokens_per_s"], t and _div(r["tokens_per_s"], t["tokens_per_s"]), target))
            out.append((f"step {r['family']}{impl} MFU (989 TFLOP/s peak)", r["mfu"], t and t["mfu"], None, ""))
    # a training step with cuDNN's attention against the same step with our kernel (both ours, same run)
    for r in ours:
        if r.get("bench") == "step" and r.get("attention") == "cudnn":
            base = next((x for x in ours if x.get("bench") == "step" and x.get("attention", "native") == "native"
                         and all(x.get(k) == r.get(k) for k in ("family", "batch", "seq", "vocab"))), None)
            if base:
                out.append((f"step {r['family']} seq {r['seq']}: cuDNN attention / our kernel tokens/s",
                            _div(r["tokens_per_s"], base["tokens_per_s"]), None, None, "> 1"))
    # the generator's share of the iso-body Leviathan step, for each implementation
    for impl in ("leviathan", "torch"):
        gen = next((r for r in rows if r.get("impl") == impl and r.get("bench") == "generator"), None)
        lev = next((r for r in rows if r.get("impl") == impl and r.get("bench") == "step"
                    and r.get("family") == "leviathan"), None)
        dense = next((r for r in rows if r.get("impl") == impl and r.get("bench") == "step"
                      and r.get("family") == "dense"), None)
        if gen and lev:
            out.append((f"generator share of the Leviathan step ({impl})", _div(gen["fwd_bwd_ms"], lev["ms"]), None,
                        None, f"<= {GENERATOR_SHARE_TARGET:.0%}" if impl == "leviathan" else ""))
        if dense and lev:
            out.append((f"Leviathan step / dense step time ({impl})", _div(lev["ms"], dense["ms"]), None, None, ""))
    return out


def _div(a, b):
    try:
        return a / b if a is not None and b else None
    except TypeError:
        return None


def _fmt(x):
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def table_main(args):
    steps = []
    try:
        with open(args.steps, encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 3:
                    steps.append(parts + [""] * (4 - len(parts)))
    except FileNotFoundError:
        pass
    w = max([len(s[0]) for s in steps] + [4])
    print(f"{'step':<{w}}  {'status':<8} {'s':>5}  figure")
    for name, status, secs, fig in (s[:4] for s in steps):
        print(f"{name:<{w}}  {status:<8} {secs:>5}  {fig}")
    lines = ratios(read_rows(args.figures))
    if lines:
        print()
        w = max(len(x[0]) for x in lines)
        print(f"{'figure':<{w}}  {'ours':>10} {'torch':>10} {'ratio':>7}  target")
        for what, ours, theirs, ratio, target in lines:
            met = ""
            if ratio is not None and target.startswith(">="):
                met = " met" if ratio >= float(target[2:]) else " MISSED"
            if ratio is None and target.startswith("<=") and ours is not None:
                met = " met" if ours <= GENERATOR_SHARE_TARGET else " MISSED"
            if ratio is None and target == "> 1" and ours is not None:
                met = " met" if ours > 1 else " MISSED"
            print(f"{what:<{w}}  {_fmt(ours):>10} {_fmt(theirs):>10} {_fmt(ratio):>7}  {target}{met}")
    else:
        print("\nno benchmark figures")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description="comparisons for the GPU check")
    sub = ap.add_subparsers(dest="cmd", required=True)
    lo = sub.add_parser("losses")
    lo.add_argument("cuda")
    lo.add_argument("cpu")
    lo.add_argument("--first", type=int, default=10)
    lo.add_argument("--rtol", type=float, default=0.02)
    ta = sub.add_parser("table")
    ta.add_argument("steps")
    ta.add_argument("figures")
    args = ap.parse_args(argv)
    return losses_main(args) if args.cmd == "losses" else table_main(args)


if __name__ == "__main__":
    sys.exit(main())
