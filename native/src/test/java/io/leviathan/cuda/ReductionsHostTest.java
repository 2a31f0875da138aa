package io.leviathan.cuda;

import static io.leviathan.cuda.Reference.CPU;
import static io.leviathan.cuda.Reference.assertClose;
import static io.leviathan.cuda.Reference.assertSameBits;
import static io.leviathan.cuda.Reference.gaussian;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Row sums, whole-tensor sums and the gradient norm: host entry points against the CPU backend. */
class ReductionsHostTest {

    @ParameterizedTest
    @CsvSource({"1, 1", "3, 7", "17, 33", "64, 1000", "5, 4099"})
    void rowSumsAndMeans(int rows, int cols) {
        Random rnd = new Random(rows * 31L + cols);
        float[] x = gaussian(rnd, rows * cols, 1.5f);
        float[] g = gaussian(rnd, rows, 1f);
        float[] dx0 = gaussian(rnd, rows * cols, 1f);
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena()) {
            Tensor tx = arena.of(x, rows, cols);
            Tensor out = arena.allocate(DType.F32, rows);
            MemorySegment sx = mem.floats(x), ho = mem.floats(new float[rows]);

            assertEquals(0, HostKernels.call(HostKernels.ROW_SUM, sx, ho, (long) rows, (long) cols, 1f));
            CPU.sumLastDim(tx, out);
            assertClose("sumLastDim", CPU.downloadFloats(out), HostMemory.toFloats(ho, rows), 1e-6, 1e-7);

            assertEquals(0, HostKernels.call(HostKernels.ROW_SUM, sx, ho, (long) rows, (long) cols, 1f / cols));
            CPU.meanLastDim(tx, out);
            assertClose("meanLastDim", CPU.downloadFloats(out), HostMemory.toFloats(ho, rows), 1e-6, 1e-7);

            Tensor tg = arena.of(g, rows);
            MemorySegment sg = mem.floats(g);
            MemorySegment hdx = mem.floats(dx0);
            assertEquals(0, HostKernels.call(HostKernels.ROW_SUM_BACKWARD, sg, hdx, (long) rows, (long) cols, 1f));
            Tensor tdx = arena.of(dx0, rows, cols);
            CPU.sumLastDimBackward(tg, tdx);
            assertSameBits("sumLastDimBackward", CPU.downloadFloats(tdx), HostMemory.toFloats(hdx, rows * cols));

            // The mean's backward takes scale 1/C where the CPU divides by C: equal within a rounding.
            hdx = mem.floats(dx0);
            assertEquals(0, HostKernels.call(HostKernels.ROW_SUM_BACKWARD, sg, hdx, (long) rows, (long) cols, 1f / cols));
            tdx = arena.of(dx0, rows, cols);
            CPU.meanLastDimBackward(tg, tdx);
            assertClose("meanLastDimBackward", CPU.downloadFloats(tdx), HostMemory.toFloats(hdx, rows * cols), 1e-6, 1e-7);
        }
    }

    @ParameterizedTest
    @CsvSource({"1", "7", "1000", "20011", "70001"})
    void wholeTensorSumAndMean(int n) {
        float[] x = gaussian(new Random(n), n, 2f);
        for (int i = 0; i < n; i += 3) {
            x[i] += 0.25f; // a mean away from zero
        }
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena()) {
            Tensor tx = arena.of(x, n);
            Tensor out = arena.allocate(DType.F32, 1);
            MemorySegment sx = mem.floats(x), ho = mem.floats(new float[1]);

            assertEquals(0, HostKernels.call(HostKernels.REDUCE_SUM, sx, (long) n, 1.0, ho));
            CPU.sum(tx, out);
            assertClose("sum", CPU.downloadFloats(out), HostMemory.toFloats(ho, 1), 1e-6, 0);

            assertEquals(0, HostKernels.call(HostKernels.REDUCE_SUM, sx, (long) n, 1.0 / n, ho));
            CPU.mean(tx, out);
            assertClose("mean", CPU.downloadFloats(out), HostMemory.toFloats(ho, 1), 1e-6, 0);
        }
    }

    @Test
    void globalL2NormOverSeveralTensors() {
        Random rnd = new Random(77);
        int[] sizes = {1, 33, 4099, 20000, 7};
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena()) {
            MemorySegment acc = mem.doubles(0.0);
            Tensor[] tensors = new Tensor[sizes.length];
            for (int i = 0; i < sizes.length; i++) {
                float[] x = gaussian(rnd, sizes[i], 0.5f + i);
                tensors[i] = arena.of(x, sizes[i]);
                assertEquals(0, HostKernels.call(HostKernels.SUM_SQUARES, mem.floats(x), (long) sizes[i], acc));
            }
            MemorySegment norm = mem.floats(new float[1]);
            assertEquals(0, HostKernels.call(HostKernels.SQRT_TO_FLOAT, acc, norm));
            Tensor out = arena.allocate(DType.F32, 1);
            CPU.globalL2Norm(List.of(tensors), out);
            assertClose("globalL2Norm", CPU.downloadFloats(out), HostMemory.toFloats(norm, 1), 1e-6, 0);
            // The accumulator is a plain double sum of squares.
            double expected = Math.pow(CPU.downloadFloats(out)[0], 2);
            assertEquals(expected, acc.get(ValueLayout.JAVA_DOUBLE, 0), expected * 1e-6);
        }
    }
}
