package io.leviathan.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.leviathan.backend.Backend;
import io.leviathan.backend.cpu.CpuBackend;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.NativeMemory;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The generator against a double-precision transcription of docs/leviathan.md: forward on random weights,
 * every parameter's gradient against central finite differences of that transcription, de-duplication
 * against per-position computation, padding to a bucket against no padding, and the materialised table
 * against forward rows. Every test runs on the plain CPU backend and on the strict one, whose tensors refuse
 * access from Java: the generator moves data only through the backend, and the tests read results only by
 * downloading them.
 */
class LeviathanGeneratorTest {

    static final int V = 30;
    static final int D = 6;

    static ModelConfig config(boolean shared, boolean normalize) {
        GeneratorConfig g = new GeneratorConfig(3, 4, 2, 5, 3, shared, normalize, 1e-5f);
        return new ModelConfig(Family.DENSE, V, D, 1, 1, 8, 1e-5f, 10000f, 8, false, null).asLeviathan(g);
    }

    /** The backends every test runs on: the plain CPU backend and the strict one (no host access). */
    static List<Backend> backends() {
        return List.of(new CpuBackend(2), CpuBackend.strict(2));
    }

    /** Random, non-trivial weights: LayerNorm scale and shift perturbed so that nothing is an identity. */
    static void randomize(Backend be, ParameterStore store, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (Parameter p : store.all()) {
            float[] v = new float[(int) p.value().numel()];
            for (int i = 0; i < v.length; i++) {
                double x = r.nextDouble() * 2 - 1;
                v[i] = (float) switch (p.name()) {
                    case "model.generator.ln_weight", "model.generator.spline" -> 1 + 0.3 * x;
                    case "model.generator.out_proj" -> 0.5 * x;
                    default -> x;
                };
            }
            be.upload(v, p.value());
        }
    }

    /** A new I32 tensor holding {@code ids}, uploaded through the backend. */
    static Tensor ids(Backend be, TensorArena arena, int... ids) {
        Tensor t = arena.allocate(DType.I32, ids.length);
        be.upload(ids, t);
        return t;
    }

    /** A new F32 tensor holding {@code values}, uploaded through the backend. */
    static Tensor floats(Backend be, TensorArena arena, float[] values, long... shape) {
        Tensor t = arena.allocate(DType.F32, shape);
        be.upload(values, t);
        return t;
    }

    static final int[] IDS = {7, 29, 0, 7, 13, 29, 29, 5, 18, 7};

    @Test
    void forwardAndEveryParameterGradientMatchTheDoubleReference() {
        for (Backend be : backends()) {
            try (be) {
                for (boolean shared : new boolean[] {false, true}) {
                    for (boolean normalize : new boolean[] {true, false}) {
                        // the ids from the host on one pass, downloaded by the generator on the other
                        checkAgainstReference(be, config(shared, normalize), shared ? IDS : null,
                                be.name() + " shared=" + shared + " normalize=" + normalize);
                    }
                }
            }
        }
    }

    private void checkAgainstReference(Backend be, ModelConfig cfg, int[] hostIds, String label) {
        long baseline = NativeMemory.allocatedBytes();
        try (TensorArena arena = be.newArena()) {
            ParameterStore store = new ParameterStore(arena);
            LeviathanGenerator gen = new LeviathanGenerator(be, arena, store, cfg, IDS.length, true, true);
            randomize(be, store, 42);
            Tensor ids = ids(be, arena, IDS);
            Tensor out = arena.allocate(DType.F32, IDS.length, D);
            gen.forward(ids, hostIds, out);
            assertEquals(6, gen.lastUniqueCount(), "distinct ids in the batch");
            assertEquals(IDS.length, gen.lastBucket(), "6 distinct ids pad to 16 rows, capped at maxTokens");

            List<Parameter> params = store.all();
            double[] flat = flatten(be, params);
            ReferenceGenerator ref = new ReferenceGenerator(cfg, params);
            double[] expected = ref.forward(flat, IDS);
            assertClose(label + " forward", expected, be.downloadFloats(out), 2e-5);

            float[] r = randomArray(IDS.length * D, 3);
            Tensor dOut = floats(be, arena, r, IDS.length, D);
            store.zeroGrads(be);
            gen.backward(dOut, ids);

            double[] numeric = numericGradient(x -> ref.forward(x, IDS), flat, toDouble(r));
            int offset = 0;
            for (Parameter p : params) {
                int n = (int) p.value().numel();
                double[] expect = new double[n];
                System.arraycopy(numeric, offset, expect, 0, n);
                assertClose(label + " grad " + p.name(), expect, be.downloadFloats(p.grad()), 1e-4);
                offset += n;
            }
        }
        assertEquals(baseline, NativeMemory.allocatedBytes());
    }

