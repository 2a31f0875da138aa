#!/usr/bin/env python3
"""The PyTorch side of the GPU check: the same figures as io.leviathan.benchmarks.DeviceBenchmarks, measured
with the PyTorch installed on the machine, so that every GPU figure is a ratio measured side by side.

    python3 gpu/torch_peer.py [--device cuda|cpu] [--like FIGURES.jsonl] [--only gemm,attention,generator,step]
                              [--steps N] [--quick]

--like reads our figures (JSON lines with "impl": "leviathan") and measures exactly their shapes: the matrix
products, attention, and the dense and Leviathan models of the training step (dimensions from the rows).
Without it, the defaults below are the same as DeviceBenchmarks' defaults. Prints one JSON line per figure
("impl": "torch") with the keys ours uses.

What is measured:
  gemm       torch.matmul(a, b.T) with a [M, K], b [N, K]: f32 (TF32 off), tf32 (TF32 on), bf16 (bf16 output;
             ours writes f32 from bf16 inputs)
  attention  F.scaled_dot_product_attention(is_causal=True) at [B, T, H, Dh], forward and forward + backward
  generator  the Leviathan generator (digits, codebooks, per-head projection and LayerNorm, quadratic B-spline
             basis, rank-1 separable modes in the log domain with their sign, output projection) on the distinct
             ids of a batch, forward + backward, eager
  step       a LLaMA-style training step (RMSNorm, RoPE rotate-half, causal attention, SwiGLU, untied head,
             mean cross-entropy, global-norm clipping at 1, AdamW), bf16 autocast over fp32 master weights,
             eager, for the dense model and for its iso-body Leviathan twin
GPU timings use CUDA events around many calls and report the median of several samples after warm-up; inputs
are random normal (never zeros). Needs torch only for measuring: the configuration helpers are plain Python.
"""
import argparse
import json
import math
import statistics
import sys
import time

H200_BF16_PEAK = 989e12

# Mirrors io.leviathan.model.Presets (dense bodies; vocabulary 200,019 unless --quick): name -> (D, layers, heads)
PRESETS = {
    "tiny": (64, 2, 2), "small": (128, 4, 2), "medium": (256, 6, 4), "paper-60m": (144, 8, 3),
    "paper-110m": (256, 8, 4), "paper-170m": (384, 8, 6), "paper-240m": (512, 12, 8),
    "paper-310m": (640, 12, 10), "paper-420m": (768, 16, 12),
}
DEFAULT_VOCAB = 200_019


def llama_ffn_hidden(d_model):
    """ModelConfig.llamaFfnHidden: ceil(8 D / 3) rounded up to a multiple of 64."""
    h = math.ceil(8.0 * d_model / 3.0)
    return (h + 63) // 64 * 64


def generator_base(vocab, digits):
    """GeneratorConfig.base: the smallest b >= 2 with b ** digits >= vocab."""
    if vocab < 1:
        raise ValueError(f"vocab must be >= 1, got {vocab}")
    b = max(2, int(math.floor(vocab ** (1.0 / digits))) - 1)
    while b ** digits < vocab:
        b += 1
    return b


def model_config(preset, vocab=None, leviathan=False):
    """The dense body of a preset (or its iso-body Leviathan twin with the default generator) as a dict with
    the keys DeviceBenchmarks writes into its rows."""
    if preset not in PRESETS:
        raise ValueError(f"unknown model preset '{preset}'; valid presets: {', '.join(PRESETS)}")
    d, layers, heads = PRESETS[preset]
    cfg = {"model": preset, "vocab": vocab or DEFAULT_VOCAB, "d_model": d, "layers": layers, "heads": heads,
           "ffn": llama_ffn_hidden(d), "norm_eps": 1e-5, "rope_theta": 10000.0}
    if leviathan:
        cfg.update({"digits": 3, "shared_codebook": 0, "d_seed": 128, "gen_heads": 8, "knots": 32, "rank": 64,
                    "normalize_basis": 1, "ln_eps": 1e-5})
        cfg["base"] = generator_base(cfg["vocab"], cfg["digits"])
    return cfg


MODEL_KEYS = ("vocab", "d_model", "layers", "heads", "ffn", "norm_eps", "rope_theta")
GENERATOR_KEYS = ("digits", "base", "shared_codebook", "d_seed", "gen_heads", "knots", "rank", "normalize_basis",
                  "ln_eps")


def gemm_shapes(quick):
    """DeviceBenchmarks.gemmShapes: (M, K, N)."""
    if quick:
        return [(64, 48, 80), (33, 17, 65)]
    return [(8192, 1024, 1024), (8192, 1024, 2752), (8192, 2752, 1024), (8192, 1024, 32768), (4096, 4096, 4096)]


