package io.leviathan.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The GPU check's timing program, run on the CPU at its --quick shapes: every figure comes out, and sane. */
class DeviceBenchmarksTest {
    @Test
    void everyBenchmarkPrintsAFigure() {
        DeviceBenchmarks.Options o = DeviceBenchmarks.Options.parse(new String[] {"--device", "cpu", "--quick"});
        List<Map<String, Object>> rows = new ArrayList<>();
        try (Backend be = Backends.create("cpu")) {
            assertEquals(0, DeviceBenchmarks.run(be, o, rows::add));
        }
        List<String> benches = rows.stream().map(r -> (String) r.get("bench")).toList();
        assertEquals(List.of("gemm", "gemm", "gemm", "gemm", "attention", "attention", "generator", "step", "step"),
                benches);
        for (Map<String, Object> r : rows) {
            for (String key : List.of("ms", "fwd_ms", "fwd_bwd_ms", "tokens_per_s", "tflops")) {
                if (r.containsKey(key)) {
                    double v = ((Number) r.get(key)).doubleValue();
                    assertTrue(v > 0 && Double.isFinite(v), key + " of " + r);
                }
            }
            assertEquals("leviathan", r.get("impl"));
            assertTrue(((String) r.get("device")).startsWith("cpu"), r.toString());
        }
        Map<String, Object> dense = rows.get(7);
        assertEquals("dense", dense.get("family"));
        // a fresh model over a 4096-token vocabulary starts near ln 4096 = 8.32
        double first = ((Number) dense.get("first_loss")).doubleValue();
        assertTrue(Math.abs(first - Math.log(4096)) < 0.5, "first loss " + first);
        assertEquals(4096, dense.get("vocab"));
        assertEquals(64, dense.get("d_model"));
        Map<String, Object> leviathan = rows.get(8);
        assertEquals("leviathan", leviathan.get("family"));
        assertEquals(16, leviathan.get("base"), "the smallest b with b^3 >= 4096");
    }

    @Test
    void jsonIsOneFlatObject() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("bench", "gemm \"x\"");
        r.put("m", 3);
        r.put("ms", 0.5);
        r.put("bad", Double.NaN);
        assertEquals("{\"bench\": \"gemm \\\"x\\\"\", \"m\": 3, \"ms\": 0.500000, \"bad\": null}", DeviceBenchmarks.json(r));
    }

    @Test
    void badArgumentsNameTheValidOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DeviceBenchmarks.Options.parse(new String[] {"--only", "gemm,conv"}));
        assertTrue(e.getMessage().contains("valid: gemm, attention, generator, step"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DeviceBenchmarks.Options.parse(new String[] {"--fast"}));
        assertTrue(e.getMessage().contains("--quick"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> DeviceBenchmarks.Options.parse(new String[] {"--gemm-dtypes", "f16"}));
        assertTrue(e.getMessage().contains("valid: f32, bf16"), e.getMessage());
        assertEquals(io.leviathan.backend.AttentionChoice.NATIVE, DeviceBenchmarks.Options.parse(new String[0]).attention());
        assertEquals(io.leviathan.backend.AttentionChoice.CUDNN,
                DeviceBenchmarks.Options.parse(new String[] {"--attention", "cudnn"}).attention());
        e = assertThrows(IllegalArgumentException.class,
                () -> DeviceBenchmarks.Options.parse(new String[] {"--attention", "flash"}));
        assertEquals("attention must be one of auto, cudnn, native, got 'flash'", e.getMessage());
    }
}