    @Test
    void deduplicationEqualsPerPositionComputation() {
        ModelConfig cfg = config(false, true);
        for (Backend be : backends()) {
            try (be; TensorArena arena = be.newArena()) {
                ParameterStore a = new ParameterStore(arena);
                ParameterStore b = new ParameterStore(arena);
                LeviathanGenerator withDedup = new LeviathanGenerator(be, arena, a, cfg, IDS.length, true);
                LeviathanGenerator perPosition = new LeviathanGenerator(be, arena, b, cfg, IDS.length, false);
                randomize(be, a, 9);
                randomize(be, b, 9);
                Tensor ids = ids(be, arena, IDS);
                Tensor outA = arena.allocate(DType.F32, IDS.length, D);
                Tensor outB = arena.allocate(DType.F32, IDS.length, D);
                withDedup.forward(ids, IDS, outA);
                perPosition.forward(ids, null, outB);
                assertEquals(6, withDedup.lastUniqueCount());
                assertEquals(IDS.length, perPosition.lastUniqueCount());
                assertClose(be.name() + " dedup forward", toDouble(be.downloadFloats(outB)), be.downloadFloats(outA), 1e-6);

                Tensor dOut = floats(be, arena, randomArray(IDS.length * D, 5), IDS.length, D);
                a.zeroGrads(be);
                b.zeroGrads(be);
                withDedup.backward(dOut, ids);
                perPosition.backward(dOut, ids);
                for (int i = 0; i < a.all().size(); i++) {
                    assertClose(be.name() + " dedup grad " + a.all().get(i).name(),
                            toDouble(be.downloadFloats(b.all().get(i).grad())),
                            be.downloadFloats(a.all().get(i).grad()), 1e-5);
                }
            }
        }
    }

    /**
     * De-duplication keeps no state between calls: after a batch with ids at both ends of the vocabulary, a
     * second batch gives the rows a fresh generator gives it, bit for bit.
     */
    @Test
    void deduplicationForgetsTheLastBatch() {
        ModelConfig cfg = config(false, true);
        int[] first = {0, V - 1, 5, 5, 1, 0, 17};
        int[] second = {3, 17, 3, 28};
        for (Backend be : backends()) {
            try (be; TensorArena arena = be.newArena()) {
                ParameterStore a = new ParameterStore(arena);
                ParameterStore b = new ParameterStore(arena);
                LeviathanGenerator used = new LeviathanGenerator(be, arena, a, cfg, first.length, true, false);
                LeviathanGenerator fresh = new LeviathanGenerator(be, arena, b, cfg, first.length, true, false);
                randomize(be, a, 4);
                randomize(be, b, 4);
                used.forward(ids(be, arena, first), first, arena.allocate(DType.F32, first.length, D));
                assertEquals(5, used.lastUniqueCount());
                Tensor outA = arena.allocate(DType.F32, second.length, D);
                Tensor outB = arena.allocate(DType.F32, second.length, D);
                used.forward(ids(be, arena, second), second, outA);
                fresh.forward(ids(be, arena, second), second, outB);
                assertEquals(3, used.lastUniqueCount());
                assertArrayEquals(be.downloadFloats(outB), be.downloadFloats(outA), be.name());
            }
        }
    }