def plan(args, ours):
    """What to measure: shapes and models from our rows where there are any, else the defaults. Returns a dict
    with 'gemm' [(dtype, M, K, N)], 'attention' [(dtype, B, T, H, Dh)], 'generator' [cfg], 'step' [cfg]."""
    quick = args.quick
    rows = [r for r in ours if r.get("impl") == "leviathan"]
    p = {"gemm": [], "attention": [], "generator": [], "step": []}
    gemm = [(r["dtype"], r["m"], r["k"], r["n"]) for r in rows if r.get("bench") == "gemm"]
    p["gemm"] = gemm or [(dt, m, k, n) for dt in ("f32", "tf32", "bf16") for (m, k, n) in gemm_shapes(quick)]
    # our rows repeat a shape once per attention implementation (our kernel, cuDNN): PyTorch measures it once
    att = list(dict.fromkeys((r["dtype"], r["b"], r["t"], r["h"], r["dh"]) for r in rows
                             if r.get("bench") == "attention"))
    default_att = (1, 64, 2, 32) if quick else (4, 2048, 16, 64)
    p["attention"] = att or [(dt,) + default_att for dt in ("f32", "bf16")]
    preset = "tiny" if quick else "paper-420m"
    vocab = 4096 if quick else None
    batch, seq = (2, 64) if quick else (8, 1024)

    def from_row(r, leviathan):
        cfg = {k: r[k] for k in MODEL_KEYS}
        if leviathan:
            cfg.update({k: r[k] for k in GENERATOR_KEYS})
        cfg["model"] = r.get("model", "?")
        return cfg

    gen = [dict(from_row(r, True), tokens=r["tokens"]) for r in rows if r.get("bench") == "generator"]
    p["generator"] = gen or [dict(model_config(preset, vocab, True), tokens=batch * seq)]
    steps = [dict(from_row(r, r["family"] == "leviathan"), family=r["family"], batch=r["batch"], seq=r["seq"],
                  precision=r.get("precision", "bf16")) for r in rows if r.get("bench") == "step"]
    unique = []
    for st in steps:
        if st not in unique:
            unique.append(st)
    p["step"] = unique or [dict(model_config(preset, vocab, fam == "leviathan"), family=fam, batch=batch, seq=seq,
                               precision="bf16") for fam in ("dense", "leviathan")]
    return p


