package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LossPlotTest {

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    @TempDir
    Path tmp;

    private Path metrics(int steps) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int s = 1; s <= steps; s++) {
            sb.append(String.format(Locale.ROOT, "{\"step\":%d,\"loss\":%.4f,\"lr\":0.001}%n", s, 10 * Math.exp(-s / 30.0) + 2));
            if (s % 25 == 0) {
                sb.append(String.format(Locale.ROOT, "{\"step\":%d,\"val_loss\":%.4f}%n", s, 10 * Math.exp(-s / 30.0) + 2.3));
            }
        }
        sb.append("\n{\"step\":101,\"lo"); // a line still being written
        Path f = tmp.resolve("metrics.jsonl");
        Files.writeString(f, sb.toString());
        return f;
    }

    @Test
    void writesAPngOfTheRequestedSize() throws IOException {
        Path png = tmp.resolve("plots/loss.png");
        LossPlot.write(metrics(100), png, 640, 480);
        assertTrue(Files.isRegularFile(png));
        byte[] bytes = Files.readAllBytes(png);
        assertArrayEquals(PNG_SIGNATURE, Arrays.copyOf(bytes, 8), "PNG signature");
        // the IHDR chunk comes first: length (4), "IHDR" (4), width (4), height (4)
        assertEquals("IHDR", new String(bytes, 12, 4, java.nio.charset.StandardCharsets.US_ASCII));
        ByteBuffer b = ByteBuffer.wrap(bytes);
        assertEquals(640, b.getInt(16));
        assertEquals(480, b.getInt(20));
        assertTrue(bytes.length > 2000, "a real chart, not an empty image: " + bytes.length + " bytes");

        // drawing again replaces the file in place, and leaves no temporary file behind
        LossPlot.write(tmp.resolve("metrics.jsonl"), png);
        ByteBuffer again = ByteBuffer.wrap(Files.readAllBytes(png));
        assertEquals(LossPlot.WIDTH, again.getInt(16));
        assertEquals(LossPlot.HEIGHT, again.getInt(20));
        try (Stream<Path> s = Files.list(png.getParent())) {
            assertEquals(List.of("loss.png"), s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void comparesRunsInOnePlotAndNamesARunWithoutLosses() throws IOException {
        Path a = metrics(100);
        Path b = Files.copy(a, tmp.resolve("other.jsonl"));
        Path png = tmp.resolve("compare.png");
        java.util.Map<String, Path> runs = new java.util.LinkedHashMap<>();
        runs.put("fp32", a);
        runs.put("bf16", b);
        LossPlot.compare(runs, "fp32 and bf16", png);
        byte[] bytes = Files.readAllBytes(png);
        assertArrayEquals(PNG_SIGNATURE, Arrays.copyOf(bytes, 8), "PNG signature");
        assertTrue(bytes.length > 2000, "a real chart: " + bytes.length + " bytes");
        Path empty = Files.writeString(tmp.resolve("empty.jsonl"), "{\"step\":1,\"val_loss\":3.0}\n");
        runs.put("empty", empty);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LossPlot.compare(runs, "x", tmp.resolve("bad.png")));
        assertTrue(e.getMessage().contains("empty.jsonl"), e.getMessage());
        assertTrue(Files.notExists(tmp.resolve("bad.png")), "nothing written on failure");
    }

    @Test
    void readsTrainAndValidationPoints() throws IOException {
        LossPlot.Points p = LossPlot.read(metrics(100));
        assertEquals(100, p.trainSteps().length);
        assertEquals(4, p.valSteps().length);
        assertEquals(25, p.valSteps()[0], 0);
        assertEquals(100, p.valSteps()[3], 0);
        assertEquals(10 * Math.exp(-1 / 30.0) + 2, p.trainLoss()[0], 1e-4);
    }

    @Test
    void aResumedRunsRepeatedStepsKeepTheirLastValue() throws IOException {
        Path f = tmp.resolve("resumed.jsonl");
        Files.writeString(f, """
                {"step":1,"loss":5.0}
                {"step":2,"loss":4.0}
                {"step":3,"loss":3.9}
                {"step":2,"loss":4.1}
                {"step":3,"loss":3.5}
                {"step":4,"loss":3.0}
                """);
        LossPlot.Points p = LossPlot.read(f);
        assertArrayEquals(new double[] {1, 2, 3, 4}, p.trainSteps());
        assertArrayEquals(new double[] {5.0, 4.1, 3.5, 3.0}, p.trainLoss());
    }

    @Test
    void validationOnlyAndEmptyFiles() throws IOException {
        Path f = tmp.resolve("val.jsonl");
        Files.writeString(f, "{\"step\":10,\"val_loss\":3.5}\n{\"step\":20,\"val_loss\":3.1}\n");
        Path png = tmp.resolve("val.png");
        LossPlot.write(f, png, 300, 200);
        assertEquals(200, ByteBuffer.wrap(Files.readAllBytes(png)).getInt(20));

        Path empty = tmp.resolve("empty.jsonl");
        Files.writeString(empty, "{\"step\":1,\"lr\":0.1}\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LossPlot.write(empty, tmp.resolve("e.png")));
        assertTrue(e.getMessage().contains("no rows"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LossPlot.write(f, png, 10, 10));
    }
}