    @Test
    void paddingToTheBucketChangesNoResultBit() {
        // 300 positions over 150 ids (each twice): 150 distinct pad to 160 rows; without de-duplication the
        // 300 positions pad to 320.
        ModelConfig cfg = new ModelConfig(Family.DENSE, 1000, D, 1, 1, 8, 1e-5f, 10000f, 8, false, null)
                .asLeviathan(new GeneratorConfig(3, 4, 2, 5, 3, false, true, 1e-5f));
        int[] batch = new int[300];
        SplittableRandom rnd = new SplittableRandom(17);
        for (int i = 0; i < 150; i++) {
            batch[i] = batch[299 - i] = 6 * i + rnd.nextInt(6);
        }
        for (boolean dedup : new boolean[] {true, false}) {
            for (Backend be : backends()) {
                try (be; TensorArena arena = be.newArena()) {
                    ParameterStore a = new ParameterStore(arena);
                    ParameterStore b = new ParameterStore(arena);
                    LeviathanGenerator padded = new LeviathanGenerator(be, arena, a, cfg, 400, dedup, true);
                    LeviathanGenerator unpadded = new LeviathanGenerator(be, arena, b, cfg, 400, dedup, false);
                    String what = be.name() + " dedup=" + dedup;
                    assertSameResults(be, arena, padded, a, unpadded, b, batch, 11, what);
                    assertEquals(dedup ? 150 : 300, padded.lastUniqueCount(), what);
                    assertEquals(dedup ? 160 : 320, padded.lastBucket(), what + " padded rows");
                    assertEquals(dedup ? 150 : 300, unpadded.lastBucket(), what + " unpadded rows");
                }
            }
        }
    }

    /**
     * Two generators of one configuration, given the same random weights (from {@code seed}), give the same
     * embeddings for {@code batch} and, from the same random output gradient, the same parameter gradients, bit
     * for bit, none of them all zero.
     */
    private static void assertSameResults(Backend be, TensorArena arena, LeviathanGenerator genA, ParameterStore a,
                                          LeviathanGenerator genB, ParameterStore b, int[] batch, long seed,
                                          String what) {
        randomize(be, a, seed);
        randomize(be, b, seed);
        Tensor ids = ids(be, arena, batch);
        Tensor outA = arena.allocate(DType.F32, batch.length, D);
        Tensor outB = arena.allocate(DType.F32, batch.length, D);
        genA.forward(ids, batch, outA);
        genB.forward(ids, batch, outB);
        assertArrayEquals(be.downloadFloats(outB), be.downloadFloats(outA), what + " embeddings");

        Tensor dOut = floats(be, arena, randomArray(batch.length * D, seed + 1), batch.length, D);
        a.zeroGrads(be);
        b.zeroGrads(be);
        genA.backward(dOut, ids);
        genB.backward(dOut, ids);
        for (int i = 0; i < a.all().size(); i++) {
            float[] ga = be.downloadFloats(a.all().get(i).grad());
            assertArrayEquals(be.downloadFloats(b.all().get(i).grad()), ga, what + " grad " + a.all().get(i).name());
            assertTrue(maxAbs(ga) > 0, what + " grad " + a.all().get(i).name() + " is not all zero");
        }
    }

    @Test
    void fusingTheBasisIntoTheModesChangesNoResultBit() {
        // rank 16 takes the CPU's fused fast path, rank 3 its general path; 200 positions over about 120 ids
        int[] batch = new int[200];
        SplittableRandom rnd = new SplittableRandom(23);
        for (int i = 0; i < batch.length; i++) {
            batch[i] = rnd.nextInt(120) * 7 % 1000;
        }
        for (int rank : new int[] {16, 3}) {
            for (boolean normalize : new boolean[] {true, false}) {
                ModelConfig cfg = new ModelConfig(Family.DENSE, 1000, D, 1, 1, 8, 1e-5f, 10000f, 8, false, null)
                        .asLeviathan(new GeneratorConfig(3, 20, 2, 6, rank, false, normalize, 1e-5f));
                for (Backend be : backends()) {
                    try (be; TensorArena arena = be.newArena()) {
                        assertTrue(be.fusesSplineBasis(), be.name());
                        ParameterStore a = new ParameterStore(arena);
                        ParameterStore b = new ParameterStore(arena);
                        LeviathanGenerator fused = new LeviathanGenerator(be, arena, a, cfg, 256, true, false, true);
                        LeviathanGenerator twoOps = new LeviathanGenerator(be, arena, b, cfg, 256, true, false, false);
                        assertSameResults(be, arena, fused, a, twoOps, b, batch, 5,
                                be.name() + " rank=" + rank + " normalize=" + normalize);
                    }
                }
            }
        }
    }

