"""Tests of the plain-Python parts of the GPU check (no torch needed): python3 -m unittest discover -s gpu"""
import io
import json
import os
import struct
import tempfile
import unittest
from contextlib import redirect_stdout

import compare
import torch_peer


class PeerConfigTest(unittest.TestCase):
    def test_ffn_hidden_matches_the_presets_table(self):
        # ModelConfig.llamaFfnHidden, and the ffn column of Presets' Javadoc table
        expected = {"tiny": 192, "small": 384, "medium": 704, "paper-60m": 384, "paper-110m": 704,
                    "paper-170m": 1024, "paper-240m": 1408, "paper-310m": 1728, "paper-420m": 2048}
        for name, ffn in expected.items():
            self.assertEqual(ffn, torch_peer.llama_ffn_hidden(torch_peer.PRESETS[name][0]), name)

    def test_generator_base_is_the_smallest_that_covers_the_vocabulary(self):
        for vocab, digits in [(200_019, 3), (1024, 3), (4096, 3), (2, 3), (1000, 3), (1001, 3), (65536, 2)]:
            b = torch_peer.generator_base(vocab, digits)
            self.assertGreaterEqual(b ** digits, vocab)
            self.assertTrue(b == 2 or (b - 1) ** digits < vocab, (vocab, digits, b))
        self.assertEqual(59, torch_peer.generator_base(200_019, 3))
        self.assertEqual(11, torch_peer.generator_base(1024, 3))  # the reference model's base 11
        with self.assertRaises(ValueError):
            torch_peer.generator_base(0, 3)

    def test_dense_parameter_count_matches_the_presets_table(self):
        # total = V D (table) + body + final norm + V D (head); the Javadoc table gives the totals at o200k
        totals = {"tiny": 25_709_248, "paper-110m": 108_836_608, "paper-420m": 420_500_736}
        for name, total in totals.items():
            c = torch_peer.model_config(name)
            d, layers, ffn, v = c["d_model"], c["layers"], c["ffn"], c["vocab"]
            body = layers * (4 * d * d + 3 * d * ffn + 2 * d)
            self.assertEqual(total, v * d + body + d + v * d, name)
            # flops: 6 x (everything but the table) + 12 L D T
            self.assertEqual(6.0 * (body + d + v * d) + 12.0 * layers * d * 1024, torch_peer.flops_per_token(c, 1024))

    def test_unknown_preset_lists_the_valid_ones(self):
        with self.assertRaises(ValueError) as e:
            torch_peer.model_config("huge")
        self.assertIn("paper-420m", str(e.exception))

    def test_plan_takes_our_shapes(self):
        ours = [
            {"impl": "leviathan", "bench": "gemm", "dtype": "bf16", "m": 7, "k": 5, "n": 3},
            {"impl": "leviathan", "bench": "attention", "dtype": "f32", "b": 1, "t": 9, "h": 2, "dh": 8},
            {"impl": "leviathan", "bench": "step", "family": "leviathan", "model": "x", "batch": 2, "seq": 16,
             "precision": "bf16", "vocab": 300, "d_model": 32, "layers": 1, "heads": 2, "ffn": 96,
             "norm_eps": 1e-5, "rope_theta": 1e4, "digits": 3, "base": 7, "shared_codebook": 0, "d_seed": 8,
             "gen_heads": 2, "knots": 5, "rank": 4, "normalize_basis": 1, "ln_eps": 1e-5},
            {"impl": "torch", "bench": "gemm", "dtype": "f32", "m": 1, "k": 1, "n": 1},  # not ours: ignored
        ]
        args = type("A", (), {"quick": False})()
        p = torch_peer.plan(args, ours)
        self.assertEqual([("bf16", 7, 5, 3)], p["gemm"])
        self.assertEqual([("f32", 1, 9, 2, 8)], p["attention"])
        self.assertEqual(1, len(p["step"]))
        s = p["step"][0]
        self.assertEqual(("leviathan", 2, 16, 300, 7, 5), (s["family"], s["batch"], s["seq"], s["vocab"], s["base"],
                                                           s["knots"]))
        # no generator row of ours: the default generator at the default shapes
        self.assertEqual(8 * 1024, p["generator"][0]["tokens"])
        self.assertEqual(59, p["generator"][0]["base"])

    def test_plan_defaults_equal_device_benchmarks_defaults(self):
        args = type("A", (), {"quick": False})()
        p = torch_peer.plan(args, [])
        self.assertEqual(15, len(p["gemm"]))  # f32, tf32, bf16 at five shapes
        self.assertEqual({("f32", 4, 2048, 16, 64), ("bf16", 4, 2048, 16, 64)}, set(p["attention"]))
        self.assertEqual(["dense", "leviathan"], [s["family"] for s in p["step"]])
        self.assertEqual((768, 16, 12, 2048, 200_019), tuple(p["step"][0][k] for k in
                                                            ("d_model", "layers", "heads", "ffn", "vocab")))

    def test_decay_follows_the_java_parameter_flags(self):
        for name in ("layers.0.q_proj.weight", "layers.3.down_proj.weight", "lm_head.weight", "embed.weight",
                     "embed.codebooks", "embed.seed_proj", "embed.out_proj"):
            self.assertTrue(torch_peer.decayed(name), name)
        for name in ("layers.0.input_layernorm.weight", "norm.weight", "embed.ln_weight", "embed.ln_bias",
                     "embed.spline"):
            self.assertFalse(torch_peer.decayed(name), name)

    def test_without_torch_the_peer_says_so(self):
        if load_torch() is not None:
            self.skipTest("torch is installed here")
        self.assertEqual(2, torch_peer.main(["--device", "cpu", "--quick"]))


