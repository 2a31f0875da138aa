package io.leviathan.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.tensor.TensorArena;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each rule of the safetensors format, broken one at a time in an otherwise valid file: every case is refused
 * with a message naming the file, the tensor and the rule; valid edge cases (zero-size tensors, entries listed
 * out of offset order, a null metadata map) are accepted.
 */
class SafeTensorsStrictTest {

    @TempDir
    Path dir;

    /** A file whose header is {@code json} (padded with spaces as the format allows) and {@code data} zero bytes. */
    private Path file(String name, String json, int data) throws IOException {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        ByteBuffer b = ByteBuffer.allocate(8 + padded + data).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(padded).put(h);
        for (int i = h.length; i < padded; i++) {
            b.put((byte) ' ');
        }
        for (int i = 0; i < data; i++) {
            b.put((byte) (i * 37 + 11));
        }
        Path p = dir.resolve(name + ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    private static String entry(String name, String dtype, String shape, String offsets) {
        return "\"" + name + "\":{\"dtype\":" + dtype + ",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
    }

    private void refused(String name, String json, int data, String... parts) throws IOException {
        Path p = file(name, json, data);
        try (TensorArena arena = new TensorArena()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.open(p, arena),
                    name + " must be refused");
            assertTrue(e.getMessage().contains(p.toString()), "the file is named: " + e.getMessage());
            for (String part : parts) {
                assertTrue(e.getMessage().contains(part), name + ": '" + part + "' missing from: " + e.getMessage());
            }
        }
    }

    @Test
    void validEdgeCasesAreAccepted() throws IOException {
        // listed out of offset order, a zero-size tensor between two others, a null metadata map
        String json = "{\"__metadata__\":null," + entry("b", "\"I32\"", "[2]", "[8,16]") + ","
                + entry("empty", "\"F32\"", "[0,3]", "[8,8]") + "," + entry("a", "\"BF16\"", "[2,2]", "[0,8]") + "}";
        Path p = file("valid", json, 16);
        try (TensorArena arena = new TensorArena()) {
            SafeTensors st = SafeTensors.open(p, arena);
            assertEquals(List.of("b", "empty", "a"), List.copyOf(st.names()));
            assertArrayEquals(new long[] {0, 3}, st.get("empty").shape());
            assertEquals(Map.of(), st.metadata());
            ByteBuffer raw = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
            long start = 8 + raw.getLong(0);
            assertEquals(raw.getInt((int) start + 8), st.get("b").toIntArray()[0], "b is read at its own offset");
        }
    }

    @Test
    void shapesMustBeNonNegativeIntegers() throws IOException {
        refused("string", "{" + entry("w", "\"F32\"", "[\"2\"]", "[0,8]") + "}", 8, "tensor 'w'", "shape[0]", "integer");
        refused("fraction", "{" + entry("w", "\"F32\"", "[1.5]", "[0,8]") + "}", 8, "tensor 'w'", "shape[0]", "integer");
        refused("float", "{" + entry("w", "\"F32\"", "[2.0]", "[0,8]") + "}", 8, "tensor 'w'", "shape[0]", "integer");
        refused("negative", "{" + entry("w", "\"F32\"", "[2,-1]", "[0,8]") + "}", 8, "tensor 'w'", "shape[1]", "-1");
        refused("notarray", "{" + entry("w", "\"F32\"", "2", "[0,8]") + "}", 8, "tensor 'w'", "shape must be an array");
        refused("bignum", "{" + entry("w", "\"F32\"", "[99999999999999999999]", "[0,8]") + "}", 8,
                "tensor 'w'", "does not fit a long");
    }

    @Test
    void anOverflowingShapeNamesTheTensor() throws IOException {
        refused("overflow", "{" + entry("big.weight", "\"F32\"", "[4294967296,4294967296]", "[0,8]") + "}", 8,
                "tensor 'big.weight'", "more elements than a long");
        refused("byteoverflow", "{" + entry("big.weight", "\"F32\"", "[4611686018427387904]", "[0,8]") + "}", 8,
                "tensor 'big.weight'", "more bytes than a long");
    }

    @Test
    void namesAndFieldsMustBeUnique() throws IOException {
        refused("dupname", "{" + entry("w", "\"F32\"", "[1]", "[0,4]") + "," + entry("w", "\"F32\"", "[1]", "[4,8]") + "}",
                8, "'w'", "Duplicate");
        refused("dupfield", "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                "tensor 'w'", "dtype", "Duplicate");
        refused("dupmeta", "{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}," + entry("w", "\"F32\"", "[1]", "[0,4]") + "}",
                4, "__metadata__", "Duplicate");
    }

    @Test
    void dtypesAndEntriesMustBeKnown() throws IOException {
        refused("f64", "{" + entry("w", "\"F64\"", "[1]", "[0,8]") + "}", 8, "tensor 'w'", "F64", "supported");
        refused("numdtype", "{" + entry("w", "3", "[1]", "[0,4]") + "}", 4, "tensor 'w'", "dtype must be a string");
        refused("nodtype", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'w'", "dtype");
        refused("extra", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"stride\":[1]}}", 4,
                "tensor 'w'", "unknown field 'stride'");
        refused("notobject", "{\"w\":[1,2]}", 0, "tensor 'w'", "must be an object");
    }

    @Test
    void offsetsMustTileTheDataExactly() throws IOException {
        refused("gapfirst", "{" + entry("w", "\"F32\"", "[1]", "[4,8]") + "}", 8, "tensor 'w'", "gap of 4 bytes",
                "start of the data");
        refused("gapbetween", "{" + entry("a", "\"F32\"", "[1]", "[0,4]") + "," + entry("b", "\"F32\"", "[1]", "[8,12]") + "}",
                12, "tensor 'b'", "gap of 4 bytes after tensor 'a'");
        refused("overlap", "{" + entry("a", "\"F32\"", "[2]", "[0,8]") + "," + entry("b", "\"F32\"", "[1]", "[4,8]") + "}",
                8, "overlap tensor 'a'");
        refused("trailing", "{" + entry("w", "\"F32\"", "[1]", "[0,4]") + "}", 12, "tensor 'w'", "8 bytes follow");
        refused("reversed", "{" + entry("w", "\"F32\"", "[0]", "[4,0]") + "}", 4, "tensor 'w'", "end before they begin");
        refused("pastend", "{" + entry("w", "\"F32\"", "[4]", "[0,16]") + "}", 8, "tensor 'w'", "past the 8 data bytes");
        refused("span", "{" + entry("w", "\"F32\"", "[3]", "[0,8]") + "}", 8, "tensor 'w'", "needs 12 bytes", "span 8");
        refused("stroffsets", "{" + entry("w", "\"F32\"", "[1]", "[\"0\",4]") + "}", 4, "tensor 'w'", "data_offsets[0]");
        refused("oneoffset", "{" + entry("w", "\"F32\"", "[1]", "[0]") + "}", 4, "tensor 'w'", "two integers");
        refused("fracoffset", "{" + entry("w", "\"F32\"", "[1]", "[0,4.0]") + "}", 4, "tensor 'w'", "data_offsets[1]");
    }

    @Test
    void metadataIsAMapOfStrings() throws IOException {
        refused("metanum", "{\"__metadata__\":{\"step\":3}," + entry("w", "\"F32\"", "[1]", "[0,4]") + "}", 4,
                "__metadata__.step", "string");
        refused("metaarray", "{\"__metadata__\":[\"a\"]," + entry("w", "\"F32\"", "[1]", "[0,4]") + "}", 4,
                "__metadata__ must be an object");
    }

    @Test
    void theHeaderIsOneObjectAndNothingElse() throws IOException {
        refused("garbage", "{" + entry("w", "\"F32\"", "[1]", "[0,4]") + "} x", 4, "not valid JSON");
        refused("twoobjects", "{" + entry("w", "\"F32\"", "[1]", "[0,4]") + "}{}", 4, "not valid JSON");
        refused("array", "[1,2]", 0, "must be a JSON object");
        Path p = dir.resolve("hugeheader.safetensors");
        Files.write(p, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE).array());
        try (TensorArena arena = new TensorArena()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.open(p, arena));
            assertTrue(e.getMessage().contains("hugeheader") && e.getMessage().contains("header length"), e.getMessage());
        }
    }
}