    @Test
    void theCpuBackendComputesTheDistinctIdsUnpadded() {
        ModelConfig cfg = new ModelConfig(Family.DENSE, 1000, D, 1, 1, 8, 1e-5f, 10000f, 8, false, null)
                .asLeviathan(new GeneratorConfig(3, 4, 2, 5, 3, false, true, 1e-5f));
        int[] batch = {5, 17, 5, 999, 17, 0, 42};
        for (Backend be : backends()) {
            try (be; TensorArena arena = be.newArena()) {
                LeviathanGenerator gen = new LeviathanGenerator(be, arena, new ParameterStore(arena), cfg, 64);
                gen.forward(ids(be, arena, batch), batch, arena.allocate(DType.F32, batch.length, D));
                assertEquals(5, gen.lastUniqueCount(), be.name());
                assertEquals(5, gen.lastBucket(), be.name() + ": rows computed");
            }
        }
    }

    @Test
    void bucketsWasteLittleAndRepeat() {
        int maxTokens = 8192;
        int previous = 0;
        java.util.Set<Integer> distinct = new java.util.TreeSet<>();
        for (int nu = 1; nu <= 4096; nu++) {
            int nb = LeviathanGenerator.bucket(nu, maxTokens);
            assertTrue(nb >= nu && nb >= previous, "bucket(" + nu + ") = " + nb + " after " + previous);
            assertTrue(nb - nu < Math.max(16, nu / 8.0), "bucket(" + nu + ") = " + nb + " wastes too much");
            distinct.add(nb);
            previous = nb;
        }
        // 16, 32, ..., 256 (step 16), then 8 more buckets per doubling up to 4096
        assertEquals(16 + 4 * 8, distinct.size(), "bucket sizes " + distinct);
        assertEquals(16, LeviathanGenerator.bucket(1, maxTokens));
        assertEquals(1024, LeviathanGenerator.bucket(1000, maxTokens));
        assertEquals(1152, LeviathanGenerator.bucket(1025, maxTokens));
        assertEquals(10, LeviathanGenerator.bucket(6, 10), "capped at maxTokens");
        assertThrows(IllegalArgumentException.class, () -> LeviathanGenerator.bucket(11, 10));

        // Batches of text-like ids (Zipf over 5000 ids) land in a few buckets, so shapes repeat step after step.
        ModelConfig cfg = new ModelConfig(Family.DENSE, 5000, D, 1, 1, 8, 1e-5f, 10000f, 8, false, null)
                .asLeviathan(new GeneratorConfig(3, 4, 2, 5, 3, false, true, 1e-5f));
        for (Backend be : backends()) {
            try (be; TensorArena arena = be.newArena()) {
                LeviathanGenerator gen = new LeviathanGenerator(be, arena, new ParameterStore(arena), cfg, 512, true, true);
                gen.initialize(5);
                Tensor ids = arena.allocate(DType.I32, 512);
                Tensor out = arena.allocate(DType.F32, 512, D);
                java.util.Set<Integer> buckets = new java.util.TreeSet<>();
                java.util.Set<Integer> uniques = new java.util.TreeSet<>();
                for (int step = 0; step < 12; step++) {
                    int[] batch = zipfIds(512, 5000, 1.1, 100 + step);
                    be.upload(batch, ids);
                    gen.forward(ids, step % 2 == 0 ? batch : null, out);
                    assertEquals(LeviathanGenerator.bucket(gen.lastUniqueCount(), 512), gen.lastBucket());
                    buckets.add(gen.lastBucket());
                    uniques.add(gen.lastUniqueCount());
                }
                // about 220 distinct ids per batch, spread over some 25 values, fall into at most 3 buckets of 16
                assertTrue(uniques.size() >= 8, "the batches differ: " + uniques);
                assertTrue(buckets.size() <= 3, be.name() + ": distinct counts " + uniques + " gave buckets " + buckets);
            }
        }
    }

    @Test
    void materializedTableRowsEqualGeneratorOutput() {
        ModelConfig cfg = config(false, true);
        for (Backend be : backends()) {
            try (be; TensorArena arena = be.newArena()) {
                ParameterStore store = new ParameterStore(arena);
                LeviathanGenerator gen = new LeviathanGenerator(be, arena, store, cfg, 7); // V not a multiple of 7
                gen.initialize(1234);
                Tensor table = arena.allocate(DType.F32, V, D);
                gen.materialize(table);
                int[] some = {29, 3, 3, 17};
                Tensor out = arena.allocate(DType.F32, some.length, D);
                gen.forward(ids(be, arena, some), null, out);
                float[] rows = be.downloadFloats(out);
                float[] t = be.downloadFloats(table);
                for (int i = 0; i < some.length; i++) {
                    for (int c = 0; c < D; c++) {
                        assertEquals(t[some[i] * D + c], rows[i * D + c], 0f, be.name() + " row " + some[i]);
                    }
                }
                // Different ids give different rows.
                assertTrue(t[0] != t[D] || t[1] != t[D + 1]);
            }
        }
    }

