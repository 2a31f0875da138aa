package io.leviathan.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Pins, for a few shapes, the exact sequence of cuDNN backend-API calls that builds, plans, executes and frees the
 * attention graphs: descriptor types, attribute names, attribute types, element counts and values, recorded by
 * {@link RecordingCudnnApi}. A change to the graphs shows up here as a diff of the golden files, so it is
 * deliberate and reviewable. To rewrite them after an intended change, run this test with
 * {@code -Dleviathan.golden.update=true} and review {@code git diff} of {@code src/test/resources/.../cudnn-golden}.
 */
class CudnnAttentionGraphGoldenTest {
    private static final String FOLDER = "io/leviathan/backend/cuda/cudnn-golden/";

    static List<Object[]> cases() {
        return List.of(
                new Object[] {false, new CudnnAttentionGraphs.Shape(2, 128, 4, 64)},
                new Object[] {true, new CudnnAttentionGraphs.Shape(2, 128, 4, 64)},
                new Object[] {false, new CudnnAttentionGraphs.Shape(1, 256, 2, 128)},
                new Object[] {true, new CudnnAttentionGraphs.Shape(1, 256, 2, 128)});
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void theCallSequenceIsTheGoldenOne(boolean backward, CudnnAttentionGraphs.Shape shape) throws IOException {
        RecordingCudnnApi api = new RecordingCudnnApi();
        api.declinedPlans = 1; // the first engine configuration declines, as on real hardware some do
        try (CudnnPlanCache cache = new CudnnPlanCache(api, RecordingCudnnApi.HANDLE)) {
            CudnnPlanCache.Entry e = cache.get(new CudnnPlanCache.Key(backward, shape));
            assertNotNull(e.plan(), e.reason());
            assertEquals(RecordingCudnnApi.WORKSPACE, e.plan().workspaceBytes());
            long[] uids = e.plan().uids();
            long[] pointers = new long[uids.length];
            for (int i = 0; i < uids.length; i++) {
                pointers[i] = 0x100000L * uids[i];
            }
            e.plan().execute(pointers, 0x7700000L);
            e.plan().execute(pointers, 0x7700000L); // same buffers: the variant pack is reused
        }
        assertEquals(0, api.live(), "every descriptor is destroyed");
        String actual = String.join("\n", api.calls) + "\n";
        String file = (backward ? "backward" : "forward") + "-B" + shape.b() + "-T" + shape.t() + "-H" + shape.h()
                + "-Dh" + shape.dh() + ".txt";
        if (Boolean.getBoolean("leviathan.golden.update")) {
            Path out = Path.of("src/test/resources", FOLDER, file);
            Files.createDirectories(out.getParent());
            Files.writeString(out, actual, StandardCharsets.UTF_8);
            System.out.println("golden file rewritten: " + out.toAbsolutePath());
            return;
        }
        String expected;
        try (InputStream in = getClass().getClassLoader().getResourceAsStream(FOLDER + file)) {
            assertNotNull(in, FOLDER + file + " is missing; create it with -Dleviathan.golden.update=true");
            expected = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertEquals(expected, actual, "the cuDNN call sequence changed; if intended, rerun with "
                + "-Dleviathan.golden.update=true and review the diff of " + FOLDER + file);
        assertTrue(actual.lines().anyMatch(l -> l.startsWith("execute handle")), "the plan ran");
    }
}
