package io.leviathan.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.AttentionChoice;
import io.leviathan.tensor.DType;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The attention route: which implementation runs a call, what is logged (once), and when it is an error. */
class AttentionRouteTest {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream log = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private String logged() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void autoTakesCudnnWhenItCanAndSaysSoOnce() {
        AttentionRoute r = new AttentionRoute(AttentionChoice.AUTO, log);
        assertTrue(r.useCudnn("forward", "B=1 T=8 H=1 Dh=64", null));
        assertTrue(r.useCudnn("forward", "B=1 T=8 H=1 Dh=64", null));
        assertEquals("attention: cuDNN for forward B=1 T=8 H=1 Dh=64 (attention = auto)\n", logged());
    }

    @Test
    void autoFallsBackToOurKernelWithTheReasonOnce() {
        AttentionRoute r = new AttentionRoute(AttentionChoice.AUTO, log);
        String reason = CudnnAttention.unsupported(DType.F32, 64);
        assertFalse(r.useCudnn("backward", "B=1 T=8 H=1 Dh=64", reason));
        assertFalse(r.useCudnn("backward", "B=1 T=8 H=1 Dh=64", reason));
        assertEquals("attention: our kernel for backward B=1 T=8 H=1 Dh=64 (auto: cuDNN's fused attention takes BF16"
                + " q, k, v and out, these are F32)\n", logged());
    }

    @Test
    void cudnnWithAReasonIsAnErrorNamingIt() {
        AttentionRoute r = new AttentionRoute(AttentionChoice.CUDNN, log);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> r.useCudnn("forward", "B=1 T=8 H=1 Dh=12", CudnnAttention.unsupported(DType.BF16, 12)));
        assertEquals("attention = cudnn, but cuDNN cannot run forward B=1 T=8 H=1 Dh=12: cuDNN's fused attention needs"
                + " a head dimension that is a multiple of 8 and at most 128, got 12", e.getMessage());
        assertTrue(r.useCudnn("forward", "B=1 T=8 H=1 Dh=64", null));
    }

    @Test
    void nativeNeverAsksCudnn() {
        AttentionRoute r = new AttentionRoute(AttentionChoice.NATIVE, log);
        assertTrue(r.nativeOnly());
        assertFalse(r.useCudnn("forward", "B=1 T=8 H=1 Dh=64", null));
        assertEquals("attention: our kernel (attention = native)\n", logged());
    }

    @Test
    void whatCudnnTakes() {
        assertEquals(null, CudnnAttention.unsupported(DType.BF16, 64));
        assertEquals(null, CudnnAttention.unsupported(DType.BF16, 128));
        assertTrue(CudnnAttention.unsupported(DType.BF16, 136).contains("got 136"));
        assertTrue(CudnnAttention.unsupported(DType.F32, 64).contains("F32"));
    }
}