    @Test
    void initializationIsDeterministicBitForBit() {
        ModelConfig cfg = config(false, true);
        try (Backend be = CpuBackend.strict(1); TensorArena arena = be.newArena()) {
            ParameterStore a = new ParameterStore(arena);
            ParameterStore b = new ParameterStore(arena);
            ParameterStore c = new ParameterStore(arena);
            new LeviathanGenerator(be, arena, a, cfg, 4).initialize(77);
            new LeviathanGenerator(be, arena, b, cfg, 4).initialize(77);
            new LeviathanGenerator(be, arena, c, cfg, 4).initialize(78);
            boolean anyDiff = false;
            for (int i = 0; i < a.all().size(); i++) {
                float[] va = be.downloadFloats(a.all().get(i).value());
                assertArrayEquals(va, be.downloadFloats(b.all().get(i).value()));
                anyDiff |= !Arrays.equals(va, be.downloadFloats(c.all().get(i).value()));
            }
            assertTrue(anyDiff, "another seed must give other weights");
        }
    }

    @Test
    void badIdsAreRejectedWithPositionAndVocabulary() {
        ModelConfig cfg = config(false, true);
        for (Backend be : backends()) {
            try (be; TensorArena arena = be.newArena()) {
                LeviathanGenerator gen = new LeviathanGenerator(be, arena, new ParameterStore(arena), cfg, 4);
                Tensor out = arena.allocate(DType.F32, 3, D);
                int[] bad = {1, 30, 2};
                for (int[] hostIds : new int[][] {bad, null}) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> gen.forward(ids(be, arena, bad), hostIds, out));
                    assertTrue(e.getMessage().contains("30") && e.getMessage().contains("position 1")
                            && e.getMessage().contains("[0, 30)"), e.getMessage());
                }
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> gen.forward(ids(be, arena, 1, 2, 3), new int[] {1, 2}, out));
                assertTrue(e.getMessage().contains("hostIds"), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> gen.forward(ids(be, arena, 1, 2, 3, 4, 5), null,
                        arena.allocate(DType.F32, 5, D)));
            }
        }
    }

    // ---------------------------------------------------------------------------- double reference

    /** docs/leviathan.md steps 1-7 in double precision, dense basis, modes by sign * exp(sum log). */
    static final class ReferenceGenerator {
        final int k, base, dSeed, h, kappa, rank, books;
        final boolean shared, normalize;
        final double eps;
        final int oCodebooks, oSeed, oLnW, oLnB, oSpline, oOut;

        ReferenceGenerator(ModelConfig cfg, List<Parameter> params) {
            GeneratorConfig g = cfg.generator();
            k = g.digits();
            base = g.base(cfg.vocab());
            dSeed = g.seedDim();
            h = g.heads();
            kappa = g.knots();
            rank = g.rank();
            shared = g.sharedCodebook();
            books = g.codebooks();
            normalize = g.normalizeBasis();
            eps = g.lnEps();
            int[] offs = new int[params.size()];
            int o = 0;
            for (int i = 0; i < params.size(); i++) {
                offs[i] = o;
                o += (int) params.get(i).value().numel();
            }
            oCodebooks = offs[0];
            oSeed = offs[1];
            oLnW = offs[2];
            oLnB = offs[3];
            oSpline = offs[4];
            oOut = offs[5];
        }

        double[] forward(double[] p, int[] ids) {
            double[] e = new double[ids.length * D];
            for (int n = 0; n < ids.length; n++) {
                int[] dig = new int[k];
                int id = ids[n];
                for (int r = k - 1; r >= 0; r--) {
                    dig[r] = id % base;
                    id /= base;
                }
                double[] z = new double[dSeed];
                for (int r = 0; r < k; r++) {
                    int book = shared ? 0 : r;
                    for (int i = 0; i < dSeed; i++) {
                        z[i] += p[oCodebooks + (book * base + dig[r]) * dSeed + i];
                    }
                }
                for (int l = 0; l < h; l++) {
                    double[] u = new double[dSeed];
                    for (int o = 0; o < dSeed; o++) {
                        for (int i = 0; i < dSeed; i++) {
                            u[o] += p[oSeed + (l * dSeed + o) * dSeed + i] * z[i];
                        }
                    }
                    double mean = 0;
                    for (double v : u) {
                        mean += v / dSeed;
                    }
                    double var = 0;
                    for (double v : u) {
                        var += (v - mean) * (v - mean) / dSeed;
                    }
                    double[] t = new double[dSeed];
                    for (int i = 0; i < dSeed; i++) {
                        double ln = (u[i] - mean) / Math.sqrt(var + eps) * p[oLnW + l * dSeed + i] + p[oLnB + l * dSeed + i];
                        t[i] = 1 / (1 + Math.exp(-ln / 2));
                    }
                    double[] logSum = new double[rank];
                    int[] negatives = new int[rank];
                    for (int i = 0; i < dSeed; i++) {
                        double[] basis = new double[kappa];
                        double sum = 0;
                        for (int j = 0; j < kappa; j++) {
                            double dist = Math.abs(t[i] - (double) j / (kappa - 1)) * (kappa - 1);
                            basis[j] = dist < 0.5 ? 0.75 - dist * dist : dist < 1.5 ? 0.5 * (1.5 - dist) * (1.5 - dist) : 0;
                            sum += basis[j];
                        }
                        for (int r = 0; r < rank; r++) {
                            double phi = 0;
                            for (int j = 0; j < kappa; j++) {
                                double b = normalize ? basis[j] / sum : basis[j];
                                phi += b * p[oSpline + ((l * dSeed + i) * kappa + j) * rank + r];
                            }
                            logSum[r] += Math.log(Math.abs(phi) + 1e-9);
                            negatives[r] += phi < 0 ? 1 : 0;
                        }
                    }
                    for (int r = 0; r < rank; r++) {
                        double m = (negatives[r] % 2 == 0 ? 1 : -1) * Math.exp(logSum[r]);
                        for (int c = 0; c < D; c++) {
                            e[n * D + c] += m * p[oOut + (l * rank + r) * D + c];
                        }
                    }
                }
            }
            return e;
        }
    }

    // ---------------------------------------------------------------------------- helpers

    static double[] numericGradient(Function<double[], double[]> f, double[] x, double[] r) {
        double[] g = new double[x.length];
        double[] xp = x.clone();
        double h = 1e-6;
        for (int i = 0; i < x.length; i++) {
            double orig = xp[i];
            xp[i] = orig + h;
            double lp = dot(f.apply(xp), r);
            xp[i] = orig - h;
            double lm = dot(f.apply(xp), r);
            xp[i] = orig;
            g[i] = (lp - lm) / (2 * h);
        }
        return g;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    static double[] flatten(Backend be, List<Parameter> params) {
        int n = 0;
        for (Parameter p : params) {
            n += (int) p.value().numel();
        }
        double[] flat = new double[n];
        int o = 0;
        for (Parameter p : params) {
            for (float v : be.downloadFloats(p.value())) {
                flat[o++] = v;
            }
        }
        return flat;
    }

    static double maxAbs(float[] x) {
        double m = 0;
        for (float v : x) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /** {@code n} ids with P(rank r) proportional to 1 / r^s over {@code vocab} ranks, ranks shuffled onto ids. */
    static int[] zipfIds(int n, int vocab, double s, long seed) {
        double[] cdf = new double[vocab];
        double sum = 0;
        for (int r = 0; r < vocab; r++) {
            sum += 1.0 / Math.pow(r + 1, s);
            cdf[r] = sum;
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] perm = new int[vocab];
        for (int i = 0; i < vocab; i++) {
            perm[i] = i;
        }
        for (int i = vocab - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            double u = rnd.nextDouble() * sum;
            int lo = Arrays.binarySearch(cdf, u);
            ids[i] = perm[Math.min(vocab - 1, lo >= 0 ? lo : -lo - 1)];
        }
        return ids;
    }

    static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }

    static float[] randomArray(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return x;
    }

    static void assertClose(String what, double[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length, what + " length");
        double scale = 0;
        for (double v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        assertTrue(scale > 0, what + ": reference is all zeros");
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(actual[i] - expected[i]);
            if (!(err <= tol * scale)) {
                fail(String.format("%s: element %d is %.8g, expected %.8g (error %.3g of max %.3g)",
                        what, i, actual[i], expected[i], err / scale, scale));
            }
        }
    }
}