class CompareTest(unittest.TestCase):
    def write(self, rows):
        f = tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False)
        for r in rows:
            f.write(json.dumps(r) + "\n")
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def test_losses_agree_within_tolerance(self):
        a = self.write([{"step": s, "loss": 7.0 - s * 0.01} for s in range(1, 21)] + [{"step": 20, "val_loss": 6.0}])
        b = self.write([{"step": s, "loss": (7.0 - s * 0.01) * 1.005} for s in range(1, 21)])
        with redirect_stdout(io.StringIO()) as out:
            self.assertEqual(0, compare.main(["losses", a, b, "--first", "10", "--rtol", "0.01"]))
        row = json.loads(out.getvalue().strip().splitlines()[-1])
        self.assertTrue(row["ok"])
        self.assertEqual(20, row["steps"])
        self.assertAlmostEqual(0.005 / 1.005, row["worst_first"], places=6)

    def test_losses_that_drift_fail(self):
        a = self.write([{"step": s, "loss": 7.0} for s in range(1, 11)])
        b = self.write([{"step": s, "loss": 7.0 if s != 4 else 7.5} for s in range(1, 11)])
        with redirect_stdout(io.StringIO()):
            self.assertEqual(1, compare.main(["losses", a, b, "--first", "10", "--rtol", "0.02"]))

    def test_a_nan_loss_never_agrees(self):
        ok, head, _, _ = compare.agreement({1: float("nan")}, {1: 7.0}, 10, 0.5)
        self.assertFalse(ok)
        self.assertEqual(float("inf"), head)

    def test_empty_runs_fail(self):
        a = self.write([])
        b = self.write([{"step": 1, "loss": 7.0}])
        with redirect_stdout(io.StringIO()):
            self.assertEqual(1, compare.main(["losses", a, b]))

    def test_ratios_pair_figures_at_the_same_shape(self):
        rows = [
            {"impl": "leviathan", "bench": "gemm", "dtype": "bf16", "m": 8, "k": 4, "n": 2, "tflops": 450.0},
            {"impl": "torch", "bench": "gemm", "dtype": "bf16", "m": 8, "k": 4, "n": 2, "tflops": 500.0},
            {"impl": "torch", "bench": "gemm", "dtype": "bf16", "m": 9, "k": 4, "n": 2, "tflops": 1.0},
            {"impl": "leviathan", "bench": "step", "family": "dense", "model": "m", "batch": 2, "seq": 8,
             "vocab": 10, "tokens_per_s": 300.0, "mfu": 0.3, "ms": 10.0},
            {"impl": "torch", "bench": "step", "family": "dense", "model": "m", "batch": 2, "seq": 8, "vocab": 10,
             "tokens_per_s": 200.0, "mfu": 0.2, "ms": 15.0},
            {"impl": "leviathan", "bench": "step", "family": "leviathan", "model": "m", "batch": 2, "seq": 8,
             "vocab": 10, "tokens_per_s": 250.0, "mfu": 0.25, "ms": 12.0},
            {"impl": "leviathan", "bench": "generator", "tokens": 16, "distinct": 5, "vocab": 10,
             "fwd_bwd_ms": 0.48},
        ]
        lines = {what: (ours, theirs, ratio) for what, ours, theirs, ratio, _ in compare.ratios(rows)}
        self.assertAlmostEqual(0.9, lines["gemm bf16 8x4x2 TFLOP/s"][2])
        self.assertAlmostEqual(1.5, lines["step dense m tokens/s"][2])
        self.assertIsNone(lines["step leviathan m tokens/s"][1])  # no torch figure: no ratio
        self.assertAlmostEqual(0.04, lines["generator share of the Leviathan step (leviathan)"][0])
        self.assertAlmostEqual(1.2, lines["Leviathan step / dense step time (leviathan)"][0])

    def test_cudnn_attention_rows_have_their_own_lines_and_targets(self):
        shape = {"dtype": "bf16", "b": 4, "t": 2048, "h": 16, "dh": 64}
        step = {"bench": "step", "family": "dense", "model": "m", "batch": 8, "seq": 1024, "vocab": 10}
        rows = [
            dict(shape, impl="leviathan", bench="attention", attention="native", fwd_bwd_ms=20.0),
            dict(shape, impl="leviathan", bench="attention", attention="cudnn", fwd_bwd_ms=5.0),
            dict(shape, impl="torch", bench="attention", fwd_bwd_ms=4.0),
            dict(step, impl="leviathan", attention="native", tokens_per_s=100.0, mfu=0.1, ms=80.0),
            dict(step, impl="leviathan", attention="cudnn", tokens_per_s=150.0, mfu=0.15, ms=55.0),
        ]
        lines = {what: (ours, ratio, target) for what, ours, _, ratio, target in compare.ratios(rows)}
        self.assertAlmostEqual(0.2, lines["attention native bf16 B4 T2048 H16 Dh64 fwd+bwd ms"][1])
        self.assertEqual((5.0, 0.8, ">= 0.9"), lines["attention cudnn bf16 B4 T2048 H16 Dh64 fwd+bwd ms"])
        self.assertIn("step dense m (cudnn attention) tokens/s", lines)
        self.assertEqual((1.5, None, "> 1"), lines["step dense seq 1024: cuDNN attention / our kernel tokens/s"])
        self.assertEqual(1, len(torch_peer.plan(type("A", (), {"quick": False})(), rows[:3])["attention"]),
                         "PyTorch measures a shape once")

    def test_table_marks_targets(self):
        steps = tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False)
        steps.write("probe\tok\t3\tcuda available\nabi\tFAIL(1)\t1\tmissing\n")
        steps.close()
        self.addCleanup(os.unlink, steps.name)
        figs = self.write([
            {"impl": "leviathan", "bench": "gemm", "dtype": "bf16", "m": 8, "k": 4, "n": 2, "tflops": 400.0},
            {"impl": "torch", "bench": "gemm", "dtype": "bf16", "m": 8, "k": 4, "n": 2, "tflops": 500.0},
        ])
        with redirect_stdout(io.StringIO()) as out:
            compare.main(["table", steps.name, figs])
        text = out.getvalue()
        self.assertIn("abi", text)
        self.assertIn("FAIL(1)", text)
        self.assertIn(">= 0.9 MISSED", text)


REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "reference")


def load_torch():
    """torch, with a plain causal attention standing in for scaled_dot_product_attention where the installed
    torch predates it (the peer itself runs on torch 2.x, which has it)."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    if not hasattr(F, "scaled_dot_product_attention"):
        def sdpa(q, k, v, is_causal=False):
            s = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
            if is_causal:
                t = q.shape[-2]
                s = s.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
            return torch.softmax(s.float(), dim=-1).to(q.dtype) @ v
        F.scaled_dot_product_attention = sdpa
    return torch


def read_safetensors(torch, path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    types = {"F32": torch.float32, "I32": torch.int32}
    out = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[8 + n + a:8 + n + b]), dtype=types[t["dtype"]]).reshape(t["shape"])
    return out, meta


@unittest.skipIf(load_torch() is None, "torch is not installed here")
class PeerModelTest(unittest.TestCase):
    """The peer's model against the reference state that our Java model is tested against: same function."""

    def check_family(self, family):
        torch = load_torch()
        path = os.path.join(REFERENCE, family + "_init.safetensors")
        if not os.path.exists(path):
            self.skipTest("no reference state at " + path)
        state, meta = read_safetensors(torch, path)
        c = json.loads(meta["config"])
        cfg = {"vocab": c["vocab"], "d_model": c["d_model"], "layers": c["n_layers"], "heads": c["n_heads"],
               "ffn": c["ffn"], "norm_eps": c["norm_eps"], "rope_theta": c["rope_theta"], "digits": c["k"],
               "base": c["base"], "shared_codebook": 0, "d_seed": c["d_seed"], "gen_heads": c["gen_heads"],
               "knots": c["knots"], "rank": c["rank"], "normalize_basis": 1, "ln_eps": 1e-5}
        _, Llama = torch_peer.build_modules(torch)
        model = Llama(cfg, family == "leviathan", 32)
        ours = {}
        for name, value in state.items():
            if name.startswith(("input_ids", "target_ids", "act.")):
                continue
            n = name.replace("model.embed_tokens.", "embed.").replace("model.generator.", "embed.")
            n = n.replace("model.", "").replace("self_attn.", "").replace("mlp.", "")
            ours[n] = value
        missing, unexpected = model.load_state_dict(ours, strict=False)
        self.assertEqual([], unexpected)
        self.assertEqual([], [m for m in missing if m not in ("cos", "sin")])
        ids = state["input_ids"].long()
        targets = state["target_ids"].long()
        with torch.no_grad():
            emb = model.embed(ids)
            ref = state["act.embed_out"]
            self.assertLess(float((emb - ref).abs().max() / ref.abs().max()), 1e-5)
            loss = float(model(ids, targets))
            x = emb
            for layer in model.layers:
                x = layer(x, model.cos, model.sin)
            hidden, ref = model.norm(x), state["act.final_hidden"]
            self.assertLess(float((hidden - ref).abs().max() / ref.abs().max()), 1e-5)
        self.assertAlmostEqual(float(meta["loss_initial"]), loss, delta=1e-5 * abs(loss))

    def test_dense_model_is_the_reference_model(self):
        self.check_family("dense")

    def test_leviathan_model_is_the_reference_model(self):
        self.check_family("leviathan")

    def test_quick_run_on_the_cpu(self):
        load_torch()
        with redirect_stdout(io.StringIO()) as out:
            rc = torch_peer.main(["--device", "cpu", "--quick", "--steps", "1"])
        rows = [json.loads(x) for x in out.getvalue().splitlines() if x.startswith("{")]
        self.assertEqual(0, rc)
        self.assertEqual({"gemm", "attention", "generator", "step"}, {r["bench"] for r in rows})
        for r in rows:
            for k in ("ms", "fwd_ms", "fwd_bwd_ms", "tokens_per_s"):
                if k in r:
                    self.assertGreater(r[k], 0, r)
        steps = [r for r in rows if r["bench"] == "step"]
        self.assertEqual(["dense", "leviathan"], [r["family"] for r in steps])
        for r in steps:  # a random-init model over a 4096-token vocabulary starts near ln 4096
            self.assertLess(abs(r["first_loss"] - 8.318), 0.5, r)


if __name__ == "__main__":
    unittest.main()
