package io.leviathan.data;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * {@code ./leviathan data prepare}: tokenises corpus files into a dataset folder that {@link TokenDataset}
 * opens.
 *
 * <p>What it writes into {@code outDir}:
 * <ul>
 *   <li>{@code train-00000.tok}, {@code train-00001.tok}, ..., {@code val-00000.tok}, ...: token shards of at
 *       most {@code shardTokens} tokens each (default {@value #DEFAULT_SHARD_TOKENS}, 256 MiB), in the layout
 *       described in {@link TokenShard}; they hold original tokenizer ids;</li>
 *   <li>{@code vocab-map.json} with vocabulary compaction (see {@link VocabularyMap});</li>
 *   <li>{@code manifest.json}: the format, tokenizer, its vocabulary size and end-of-text id, the model
 *       vocabulary size, the compaction flag, documents and tokens per split, skipped lines, every source file
 *       with its document count, and every shard with its split, token count and largest id.</li>
 * </ul>
 *
 * <p>Documents come from {@link CorpusReader} (see there for the file formats). Every document is preceded by
 * {@code <|endoftext|>}, so the token stream of a split is {@code EOT doc EOT doc ...}. The validation split
 * is the <em>last</em> {@code valFraction} of the documents (rounded, at least one when the fraction is
 * positive), the rest is the training split; a first pass counts the documents to find the boundary, a second
 * tokenises (documents in parallel batches, written in order).
 *
 * <p>Everything is written into a hidden staging folder next to {@code outDir}
 * ({@code .NAME.partial-*}), checked by opening it as a {@link TokenDataset}, and then renamed to
 * {@code outDir}, so an interrupted prepare never leaves a half-written dataset under the output name. An
 * existing dataset at {@code outDir} is replaced; any other non-empty folder there is refused.
 */
public final class DataPrepare {
    /** Largest number of tokens in one shard by default: 2^26 (256 MiB of int32). */
    public static final long DEFAULT_SHARD_TOKENS = 1L << 26;
    /** The manifest's file name. */
    public static final String MANIFEST = "manifest.json";
    /** The vocabulary map's file name. */
    public static final String VOCAB_MAP = "vocab-map.json";
    static final String FORMAT = "leviathan-token-dataset";
    static final int VERSION = 1;

    private static final int BATCH_DOCS = 1024;
    private static final int BATCH_CHARS = 1 << 20;
    private static final long PROGRESS_NANOS = 2_000_000_000L;

    private DataPrepare() {}

    /**
     * Prepares {@code inputs} into {@code outDir} with shards of {@link #DEFAULT_SHARD_TOKENS}.
     *
     * @param inputs corpus files or folders (walked recursively for supported files)
     * @param outDir the dataset folder to create or replace
     * @param tokenizer {@code o200k_base} or {@code cl100k_base}
     * @param valFraction fraction of documents, taken from the end, held out for validation, in [0, 1)
     * @param compactVocabulary renumber the ids that occur densely (see {@link VocabularyMap})
     * @param skipBadLines skip and count malformed JSON lines instead of failing
     * @param progress where progress lines go, or null for none
     * @return {@code outDir}
     * @throws IllegalArgumentException for bad arguments, malformed or empty input (naming the file and line)
     * @throws UncheckedIOException for missing or unreadable files (naming them)
     */
    public static Path prepare(List<Path> inputs, Path outDir, String tokenizer, double valFraction,
                               boolean compactVocabulary, boolean skipBadLines, PrintStream progress) {
        return prepare(inputs, outDir, tokenizer, valFraction, compactVocabulary, skipBadLines, DEFAULT_SHARD_TOKENS,
                progress);
    }

    /** {@link #prepare(List, Path, String, double, boolean, boolean, PrintStream)} with a shard size limit. */
    public static Path prepare(List<Path> inputs, Path outDir, String tokenizer, double valFraction,
                               boolean compactVocabulary, boolean skipBadLines, long shardTokens, PrintStream progress) {
        List<CorpusReader.Source> sources = CorpusReader.sources(inputs);
        return prepareSources(sources, outDir, tokenizer, valFraction, compactVocabulary, skipBadLines, shardTokens,
                progress, null);
    }

    static Path prepareSources(List<CorpusReader.Source> sources, Path outDir, String tokenizerName, double valFraction,
                               boolean compactVocabulary, boolean skipBadLines, long shardTokens, PrintStream progress,
                               ObjectNode origin) {
        if (outDir == null) {
            throw new IllegalArgumentException("no output folder given");
        }
        if (!(valFraction >= 0 && valFraction < 1)) {
            throw new IllegalArgumentException("validation fraction must be in [0, 1), got " + valFraction);
        }
        if (shardTokens < 1) {
            throw new IllegalArgumentException("shard size must be at least 1 token, got " + shardTokens);
        }
        Tokenizer tok = Tokenizer.of(tokenizerName == null ? Tokenizer.DEFAULT : tokenizerName);
        Path out = outDir.toAbsolutePath().normalize();
        checkOutput(out);
        Progress p = new Progress(progress);

        // pass 1: count documents, so the last valFraction of them can go to the validation split
        long totalBytes = sources.stream().mapToLong(CorpusReader.Source::bytes).sum();
        p.line(String.format(Locale.ROOT, "counting documents in %d input file%s (%s)", sources.size(),
                sources.size() == 1 ? "" : "s", bytes(totalBytes)));
        long[] docsPerSource = new long[sources.size()];
        long[] skippedPerSource = new long[sources.size()];
        long totalDocs = 0;
        long totalLines = 0;
        String firstSkipped = null;
        long[] counted = {0};
        for (int i = 0; i < sources.size(); i++) {
            CorpusReader.Counts c = new CorpusReader.Counts();
            CorpusReader.read(sources.get(i), skipBadLines, text -> {
                counted[0]++;
                p.tick(() -> String.format(Locale.ROOT, "counted %,d documents", counted[0]));
            }, c);
            docsPerSource[i] = c.documents;
            skippedPerSource[i] = c.skippedLines;
            totalDocs += c.documents;
            totalLines += c.lines;
            if (firstSkipped == null) {
                firstSkipped = c.firstSkipped;
            }
        }
        long skipped = 0;
        for (long s : skippedPerSource) {
            skipped += s;
        }
        if (totalDocs == 0) {
            throw new IllegalArgumentException("empty corpus: no documents (so no tokens) in "
                    + names(sources) + " (" + totalLines + " lines read" + (skipped > 0 ? ", " + skipped
                    + " malformed lines skipped" : "") + ")");
        }
        long valDocs = 0;
        if (valFraction > 0) {
            valDocs = Math.max(1, Math.round(valFraction * totalDocs));
            if (valDocs >= totalDocs) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "validation fraction %s of %,d documents leaves no training documents (in %s)",
                        valFraction, totalDocs, names(sources)));
            }
        }
        long trainDocs = totalDocs - valDocs;
        p.line(String.format(Locale.ROOT, "%,d documents: %,d train, %,d val%s", totalDocs, trainDocs, valDocs,
                skipped > 0 ? String.format(Locale.ROOT, "; skipped %,d malformed line%s (first: %s)", skipped,
                        skipped == 1 ? "" : "s", firstSkipped) : ""));

        Path parent = out.getParent();
        Path staging = null;
        try {
            Files.createDirectories(parent);
            staging = DataFiles.createUniqueDirectory(parent, "." + out.getFileName() + ".partial-");
            Writing w = new Writing(staging, tok, shardTokens, trainDocs, p, totalDocs);
            for (int i = 0; i < sources.size(); i++) {
                long before = w.docIndex;
                CorpusReader.Counts c = new CorpusReader.Counts();
                CorpusReader.read(sources.get(i), skipBadLines, w::add, c);
                w.flushBatch();
                if (w.docIndex - before != docsPerSource[i]) {
                    throw new IllegalStateException(sources.get(i).name() + " changed while being prepared: "
                            + docsPerSource[i] + " documents when counted, " + (w.docIndex - before) + " now");
                }
            }
            w.finish();
            if (w.contentTokens == 0) {
                throw new IllegalArgumentException("empty corpus: no tokens in " + names(sources));
            }

            VocabularyMap map = null;
            if (compactVocabulary) {
                w.present.set(tok.endOfText());
                map = VocabularyMap.of(tok, w.present);
                map.save(staging.resolve(VOCAB_MAP));
            }
            ObjectNode manifest = manifest(tok, map, valFraction, trainDocs, valDocs, w, sources, docsPerSource,
                    skippedPerSource, skipped, origin);
            DataFiles.writeAtomically(staging.resolve(MANIFEST), DataFiles.toJsonBytes(manifest));
            try (TokenDataset check = TokenDataset.open(staging)) {
                if (check.tokens(Split.TRAIN) != w.tokens[0] || check.tokens(Split.VAL) != w.tokens[1]) {
                    throw new IllegalStateException("prepared dataset does not read back: token counts differ");
                }
            }
            commit(staging, out);
            staging = null;
            p.line(String.format(Locale.ROOT, "wrote %,d train + %,d val tokens in %d shard%s to %s (vocabulary: %s)",
                    w.tokens[0], w.tokens[1], w.shards.size(), w.shards.size() == 1 ? "" : "s", out,
                    map == null ? String.format(Locale.ROOT, "%,d ids, not compacted", tok.vocabSize())
                            : String.format(Locale.ROOT, "%,d of %,d ids kept", map.size(), tok.vocabSize())));
            return outDir;
        } catch (CorpusReader.SinkException e) {
            throw writeFailure(out, e.getCause());
        } catch (IOException e) {
            throw writeFailure(out, e);
        } finally {
            if (staging != null) {
                DataFiles.deleteQuietly(staging);
            }
        }
    }

    private static void checkOutput(Path out) {
        if (Files.exists(out)) {
            if (!Files.isDirectory(out)) {
                throw new IllegalArgumentException("output " + out + " exists and is not a folder");
            }
            if (!Files.exists(out.resolve(MANIFEST)) && !isEmpty(out)) {
                throw new IllegalArgumentException("output folder " + out + " exists, is not empty and is not a prepared"
                        + " dataset (no " + MANIFEST + "); refusing to overwrite it: choose another folder or delete it");
            }
        }
        if (out.getParent() == null) {
            throw new IllegalArgumentException("output folder " + out + " has no parent folder");
        }
    }

    private static boolean isEmpty(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Replaces {@code out} with {@code staging} by renames. */
    static void commit(Path staging, Path out) throws IOException {
        Path old = null;
        if (Files.exists(out)) {
            if (isEmpty(out)) {
                Files.delete(out);
            } else {
                old = out.resolveSibling("." + out.getFileName() + ".old-" + DataFiles.uniqueSuffix());
                Files.move(out, old, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
        }
        Files.move(staging, out, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        if (old != null) {
            DataFiles.deleteQuietly(old);
        }
    }

    private static ObjectNode manifest(Tokenizer tok, VocabularyMap map, double valFraction, long trainDocs,
                                       long valDocs, Writing w, List<CorpusReader.Source> sources,
                                       long[] docsPerSource, long[] skippedPerSource, long skipped, ObjectNode origin) {
        ObjectNode m = DataFiles.JSON.createObjectNode();
        m.put("format", FORMAT);
        m.put("version", VERSION);
        m.put("tokenizer", tok.name());
        m.put("tokenizerVocabSize", tok.vocabSize());
        m.put("endOfText", tok.endOfText());
        m.put("vocabSize", map == null ? tok.vocabSize() : map.size());
        m.put("compacted", map != null);
        if (map != null) {
            m.put("vocabMap", VOCAB_MAP);
        } else {
            m.putNull("vocabMap");
        }
        m.put("documentSeparator", "<|endoftext|> before every document");
        m.put("valFraction", valFraction);
        ObjectNode splits = m.putObject("splits");
        ObjectNode tr = splits.putObject(Split.TRAIN.id());
        tr.put("documents", trainDocs);
        tr.put("tokens", w.tokens[0]);
        ObjectNode va = splits.putObject(Split.VAL.id());
        va.put("documents", valDocs);
        va.put("tokens", w.tokens[1]);
        m.put("skippedLines", skipped);
        ArrayNode src = m.putArray("sources");
        for (int i = 0; i < sources.size(); i++) {
            CorpusReader.Source s = sources.get(i);
            ObjectNode o = src.addObject();
            o.put("path", s.name());
            o.put("format", s.format() == CorpusReader.Format.JSONL ? "jsonl" : "text");
            o.put("zstd", s.zstd());
            o.put("bytes", s.bytes());
            o.put("documents", docsPerSource[i]);
            o.put("skippedLines", skippedPerSource[i]);
        }
        ArrayNode shards = m.putArray("shards");
        for (ShardRecord r : w.shards) {
            ObjectNode o = shards.addObject();
            o.put("file", r.file());
            o.put("split", r.split().id());
            o.put("tokens", r.tokens());
            o.put("maxId", r.maxId());
        }
        if (origin != null) {
            m.set("origin", origin);
        }
        return m;
    }

    record ShardRecord(String file, Split split, long tokens, int maxId) {}

    /** The writing pass: batches documents, encodes them in parallel, writes them in order to shards. */
    private static final class Writing {
        final Path dir;
        final Tokenizer tok;
        final long shardTokens;
        final long trainDocs;
        final long totalDocs;
        final Progress progress;
        final BitSet present = new BitSet();
        final List<ShardRecord> shards = new ArrayList<>();
        final long[] tokens = new long[2];
        final int[] shardIndex = new int[2];
        final TokenShard.Writer[] writers = new TokenShard.Writer[2];
        final List<String> batch = new ArrayList<>();
        long batchChars;
        long docIndex;
        long contentTokens;

        Writing(Path dir, Tokenizer tok, long shardTokens, long trainDocs, Progress progress, long totalDocs) {
            this.dir = dir;
            this.tok = tok;
            this.shardTokens = shardTokens;
            this.trainDocs = trainDocs;
            this.progress = progress;
            this.totalDocs = totalDocs;
        }

        void add(String text) throws IOException {
            batch.add(text);
            batchChars += text.length();
            if (batch.size() >= BATCH_DOCS || batchChars >= BATCH_CHARS) {
                flushBatch();
            }
        }

        void flushBatch() throws IOException {
            if (batch.isEmpty()) {
                return;
            }
            int n = batch.size();
            int[][] enc = new int[n][];
            IntStream.range(0, n).parallel().forEach(i -> enc[i] = tok.encode(batch.get(i)));
            for (int i = 0; i < n; i++) {
                Split s = docIndex < trainDocs ? Split.TRAIN : Split.VAL;
                put(s, tok.endOfText());
                for (int id : enc[i]) {
                    put(s, id);
                    present.set(id);
                }
                contentTokens += enc[i].length;
                docIndex++;
            }
            batch.clear();
            batchChars = 0;
            progress.tick(() -> String.format(Locale.ROOT, "%,d/%,d documents, %,d tokens", docIndex, totalDocs,
                    tokens[0] + tokens[1]));
        }

        private void put(Split s, int id) throws IOException {
            int k = s.ordinal();
            TokenShard.Writer w = writers[k];
            if (w != null && w.count() >= shardTokens) {
                close(s);
                w = null;
            }
            if (w == null) {
                String name = String.format(Locale.ROOT, "%s-%05d.tok", s.id(), shardIndex[k]++);
                w = new TokenShard.Writer(dir.resolve(name), tok.name());
                writers[k] = w;
            }
            w.write(id);
            tokens[k]++;
        }

        private void close(Split s) throws IOException {
            TokenShard.Writer w = writers[s.ordinal()];
            if (w != null) {
                TokenShard.Header h = w.finish();
                shards.add(new ShardRecord(w.file().getFileName().toString(), s, h.count(), h.maxId()));
                writers[s.ordinal()] = null;
            }
        }

        void finish() throws IOException {
            flushBatch();
            close(Split.TRAIN);
            close(Split.VAL);
        }
    }

    /** A failure writing the dataset (a full disk, say): names the output, not the input being read. */
    static UncheckedIOException writeFailure(Path out, IOException cause) {
        String why = cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
        return new UncheckedIOException("cannot write dataset " + out + ": " + why, cause);
    }

    private static String names(List<CorpusReader.Source> sources) {
        if (sources.size() <= 3) {
            return String.join(", ", sources.stream().map(CorpusReader.Source::name).toList());
        }
        return sources.get(0).name() + ", " + sources.get(1).name() + " and " + (sources.size() - 2) + " more files";
    }

    static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        if (b < 1L << 20) {
            return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        }
        if (b < 1L << 30) {
            return String.format(Locale.ROOT, "%.1f MiB", b / (double) (1L << 20));
        }
        return String.format(Locale.ROOT, "%.2f GiB", b / (double) (1L << 30));
    }

    /** Throttled progress lines ("data prepare: ..."). */
    static final class Progress {
        private final PrintStream out;
        private final long start = System.nanoTime();
        private long last = System.nanoTime();

        Progress(PrintStream out) {
            this.out = out;
        }

        void line(String s) {
            if (out != null) {
                out.printf(Locale.ROOT, "data prepare: %s (%.1f s)%n", s, (System.nanoTime() - start) / 1e9);
                out.flush();
            }
            last = System.nanoTime();
        }

        void tick(java.util.function.Supplier<String> s) {
            if (out != null && System.nanoTime() - last >= PROGRESS_NANOS) {
                line(s.get());
            }
        }
    }
}
