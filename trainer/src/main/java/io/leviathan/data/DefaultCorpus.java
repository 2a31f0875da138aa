package io.leviathan.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * The default training corpus embedded in the trainer jar: 50,000 English sentences (every other one of the
 * development corpus, from the MIT-licensed npm package nlp-corpus 4.4.0; see
 * {@code io/leviathan/data/default-corpus.NOTICE.txt}), zstd-compressed JSON Lines, 1.5 MB.
 *
 * <p>{@link #prepared} tokenises it once with {@code o200k_base}, vocabulary compaction and a 5 % validation
 * split into {@code cacheDir/default-corpus-o200k_base} and reuses that folder afterwards, as long as it
 * opens as a valid dataset prepared from the same embedded bytes (checked by SHA-256).
 */
public final class DefaultCorpus {
    /** The resource's name, next to this class. */
    public static final String RESOURCE = "default-corpus.jsonl.zst";
    /** The tokenizer it is prepared with. */
    public static final String TOKENIZER = "o200k_base";
    /** The validation fraction it is prepared with. */
    public static final double VAL_FRACTION = 0.05;
    /** The dataset folder's name inside the cache folder. */
    public static final String FOLDER = "default-corpus-" + TOKENIZER;

    private DefaultCorpus() {}

    /**
     * The prepared default corpus in {@code cacheDir}, preparing it first when it is missing or invalid.
     *
     * @param cacheDir a folder for cached datasets (created when missing)
     * @param progress where progress lines go, or null
     * @return the dataset folder, ready for {@link TokenDataset#open}
     */
    public static Path prepared(Path cacheDir, PrintStream progress) {
        String sha = sha256();
        Path dir = cacheDir.resolve(FOLDER);
        if (valid(dir, sha)) {
            return dir;
        }
        ObjectNode origin = DataFiles.JSON.createObjectNode();
        origin.put("resource", "io/leviathan/data/" + RESOURCE);
        origin.put("sha256", sha);
        origin.put("licence", "MIT (npm package nlp-corpus 4.4.0); see io/leviathan/data/default-corpus.NOTICE.txt");
        if (progress != null) {
            progress.println("data prepare: preparing the embedded default corpus into " + dir);
        }
        CorpusReader.Source src = CorpusReader.describe("embedded:io/leviathan/data/" + RESOURCE, resourceBytes(),
                DefaultCorpus::open);
        try {
            DataPrepare.prepareSources(List.of(src), dir, TOKENIZER, VAL_FRACTION, true, false,
                    DataPrepare.DEFAULT_SHARD_TOKENS, progress, origin);
        } catch (RuntimeException e) {
            if (valid(dir, sha)) { // another process prepared it at the same time
                return dir;
            }
            throw e;
        }
        return dir;
    }

    /** A new stream over the embedded (compressed) corpus. */
    public static InputStream open() throws IOException {
        InputStream in = DefaultCorpus.class.getResourceAsStream(RESOURCE);
        if (in == null) {
            throw new IOException("the default corpus resource io/leviathan/data/" + RESOURCE
                    + " is missing from the trainer jar");
        }
        return in;
    }

    private static boolean valid(Path dir, String sha) {
        if (!Files.isRegularFile(dir.resolve(DataPrepare.MANIFEST))) {
            return false;
        }
        try {
            JsonNode m = DataFiles.JSON.readTree(dir.resolve(DataPrepare.MANIFEST).toFile());
            if (!sha.equals(m.path("origin").path("sha256").asText(null))) {
                return false;
            }
            try (TokenDataset ds = TokenDataset.open(dir)) {
                return ds.compacted() && ds.tokenizerName().equals(TOKENIZER);
            }
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static long resourceBytes() {
        try (InputStream in = open()) {
            return in.transferTo(java.io.OutputStream.nullOutputStream());
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    private static String sha256() {
        try (InputStream in = open()) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int r;
            while ((r = in.read(buf)) > 0) {
                md.update(buf, 0, r);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the default corpus: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