def read_figures(path):
    """JSON lines of a figures file; lines that are not JSON objects are skipped."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return rows


def decayed(name):
    """Whether AdamW decays a parameter, as ours: matrices of the body, head, table and generator projections
    and codebooks; not norms, LayerNorm, or spline coefficients."""
    leaf = name.split(".")[-1]
    return name.endswith("proj.weight") or name in ("lm_head.weight", "embed.weight") \
        or leaf in ("codebooks", "seed_proj", "out_proj")


def flops_per_token(cfg, seq):
    """6 N (body and head: everything but the input stage) + 12 L D T for attention, as DeviceBenchmarks."""
    d, layers, ffn, vocab = cfg["d_model"], cfg["layers"], cfg["ffn"], cfg["vocab"]
    body = layers * (4 * d * d + 3 * d * ffn + 2 * d)
    non_embedding = body + d + vocab * d
    return 6.0 * non_embedding + 12.0 * layers * d * seq


# ---------------------------------------------------------------------------------------------- torch part

def measure(torch, device, fn, target_ms=50.0, samples=7):
    """Milliseconds per call of fn: median of samples of about target_ms each, after three warm-up calls."""
    for _ in range(3):
        fn()
    sync(torch, device)
    t0 = time.perf_counter()
    fn()
    sync(torch, device)
    once = max((time.perf_counter() - t0) * 1e3, 1e-3)
    calls = int(max(1, min(10_000, round(target_ms / once))))
    out = []
    for _ in range(samples):
        if device == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(calls):
                fn()
            end.record()
            end.synchronize()
            out.append(start.elapsed_time(end) / calls)
        else:
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            out.append((time.perf_counter() - t0) * 1e3 / calls)
    return statistics.median(out)


def sync(torch, device):
    if device == "cuda":
        torch.cuda.synchronize()


def set_tf32(torch, on):
    """TF32 for float32 matrix products on or off, through the API this torch has (fp32_precision from 2.9 on;
    mixing it with the older allow_tf32 is an error there)."""
    m = torch.backends.cuda.matmul
    try:
        m.fp32_precision = "tf32" if on else "ieee"
    except (AttributeError, AssertionError):  # before 2.9 (its getattr and setattr assert on unknown names)
        m.allow_tf32 = on


def bench_gemm(torch, device, dtype, m, k, n):
    set_tf32(torch, dtype == "tf32")
    tdt = torch.bfloat16 if dtype == "bf16" else torch.float32
    g = torch.Generator(device=device).manual_seed(1)
    a = torch.randn(m, k, device=device, generator=g).to(tdt)
    b = torch.randn(n, k, device=device, generator=g).to(tdt)
    ms = measure(torch, device, lambda: torch.matmul(a, b.t()))
    set_tf32(torch, False)
    return {"impl": "torch", "bench": "gemm", "device": device, "dtype": dtype, "m": m, "k": k, "n": n, "ms": ms,
            "tflops": 2.0 * m * n * k / (ms * 1e-3) / 1e12}


def bench_attention(torch, device, dtype, b, t, h, dh):
    import torch.nn.functional as F
    tdt = torch.bfloat16 if dtype == "bf16" else torch.float32
    g = torch.Generator(device=device).manual_seed(2)
    # SDPA takes [B, H, T, Dh]; ours is [B, T, H, Dh]: the transposed views cost nothing
    q, k, v = (torch.randn(b, t, h, dh, device=device, generator=g).to(tdt).transpose(1, 2).requires_grad_()
               for _ in range(3))
    d_out = torch.randn(b, h, t, dh, device=device, generator=g).to(tdt)
    fwd = measure(torch, device, lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True))

    def both():
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        torch.autograd.grad(out, (q, k, v), d_out)

    fb = measure(torch, device, both)
    fwd_flops = 2.0 * 2 * b * h * t * t * dh / 2
    return {"impl": "torch", "bench": "attention", "device": device, "dtype": dtype, "b": b, "t": t, "h": h,
            "dh": dh, "fwd_ms": fwd, "fwd_bwd_ms": fb, "fwd_tflops": fwd_flops / (fwd * 1e-3) / 1e12,
            "fwd_bwd_tflops": fwd_flops * 3.5 / (fb * 1e-3) / 1e12}


def zipf_ids(torch, n, vocab, s, seed):
    """n ids with P(rank r) ~ 1 / r^s over vocab ranks, ranks shuffled onto ids (as GeneratorBenchmark)."""
    g = torch.Generator().manual_seed(seed)
    p = 1.0 / torch.arange(1, vocab + 1, dtype=torch.float64) ** s
    ranks = torch.multinomial(p / p.sum(), n, replacement=True, generator=g)
    perm = torch.randperm(vocab, generator=g)
    return perm[ranks]


def build_modules(torch):
    """The model as torch.nn modules (defined here so that importing this file needs no torch)."""
    import torch.nn as nn
    import torch.nn.functional as F

    class Generator(nn.Module):
        """Leviathan's input stage, eager (see LeviathanGenerator.java and docs/leviathan.md)."""

        def __init__(self, c):
            super().__init__()
            self.c = c
            h, ds, kn, r, d = c["gen_heads"], c["d_seed"], c["knots"], c["rank"], c["d_model"]
            books = 1 if c["shared_codebook"] else c["digits"]
            self.codebooks = nn.Parameter(torch.randn(books, c["base"], ds))
            self.seed_proj = nn.Parameter(torch.randn(h, ds, ds) / math.sqrt(ds))
            self.ln_weight = nn.Parameter(torch.ones(h, ds))
            self.ln_bias = nn.Parameter(torch.zeros(h, ds))
            self.spline = nn.Parameter(1 + 0.1 * torch.randn(h, ds, kn, r))
            self.out_proj = nn.Parameter(0.02 / math.sqrt(h) * torch.randn(h, r, d))

        def forward(self, ids):
            # F32 throughout, as ours: the log-domain product is no place for bf16
            with torch.autocast(device_type=ids.device.type, enabled=False):
                return self._forward(ids)

        def _forward(self, ids):
            c = self.c
            uniq, inv = torch.unique(ids.reshape(-1), return_inverse=True)
            k, base = c["digits"], c["base"]
            z = 0
            for r in range(k):  # digits most significant first
                digit = torch.div(uniq, base ** (k - 1 - r), rounding_mode="floor") % base
                z = z + self.codebooks[0 if c["shared_codebook"] else r][digit]
            u = torch.einsum("nd,hed->hne", z, self.seed_proj)
            mean = u.mean(-1, keepdim=True)
            var = u.var(-1, unbiased=False, keepdim=True)
            ln = (u - mean) * torch.rsqrt(var + c["ln_eps"]) * self.ln_weight[:, None, :] + self.ln_bias[:, None, :]
            t = torch.sigmoid(ln / 2)
            kn = c["knots"]
            pos = t.clamp(0, 1) * (kn - 1)
            jn = torch.floor(pos.detach() + 0.5)
            x = pos - jn
            u0 = torch.where(jn >= 1, 0.5 * (0.5 - x) ** 2, torch.zeros_like(x))
            u1 = 0.75 - x * x
            u2 = torch.where(jn + 1 < kn, 0.5 * (0.5 + x) ** 2, torch.zeros_like(x))
            if c["normalize_basis"]:
                s = u0 + u1 + u2
                u0, u1, u2 = u0 / s, u1 / s, u2 / s
            first = jn.long() - 1
            h, ds = c["gen_heads"], c["d_seed"]
            hh = torch.arange(h, device=ids.device)[:, None, None]
            ii = torch.arange(ds, device=ids.device)[None, None, :]
            phi = 0
            for m, w in enumerate((u0, u1, u2)):
                idx = (first + m).clamp(0, kn - 1)
                phi = phi + w[..., None] * self.spline[hh, ii, idx]  # [h, n, d_seed, R]
            # modes = sign * exp(sum_i log(|phi_i| + 1e-9)), sign the parity of the negative factors
            logmag = torch.log(phi.abs() + 1e-9).sum(dim=2)
            negatives = (phi.detach() < 0).sum(dim=2)
            sign = 1.0 - 2.0 * (negatives % 2).to(phi.dtype)
            modes = sign * torch.exp(logmag)  # [h, n, R]
            e = torch.einsum("hnr,hrd->nd", modes, self.out_proj)
            return e[inv].reshape(*ids.shape, -1)

    class RMSNorm(nn.Module):
        def __init__(self, d, eps):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(d))
            self.eps = eps

        def forward(self, x):
            x32 = x.float()
            return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight

    def rope(x, cos, sin):
        half = x.shape[-1] // 2
        x1, x2 = x[..., :half], x[..., half:]
        return x * cos + torch.cat((-x2, x1), dim=-1) * sin

    class Layer(nn.Module):
        def __init__(self, c):
            super().__init__()
            d, f = c["d_model"], c["ffn"]
            self.heads = c["heads"]
            self.input_layernorm = RMSNorm(d, c["norm_eps"])
            self.q_proj, self.k_proj, self.v_proj, self.o_proj = (nn.Linear(d, d, bias=False) for _ in range(4))
            self.post_attention_layernorm = RMSNorm(d, c["norm_eps"])
            self.gate_proj = nn.Linear(d, f, bias=False)
            self.up_proj = nn.Linear(d, f, bias=False)
            self.down_proj = nn.Linear(f, d, bias=False)

        def forward(self, x, cos, sin):
            b, t, d = x.shape
            h = self.input_layernorm(x)
            q, k, v = (p(h).view(b, t, self.heads, -1).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
            q, k = rope(q, cos, sin), rope(k, cos, sin)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, d)
            x = x + self.o_proj(a)
            h = self.post_attention_layernorm(x)
            return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))

    class Llama(nn.Module):
        def __init__(self, c, leviathan, seq):
            super().__init__()
            d = c["d_model"]
            self.embed = Generator(c) if leviathan else nn.Embedding(c["vocab"], d)
            self.layers = nn.ModuleList(Layer(c) for _ in range(c["layers"]))
            self.norm = RMSNorm(d, c["norm_eps"])
            self.lm_head = nn.Linear(d, c["vocab"], bias=False)
            for m in self.modules():  # the body's and head's N(0, 0.02); the generator initialises itself
                if isinstance(m, (nn.Linear, nn.Embedding)):
                    nn.init.normal_(m.weight, 0.0, 0.02)
            dh = d // c["heads"]
            inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, dh, 2, dtype=torch.float32) / dh))
            ang = torch.outer(torch.arange(seq, dtype=torch.float32), inv)
            self.register_buffer("cos", torch.cat((ang.cos(), ang.cos()), -1), persistent=False)
            self.register_buffer("sin", torch.cat((ang.sin(), ang.sin()), -1), persistent=False)

        def forward(self, ids, targets):
            x = self.embed(ids)
            for layer in self.layers:
                x = layer(x, self.cos, self.sin)
            logits = self.lm_head(self.norm(x))
            return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.view(-1))

    return Generator, Llama


