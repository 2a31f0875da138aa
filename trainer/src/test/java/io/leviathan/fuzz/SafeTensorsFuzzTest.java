package io.leviathan.fuzz;

import io.leviathan.io.SafeTensors;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The safetensors reader over mutated files and generated headers: every file opens (and every tensor reads
 * to its last byte) or is refused with an error naming the file.
 */
class SafeTensorsFuzzTest {
    private static final String FILE = "fuzz.safetensors";

    @TempDir
    static Path dir;
    private static byte[] valid;

    @BeforeAll
    static void writeValidFile() throws IOException {
        Path seed = dir.resolve("seed.safetensors");
        try (TensorArena arena = new TensorArena()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            SplittableRandom r = new SplittableRandom(3);
            Tensor a = arena.allocate(DType.F32, 2, 3);
            for (int i = 0; i < 6; i++) {
                a.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            }
            Tensor b = arena.allocate(DType.BF16, 4);
            for (int i = 0; i < 4; i++) {
                b.segment().setAtIndex(ValueLayout.JAVA_SHORT, i, (short) r.nextInt(1 << 16));
            }
            Tensor c = arena.allocate(DType.I32, 2, 2);
            for (int i = 0; i < 4; i++) {
                c.segment().setAtIndex(ValueLayout.JAVA_INT, i, r.nextInt());
            }
            tensors.put("layers.0.weight", a);
            tensors.put("norm", b);
            tensors.put("ids", c);
            SafeTensors.write(seed, tensors, Map.of("step", "12", "note", "seed"));
        }
        valid = Files.readAllBytes(seed);
    }

    /** Opens the file and reads every tensor's bytes, so a mapping past the file's end would show. */
    private static void read(byte[] input) throws IOException {
        Path file = dir.resolve(FILE);
        Files.write(file, input);
        try (TensorArena arena = new TensorArena()) {
            SafeTensors st = SafeTensors.open(file, arena);
            long sum = 0;
            for (String name : st.names()) {
                Tensor t = st.get(name);
                byte[] bytes = t.segment().toArray(ValueLayout.JAVA_BYTE);
                for (byte x : bytes) {
                    sum += x;
                }
            }
            st.metadata().forEach((k, v) -> { });
            if (sum == Long.MIN_VALUE) {
                throw new AssertionError("unreachable: keeps the reads");
            }
        }
    }

    @Test
    void mutatedFiles() {
        Fuzzer.run("safetensors-mutated", Fuzzer.tries(1500), FILE, SafeTensorsFuzzTest::mutant,
                SafeTensorsFuzzTest::read);
    }

    @Test
    void generatedHeaders() {
        Fuzzer.run("safetensors-generated", Fuzzer.tries(1500), FILE, SafeTensorsFuzzTest::generated,
                SafeTensorsFuzzTest::read);
    }

    /** The valid file with its header and data mutated; the length field mostly kept consistent. */
    private static byte[] mutant(SplittableRandom r) {
        long headerLen = ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        byte[] header = java.util.Arrays.copyOfRange(valid, 8, 8 + (int) headerLen);
        byte[] data = java.util.Arrays.copyOfRange(valid, 8 + (int) headerLen, valid.length);
        switch (r.nextInt(4)) {
            case 0 -> { // anywhere, length field included
                return Mutations.mutate(valid, r, 4);
            }
            case 1 -> { // an absurd header length
                return Mutations.withLeadingLong(valid, Mutations.INTERESTING[r.nextInt(Mutations.INTERESTING.length)]);
            }
            default -> { // the header text, with its length fixed up so the parser reads it
                header = Mutations.mutate(header, r, 3);
                if (r.nextInt(4) == 0) {
                    data = Mutations.mutate(data, r, 2);
                }
                return assemble(header, data);
            }
        }
    }

    /** A header made of random choices of names, dtypes, shapes and offsets over random data. */
    private static byte[] generated(SplittableRandom r) {
        String[] dtypes = {"F32", "BF16", "I32", "F64", "f32", "", "U8"};
        String[] dims = {"0", "1", "2", "3", "4", "7", "-1", "1.5", "2.0", "\"2\"", "null", "4294967296", "2147483648",
                "9223372036854775807", "4611686018427387904", "1e3", "[]", "true"};
        int tensors = r.nextInt(4);
        StringBuilder h = new StringBuilder("{");
        long offset = 0;
        String[] names = {"a", "b", "a", "w.0", "__metadata__x", ""};
        for (int t = 0; t < tensors; t++) {
            if (t > 0) {
                h.append(',');
            }
            String dtype = dtypes[r.nextInt(dtypes.length)];
            int rank = r.nextInt(4);
            StringBuilder shape = new StringBuilder("[");
            long numel = 1;
            for (int d = 0; d < rank; d++) {
                String dim = r.nextInt(3) == 0 ? dims[r.nextInt(dims.length)] : Integer.toString(1 + r.nextInt(4));
                shape.append(d > 0 ? "," : "").append(dim);
                // wrapping like an unchecked parser would, so overflowing shapes get matching offsets
                numel *= integer(dim);
            }
            shape.append(']');
            long bytes = numel * (dtype.equals("BF16") ? 2 : 4);
            long begin = r.nextInt(5) == 0 ? offset + r.nextInt(9) - 4 : offset;
            long end = r.nextInt(5) == 0 ? begin + bytes + r.nextInt(9) - 4 : begin + bytes;
            String offsets = r.nextInt(10) == 0 ? "[" + dims[r.nextInt(dims.length)] + "," + end + "]"
                    : "[" + begin + "," + end + "]";
            h.append('"').append(names[r.nextInt(names.length)]).append(t).append(r.nextInt(3) == 0 ? "" : "x")
                    .append("\":{\"dtype\":\"").append(dtype).append("\",\"shape\":").append(shape)
                    .append(",\"data_offsets\":").append(offsets).append('}');
            offset = Math.max(offset, end);
        }
        if (r.nextBoolean()) {
            h.append(tensors > 0 ? "," : "").append("\"__metadata__\":")
                    .append(switch (r.nextInt(4)) {
                        case 0 -> "{\"step\":\"1\"}";
                        case 1 -> "{\"step\":1}";
                        case 2 -> "[]";
                        default -> "{\"a\":{\"b\":\"c\"}}";
                    });
        }
        h.append('}');
        long dataLen = Math.max(0, offset + (r.nextInt(4) == 0 ? r.nextInt(17) - 8 : 0));
        byte[] data = new byte[(int) Math.min(dataLen, 1 << 16)];
        r.nextBytes(data);
        return assemble(h.toString().getBytes(StandardCharsets.UTF_8), data);
    }

    /** A dimension's value when it is a plain integer that fits a long, else 1. */
    private static long integer(String dim) {
        try {
            return dim.matches("\\d+") ? Long.parseLong(dim) : 1;
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    private static byte[] assemble(byte[] header, byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] len = new byte[8];
        ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
        out.writeBytes(len);
        out.writeBytes(header);
        out.writeBytes(data);
        return out.toByteArray();
    }
}
