package io.leviathan.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.ZstdInputStream;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Streams the documents of corpus files, one line at a time (a file is never loaded whole):
 * <ul>
 *   <li>{@code .txt}: plain UTF-8 text; every line (ended by {@code \n} or {@code \r\n}) that is not blank is one
 *       document (its text without the
 *       line break). This fits sentence- or paragraph-per-line corpora; wrap documents that span lines onto
 *       one line, or use JSON Lines.</li>
 *   <li>{@code .jsonl} (also {@code .ndjson}): JSON Lines, one JSON object per line whose string field
 *       {@code text} is the document; other fields (e.g. the Pile's {@code meta}) are ignored. Blank lines are
 *       ignored; an empty {@code text} is not a document.</li>
 *   <li>{@code .jsonl.zst}, {@code .txt.zst}: the same, zstd-compressed (the Pile's format).</li>
 * </ul>
 * A line that is not a JSON object with a string {@code text} is malformed: an error naming the file and line
 * number, or, with {@code skipBadLines}, skipped and counted. Invalid UTF-8 and damaged zstd data are always
 * errors.
 */
final class CorpusReader {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** The supported file name endings, for error messages. */
    static final String SUPPORTED = ".txt, .jsonl, .ndjson, .jsonl.zst, .ndjson.zst, .txt.zst";

    private CorpusReader() {}

    enum Format { TEXT, JSONL }

    /** Something to open, repeatedly, as a byte stream. */
    interface Opener {
        InputStream open() throws IOException;
    }

    /** One corpus file. */
    record Source(String name, Format format, boolean zstd, long bytes, Opener opener) {}

    /** Receives documents in order. */
    interface Sink {
        void document(String text) throws IOException;
    }

    /** A sink's own failure (writing the output), kept apart from read errors of the input. */
    static final class SinkException extends UncheckedIOException {
        private static final long serialVersionUID = 1L;

        SinkException(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    /** Counts of one read. */
    static final class Counts {
        long documents;
        long lines;
        long skippedLines;
        String firstSkipped; // "file:line: why" of the first skipped line
    }

    /** The format of a file called {@code name}, or an error naming it. */
    static Source describe(String name, long bytes, Opener opener) {
        String n = name.toLowerCase(Locale.ROOT);
        boolean zstd = n.endsWith(".zst");
        if (zstd) {
            n = n.substring(0, n.length() - 4);
        }
        Format f;
        if (n.endsWith(".jsonl") || n.endsWith(".ndjson")) {
            f = Format.JSONL;
        } else if (n.endsWith(".txt")) {
            f = Format.TEXT;
        } else {
            throw new IllegalArgumentException(name + ": unsupported corpus file type; supported: " + SUPPORTED);
        }
        return new Source(name, f, zstd, bytes, opener);
    }

    /**
     * The corpus files named by {@code inputs}: files as given, folders walked recursively (files with a
     * supported ending, in name order).
     *
     * @throws IllegalArgumentException or UncheckedIOException naming a missing or unreadable input
     */
    static List<Source> sources(List<Path> inputs) {
        if (inputs == null || inputs.isEmpty()) {
            throw new IllegalArgumentException("no input files given");
        }
        List<Source> out = new ArrayList<>();
        for (Path in : inputs) {
            if (!Files.exists(in)) {
                throw new IllegalArgumentException("input not found: " + in);
            }
            if (Files.isDirectory(in)) {
                List<Path> files;
                try (Stream<Path> walk = Files.walk(in)) {
                    files = walk.filter(Files::isRegularFile).filter(CorpusReader::supported).sorted().toList();
                } catch (IOException | UncheckedIOException e) {
                    throw new UncheckedIOException("cannot list input folder " + in + ": " + e.getMessage(),
                            e instanceof IOException io ? io : ((UncheckedIOException) e).getCause());
                }
                if (files.isEmpty()) {
                    throw new IllegalArgumentException("input folder " + in + " holds no corpus files (" + SUPPORTED + ")");
                }
                for (Path f : files) {
                    out.add(ofFile(f));
                }
            } else {
                out.add(ofFile(in));
            }
        }
        return out;
    }

    private static boolean supported(Path p) {
        try {
            describe(p.getFileName().toString(), 0, null);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    static Source ofFile(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("input is not a regular file: " + file);
        }
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException("input is not readable: " + file);
        }
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read input " + file + ": " + e.getMessage(), e);
        }
        return describe(file.toString(), size, () -> Files.newInputStream(file));
    }

    /**
     * Reads every document of {@code src} into {@code sink}, adding to {@code counts}.
     *
     * @throws IllegalArgumentException naming the file and line for a malformed line (unless skipped) or
     *     invalid UTF-8; UncheckedIOException naming the file for read errors and damaged zstd data;
     *     {@link SinkException} carrying the sink's own IOException
     */
    static void read(Source src, boolean skipBadLines, Sink sink, Counts counts) {
        long line = 0;
        try (InputStream raw = src.opener().open();
             InputStream in = src.zstd() ? new ZstdInputStream(new BufferedInputStream(raw, 1 << 16))
                     : raw) {
            LineReader r = new LineReader(in);
            String s;
            while (true) {
                try {
                    s = r.readLine();
                } catch (CharacterCodingException e) {
                    throw new IllegalArgumentException(src.name() + ": line " + (line + 1) + ": invalid UTF-8", e);
                }
                if (s == null) {
                    break;
                }
                line++;
                counts.lines++;
                if (line == 1 && !s.isEmpty() && s.charAt(0) == '\uFEFF') {
                    s = s.substring(1); // byte-order mark
                }
                if (s.isBlank()) {
                    continue;
                }
                String text;
                if (src.format() == Format.TEXT) {
                    text = s;
                } else {
                    String problem = null;
                    text = null;
                    try {
                        JsonNode node = JSON.readTree(s);
                        if (node == null || !node.isObject()) {
                            problem = "not a JSON object";
                        } else {
                            JsonNode t = node.get("text");
                            if (t == null) {
                                problem = "no \"text\" field";
                            } else if (!t.isTextual()) {
                                problem = "\"text\" is not a string";
                            } else {
                                text = t.textValue();
                            }
                        }
                    } catch (JsonProcessingException e) {
                        problem = "malformed JSON: " + e.getOriginalMessage();
                    }
                    if (problem != null) {
                        String where = src.name() + ": line " + line + ": " + problem;
                        if (!skipBadLines) {
                            throw new IllegalArgumentException(where + " (use --skip-bad-lines to skip such lines)");
                        }
                        if (counts.skippedLines == 0) {
                            counts.firstSkipped = where;
                        }
                        counts.skippedLines++;
                        continue;
                    }
                    if (text.isEmpty()) {
                        continue;
                    }
                }
                counts.documents++;
                try {
                    sink.document(text);
                } catch (IOException e) {
                    throw new SinkException(e); // not the input's fault: not caught as a read error below
                }
            }
        } catch (java.nio.file.NoSuchFileException e) {
            throw new UncheckedIOException("input not found: " + src.name(), e);
        } catch (com.github.luben.zstd.ZstdIOException e) {
            throw new UncheckedIOException(src.name() + ": damaged zstd data after line " + line + ": " + e.getMessage(), e);
        } catch (IOException e) {
            String msg = e.getMessage();
            boolean zstdTrouble = src.zstd() && (msg == null || msg.toLowerCase(Locale.ROOT).contains("zstd")
                    || msg.toLowerCase(Locale.ROOT).contains("truncated") || msg.toLowerCase(Locale.ROOT).contains("frame"));
            throw new UncheckedIOException(src.name() + ": " + (zstdTrouble ? "damaged or truncated zstd data" : "read error")
                    + " after line " + line + ": " + msg, e);
        }
    }

    /**
     * Splits a byte stream at {@code \n} (dropping a {@code \r} before it) and decodes each line as strict
     * UTF-8 on its own, so a decoding error is reported at its own line.
     */
    static final class LineReader {
        private final InputStream in;
        private final byte[] buf = new byte[1 << 16];
        private int pos;
        private int end;
        private byte[] line = new byte[1024];
        private final java.nio.charset.CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);

        LineReader(InputStream in) {
            this.in = in;
        }

        String readLine() throws IOException {
            int len = 0;
            boolean any = false;
            while (true) {
                if (pos == end) {
                    end = in.read(buf, 0, buf.length);
                    pos = 0;
                    if (end <= 0) {
                        end = 0;
                        if (!any) {
                            return null;
                        }
                        break;
                    }
                }
                any = true;
                int start = pos;
                while (pos < end && buf[pos] != '\n') {
                    pos++;
                }
                int n = pos - start;
                if (len + n > line.length) {
                    line = java.util.Arrays.copyOf(line, Math.max(line.length * 2, len + n));
                }
                System.arraycopy(buf, start, line, len, n);
                len += n;
                if (pos < end) {
                    pos++; // the \n
                    break;
                }
            }
            if (len > 0 && line[len - 1] == '\r') {
                len--;
            }
            decoder.reset();
            return decoder.decode(java.nio.ByteBuffer.wrap(line, 0, len)).toString();
        }
    }
}
