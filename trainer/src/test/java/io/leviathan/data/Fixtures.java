package io.leviathan.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Test corpora: the shared development corpus and small generated files. */
final class Fixtures {
    static final ObjectMapper JSON = new ObjectMapper();

    private Fixtures() {}

    /** shared/data/nlp-corpus.jsonl.zst found by walking up from the working directory, or null. */
    static Path devCorpus() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path f = p.resolve("shared").resolve("data").resolve("nlp-corpus.jsonl.zst");
            if (Files.isRegularFile(f)) {
                return f;
            }
        }
        return null;
    }

    /** The first {@code n} raw lines of a .jsonl.zst file. */
    static List<String> zstLines(Path file, int n) throws IOException {
        List<String> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                new ZstdInputStream(Files.newInputStream(file)), StandardCharsets.UTF_8))) {
            String s;
            while (out.size() < n && (s = r.readLine()) != null) {
                out.add(s);
            }
        }
        return out;
    }

    static String textOf(String jsonLine) {
        try {
            return JSON.readTree(jsonLine).get("text").textValue();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String jsonLine(String text) {
        try {
            return JSON.writeValueAsString(Map.of("text", text, "meta", Map.of("src", "test")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path write(Path file, List<String> lines) throws IOException {
        Files.writeString(file, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
        return file;
    }

    static Path writeZst(Path file, List<String> lines) throws IOException {
        try (OutputStream out = new ZstdOutputStream(Files.newOutputStream(file), 3)) {
            out.write((String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return file;
    }

    static List<String> sentences(int n, String prefix) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(prefix + " sentence number " + i + " says that the quick brown fox jumps over " + (i * 7 % 13)
                    + " lazy dogs, ünïcödé ✓.");
        }
        return out;
    }

    /** The model-id token stream of a split. */
    static int[] all(TokenDataset ds, Split s) {
        int[] t = new int[(int) ds.tokens(s)];
        ds.read(s, 0, t, 0, t.length);
        return t;
    }

    /** The texts of the documents of a split, decoded (documents start after each end-of-text token). */
    static List<String> documents(TokenDataset ds, Split s) {
        int[] t = all(ds, s);
        int eot = ds.endOfText();
        List<String> docs = new ArrayList<>();
        int start = -1;
        for (int i = 0; i <= t.length; i++) {
            if (i == t.length || t[i] == eot) {
                if (start >= 0) {
                    int[] ids = java.util.Arrays.copyOfRange(t, start, i);
                    for (int k = 0; k < ids.length; k++) {
                        ids[k] = ds.toOriginal(ids[k]);
                    }
                    docs.add(ds.tokenizer().decode(ids));
                }
                start = i + 1;
            }
        }
        return docs;
    }
}