def bench_generator(torch, device, cfg):
    Generator, _ = build_modules(torch)
    torch.manual_seed(1)
    gen = Generator(cfg).to(device)
    ids = zipf_ids(torch, cfg["tokens"], cfg["vocab"], 1.1, 7).to(device)
    d_out = torch.randn(cfg["tokens"], cfg["d_model"], device=device)

    def fwd_bwd():
        gen.zero_grad(set_to_none=False)
        gen(ids).backward(d_out)

    ms = measure(torch, device, fwd_bwd, samples=5)
    distinct = int(torch.unique(ids).numel())
    row = {"impl": "torch", "bench": "generator", "device": device, "model": cfg.get("model", "?")}
    row.update({k: cfg[k] for k in MODEL_KEYS + GENERATOR_KEYS})
    row.update({"tokens": cfg["tokens"], "distinct": distinct, "fwd_bwd_ms": ms})
    return row


def bench_step(torch, device, cfg, steps):
    _, Llama = build_modules(torch)
    leviathan = cfg["family"] == "leviathan"
    batch, seq = cfg["batch"], cfg["seq"]
    torch.manual_seed(1)
    model = Llama(cfg, leviathan, seq).to(device)
    decay = [p for n, p in model.named_parameters() if decayed(n)]
    no_decay = [p for n, p in model.named_parameters() if not decayed(n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=3e-4, betas=(0.9, 0.95), eps=1e-8)
    stream = zipf_ids(torch, batch * seq + 1, cfg["vocab"], 1.1, 3).to(device)
    ids, targets = stream[:-1].view(batch, seq), stream[1:].view(batch, seq)
    autocast = torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=cfg.get("precision") == "bf16")
    losses = []

    def step():
        opt.zero_grad(set_to_none=True)
        with autocast:
            loss = model(ids, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())  # reads the loss back, as our step reads loss and norm once

    for _ in range(2):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    ms = statistics.median(times)
    tokens = batch * seq
    params = sum(p.numel() for p in model.parameters())
    row = {"impl": "torch", "bench": "step", "device": device, "family": cfg["family"], "model": cfg.get("model", "?")}
    row.update({k: cfg[k] for k in MODEL_KEYS})
    row.update({"batch": batch, "seq": seq, "precision": cfg.get("precision", "bf16"), "params": params, "ms": ms,
                "tokens_per_s": tokens / (ms * 1e-3),
                "mfu": flops_per_token(cfg, seq) * tokens / (ms * 1e-3) / H200_BF16_PEAK,
                "first_loss": losses[0], "last_loss": losses[-1]})
    del model, opt
    if device == "cuda":
        torch.cuda.empty_cache()
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--like", help="our figures (JSON lines) whose shapes to measure")
    ap.add_argument("--only", default="gemm,attention,generator,step")
    ap.add_argument("--steps", type=int, default=6, help="timed training steps per model (after 2 untimed)")
    ap.add_argument("--quick", action="store_true", help="tiny shapes: checks the program, not the hardware")
    args = ap.parse_args(argv)
    only = args.only.split(",")
    for o in only:
        if o not in ("gemm", "attention", "generator", "step"):
            ap.error(f"--only: unknown benchmark '{o}'; valid: gemm, attention, generator, step")
    ours = read_figures(args.like) if args.like else []
    p = plan(args, ours)
    try:
        import torch
    except ImportError as e:
        print(f"torch_peer: PyTorch is not importable here ({e})", file=sys.stderr)
        return 2
    if args.device == "cuda" and not torch.cuda.is_available():
        print("torch_peer: torch.cuda.is_available() is False", file=sys.stderr)
        return 2
    print(f"torch_peer: torch {torch.__version__}, device {args.device}"
          + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else ""), file=sys.stderr)
    failed = 0
    jobs = []
    if "gemm" in only:
        jobs += [(bench_gemm, (dt, m, k, n)) for (dt, m, k, n) in p["gemm"]]
        if not any(dt == "tf32" for dt, *_ in p["gemm"]):  # ours times tf32 in a second run: match it
            jobs += [(bench_gemm, ("tf32", m, k, n)) for (dt, m, k, n) in p["gemm"] if dt == "f32"]
    if "attention" in only:
        jobs += [(bench_attention, a) for a in p["attention"]]
    if "generator" in only:
        jobs += [(bench_generator, (c,)) for c in p["generator"]]
    if "step" in only:
        jobs += [(bench_step, (c, args.steps)) for c in p["step"]]
    for fn, a in jobs:
        try:
            print(json.dumps(fn(torch, args.device, *a)), flush=True)
        except Exception as e:  # one failing figure must not hide the others
            failed += 1
            print(f"torch_peer: {fn.__name__}{a if fn is not bench_step else (a[0]['family'],)} failed: "
                  f"{type(e).__name__}: {e}", file=sys.stderr, flush=True)
            if args.device == "cuda":
                torch.cuda.empty_cache()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
