package io.leviathan.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * Refused arguments: LV_ERR_INVALID_ARGUMENT (10001), LV_ERR_UNSUPPORTED_DTYPE (10002) and
 * LV_ERR_WORKSPACE_TOO_SMALL (10003), from the host entry points and from the device operations, which
 * check their arguments before any CUDA call (so this runs without a GPU).
 */
class ArgumentValidationTest {
    private static final int INVALID = 10001, DTYPE = 10002, WORKSPACE = 10003;
    private static final MemorySegment NULL = MemorySegment.NULL;

    @Test
    void hostEntryPointsRefuseBadArguments() {
        try (HostMemory mem = new HostMemory()) {
            MemorySegment f = mem.floats(new float[64]), i = mem.ints(new int[64]), ws = mem.bytes(16);
            assertEquals(INVALID, HostKernels.call(HostKernels.ADD, f, f, f, -1L), "negative n");
            assertEquals(INVALID, HostKernels.call(HostKernels.ADD, NULL, f, f, 3L), "null input");
            assertEquals(0, HostKernels.call(HostKernels.ADD, NULL, NULL, NULL, 0L), "nothing to do");
            assertEquals(DTYPE, HostKernels.call(HostKernels.COPY, f, 0, f, 7, 4L), "dtype code 7");
            assertEquals(DTYPE, HostKernels.call(HostKernels.COPY, f, 0, i, 2, 4L), "F32 to I32");
            assertEquals(DTYPE, HostKernels.call(HostKernels.FILL, i, 2, 4L, 1f), "fill of I32");
            assertEquals(INVALID, HostKernels.call(HostKernels.ROW_SUM, f, f, 4L, -2L, 1f), "negative cols");
            assertEquals(INVALID, HostKernels.call(HostKernels.RMSNORM_FORWARD, f, f, 1e-5f, f, f, 4L, 0L),
                    "rows of zero columns");
            assertEquals(INVALID, HostKernels.call(HostKernels.LAYERNORM_FORWARD, f, f, f, 1e-5f, f, f, f, 2L, 3L, 0L),
                    "layerNorm rows of zero columns");
            assertEquals(INVALID, HostKernels.call(HostKernels.ROPE_FORWARD, f, f, f, f, 1L, 2L, 1L, 5L), "odd head_dim");
            assertEquals(INVALID, HostKernels.call(HostKernels.ROPE_TABLES, 0f, f, f, 2L, 4L), "theta 0");
            assertEquals(INVALID, HostKernels.call(HostKernels.EMBEDDING_FORWARD, i, f, f, 2L, -1L, 4L, NULL),
                    "negative vocab");
            assertEquals(INVALID, HostKernels.call(HostKernels.SOFTMAX, NULL, f, 2L, 3L), "null softmax input");
            assertEquals(INVALID, HostKernels.call(HostKernels.CROSS_ENTROPY, f, i, -100, NULL, NULL, 1f, NULL, 2L, 3L,
                    ws, 16L, NULL), "null loss_sum");
            assertEquals(WORKSPACE, HostKernels.call(HostKernels.CROSS_ENTROPY, f, i, -100, NULL, NULL, 1f, f, 8L, 3L,
                    ws, 16L, NULL), "16 bytes for 8 rows");
            assertEquals(INVALID, HostKernels.call(HostKernels.ADAMW, f, f, f, f, 4L, 1e-3f, 0.9f, 0.95f, 1e-8f, 0f,
                    0.1, 0.05, 5L, NULL, 0f), "decayed_count > n");
            assertEquals(INVALID, HostKernels.call(HostKernels.ADAMW, f, f, f, f, 4L, 1e-3f, 1f, 0.95f, 1e-8f, 0f,
                    0.1, 0.05, 4L, NULL, 0f), "beta1 = 1");
            assertEquals(INVALID, HostKernels.call(HostKernels.ADAMW, f, f, f, f, 4L, 1e-3f, 0.9f, 0.95f, 1e-8f, 0f,
                    0.1, 0.05, 4L, NULL, -1f), "negative clip");
            assertTrue(HostKernels.callLong(HostKernels.CROSS_ENTROPY_WORKSPACE_BYTES, -1L, 3L) < 0,
                    "a negative row count has no workspace size");
        }
    }

    @Test
    void deviceOperationsRefuseBadArgumentsBeforeAnyCudaCall() {
        try (HostMemory mem = new HostMemory()) {
            MemorySegment f = mem.floats(new float[64]), i = mem.ints(new int[64]), ws = mem.bytes(16);
            assertEquals(INVALID, DeviceCalls.call(DeviceCalls.ADD, f, f, f, -1L, NULL));
            assertEquals(INVALID, DeviceCalls.call(DeviceCalls.ADD, NULL, f, f, 8L, NULL));
            assertEquals(0, DeviceCalls.call(DeviceCalls.ADD, NULL, NULL, NULL, 0L, NULL), "nothing to launch");
            assertEquals(DTYPE, DeviceCalls.call(DeviceCalls.COPY, f, 1, i, 2, 8L, NULL));
            assertEquals(DTYPE, DeviceCalls.call(DeviceCalls.FILL, f, 9, 8L, 0f, NULL));
            assertEquals(INVALID, DeviceCalls.call(DeviceCalls.ROPE_FORWARD, f, f, f, f, 1L, 1L, 1L, 3L, NULL));
            assertEquals(WORKSPACE, DeviceCalls.call(DeviceCalls.CROSS_ENTROPY, f, i, -100, NULL, NULL, 1f, f, 8L, 3L,
                    ws, 16L, NULL, NULL));
            assertEquals(INVALID, DeviceCalls.call(DeviceCalls.ADAMW, f, f, f, f, 4L, 1e-3f, 0.9f, 0.95f, 0f, 0f,
                    0.1, 0.05, 4L, NULL, 0f, NULL), "eps 0");
        }
    }
}
