package io.leviathan.cuda;

import static io.leviathan.cuda.Reference.CPU;
import static io.leviathan.cuda.Reference.assertClose;
import static io.leviathan.cuda.Reference.gaussian;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * RMSNorm and LayerNorm, forward and backward, against the CPU backend. Row sums are taken in a different
 * order (the CPU backend sums float lanes, then doubles), so the comparison allows a few roundings.
 */
class NormsHostTest {

    @ParameterizedTest
    @CsvSource({"1, 1", "3, 7", "17, 64", "40, 257", "6, 1000"})
    void rmsNorm(int rows, int cols) {
        Random rnd = new Random(rows * 1000L + cols);
        float[] x = gaussian(rnd, rows * cols, 2f), w = gaussian(rnd, cols, 1f), g = gaussian(rnd, rows * cols, 1f);
        float[] dx0 = gaussian(rnd, rows * cols, 0.1f), dw0 = gaussian(rnd, cols, 0.1f);
        float eps = 1e-5f;
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena()) {
            Tensor tx = arena.of(x, rows, cols), tw = arena.of(w, cols);
            Tensor out = arena.allocate(DType.F32, rows, cols), rstd = arena.allocate(DType.F32, rows);
            CPU.rmsNorm(tx, tw, eps, out, rstd);
            MemorySegment ho = mem.floats(new float[rows * cols]), hr = mem.floats(new float[rows]);
            MemorySegment sx = mem.floats(x), sw = mem.floats(w);
            assertEquals(0, HostKernels.call(HostKernels.RMSNORM_FORWARD, sx, sw, eps, ho, hr, (long) rows, (long) cols));
            assertClose("rmsNorm rstd", CPU.downloadFloats(rstd), HostMemory.toFloats(hr, rows), 2e-6, 0);
            assertClose("rmsNorm out", CPU.downloadFloats(out), HostMemory.toFloats(ho, rows * cols), 2e-6, 1e-7);

            Tensor tdx = arena.of(dx0, rows, cols), tdw = arena.of(dw0, cols);
            CPU.rmsNormBackward(arena.of(g, rows, cols), tx, tw, rstd, tdx, tdw);
            MemorySegment hdx = mem.floats(dx0), hdw = mem.floats(dw0);
            // The host backward reads the CPU's rstd, so only the backward's own arithmetic is compared.
            MemorySegment cpuRstd = mem.floats(CPU.downloadFloats(rstd));
            assertEquals(0, HostKernels.call(HostKernels.RMSNORM_BACKWARD, mem.floats(g), sx, sw, cpuRstd, hdx, hdw,
                    (long) rows, (long) cols));
            assertClose("rmsNormBackward dX", CPU.downloadFloats(tdx), HostMemory.toFloats(hdx, rows * cols), 1e-5, 1e-6);
            assertClose("rmsNormBackward dW", CPU.downloadFloats(tdw), HostMemory.toFloats(hdw, cols), 1e-5, 1e-6);
        }
    }

    /** groups = 1: weight [C] shared by every row; groups > 1: x [G, M, C] with weight and bias [G, C]. */
    @ParameterizedTest
    @CsvSource({"1, 1, 3", "1, 9, 33", "1, 50, 256", "3, 5, 7", "4, 17, 96"})
    void layerNorm(int groups, int rowsPerGroup, int cols) {
        Random rnd = new Random(groups * 7919L + rowsPerGroup * 31L + cols);
        int rows = groups * rowsPerGroup;
        float[] x = gaussian(rnd, rows * cols, 2f);
        for (int i = 0; i < x.length; i++) {
            x[i] += 0.7f; // a mean away from zero
        }
        float[] w = gaussian(rnd, groups * cols, 1f), b = gaussian(rnd, groups * cols, 1f);
        float[] g = gaussian(rnd, rows * cols, 1f);
        float[] dx0 = gaussian(rnd, rows * cols, 0.1f), dw0 = gaussian(rnd, groups * cols, 0.1f);
        float[] db0 = gaussian(rnd, groups * cols, 0.1f);
        float eps = 1e-5f;
        long[] xShape = groups == 1 ? new long[] {rows, cols} : new long[] {groups, rowsPerGroup, cols};
        long[] wShape = groups == 1 ? new long[] {cols} : new long[] {groups, cols};
        long[] rShape = groups == 1 ? new long[] {rows} : new long[] {groups, rowsPerGroup};
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena()) {
            Tensor tx = arena.of(x, xShape), tw = arena.of(w, wShape), tb = arena.of(b, wShape);
            Tensor out = arena.allocate(DType.F32, xShape);
            Tensor mean = arena.allocate(DType.F32, rShape), rstd = arena.allocate(DType.F32, rShape);
            CPU.layerNorm(tx, tw, tb, eps, out, mean, rstd);
            MemorySegment sx = mem.floats(x), sw = mem.floats(w), sb = mem.floats(b);
            MemorySegment ho = mem.floats(new float[rows * cols]);
            MemorySegment hm = mem.floats(new float[rows]), hr = mem.floats(new float[rows]);
            assertEquals(0, HostKernels.call(HostKernels.LAYERNORM_FORWARD, sx, sw, sb, eps, ho, hm, hr,
                    (long) groups, (long) rowsPerGroup, (long) cols));
            assertClose("layerNorm mean", CPU.downloadFloats(mean), HostMemory.toFloats(hm, rows), 1e-6, 1e-7);
            assertClose("layerNorm rstd", CPU.downloadFloats(rstd), HostMemory.toFloats(hr, rows), 2e-6, 0);
            assertClose("layerNorm out", CPU.downloadFloats(out), HostMemory.toFloats(ho, rows * cols), 2e-6, 1e-6);

            Tensor tdx = arena.of(dx0, xShape), tdw = arena.of(dw0, wShape), tdb = arena.of(db0, wShape);
            CPU.layerNormBackward(arena.of(g, xShape), tx, tw, mean, rstd, tdx, tdw, tdb);
            MemorySegment hdx = mem.floats(dx0), hdw = mem.floats(dw0), hdb = mem.floats(db0);
            MemorySegment cpuMean = mem.floats(CPU.downloadFloats(mean)), cpuRstd = mem.floats(CPU.downloadFloats(rstd));
            assertEquals(0, HostKernels.call(HostKernels.LAYERNORM_BACKWARD, mem.floats(g), sx, sw, cpuMean, cpuRstd,
                    hdx, hdw, hdb, (long) groups, (long) rowsPerGroup, (long) cols));
            assertClose("layerNormBackward dX", CPU.downloadFloats(tdx), HostMemory.toFloats(hdx, rows * cols), 1e-5, 1e-6);
            assertClose("layerNormBackward dW", CPU.downloadFloats(tdw), HostMemory.toFloats(hdw, groups * cols), 1e-5, 1e-6);
            assertClose("layerNormBackward dB", CPU.downloadFloats(tdb), HostMemory.toFloats(hdb, groups * cols), 1e-5, 1e-6);
        }
    }
}
