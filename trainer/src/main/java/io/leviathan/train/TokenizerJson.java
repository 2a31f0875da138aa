package io.leviathan.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.leviathan.data.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes the o200k_base / cl100k_base byte-pair encodings as Hugging Face {@code tokenizers} files:
 * {@code tokenizer.json} (what {@code transformers}' {@code PreTrainedTokenizerFast}, the Rust library and Jlama
 * read), {@code tokenizer_config.json} and {@code special_tokens_map.json}.
 *
 * <h2>From ranks to a BPE model</h2>
 * The source is jtokkit's rank table (its {@code .tiktoken} resource: a base64 token and its rank per line), the
 * same data our {@link Tokenizer} encodes with. The {@code tokenizers} BPE model wants a vocabulary over the
 * byte-level alphabet (GPT-2's {@code bytes_to_unicode}: every byte a printable character) and a list of merges
 * in priority order. Each token of two or more bytes gets exactly one merge: the two parts that byte-pair
 * merging of its own bytes with the lower ranks leaves (tiktoken's algorithm, run on the token alone), and the
 * merges are listed in the order of their tokens' ranks. Merging "the adjacent pair whose merge comes first" is
 * then "the adjacent pair whose concatenation has the lowest rank", which is what tiktoken does, so the ids are
 * tiktoken's (and jtokkit's). A token whose own bytes do not merge back into it gets no merge, as tiktoken can
 * produce it only as a whole pre-tokenized piece; {@code "ignore_merges": true} does the same (a piece that is a
 * whole vocabulary entry is taken as is).
 *
 * <h2>Pre-tokenizer and decoder</h2>
 * A {@code Sequence} of a {@code Split} on the encoding's regular expression ({@code Isolated}) and a
 * {@code ByteLevel} step that only maps bytes to the alphabet ({@code add_prefix_space} and {@code use_regex}
 * off); the decoder is {@code ByteLevel}. This is the form Hugging Face publishes for tiktoken encodings
 * (LLaMA 3, the {@code gpt-4o} conversions), and the only pre-tokenizer form Jlama reads.
 *
 * <h2>Special tokens</h2>
 * Listed as {@code added_tokens} ({@code <|endoftext|>} and the others of the encoding). The Rust library does
 * not take an added token's id from the file: it numbers the added tokens that are not in the vocabulary from
 * the vocabulary's size on, in file order. So every unused id between the last rank and the last special token
 * (o200k_base: 199,998 and 200,000 to 200,017) is filled with a reserved special token
 * ({@code <|reserved_199998|>}), which keeps {@code <|endoftext|>} at 199,999 as in tiktoken. Unlike
 * {@link Tokenizer#encode}, which reads {@code <|endoftext|>} in a text as ordinary characters, Hugging Face
 * tokenizers turn that string into the special token (their default; {@code split_special_tokens=True} in
 * {@code transformers} reads it as text).
 */
public final class TokenizerJson {
    private TokenizerJson() {}

    /** The tokenizer file name. */
    public static final String TOKENIZER_FILE = "tokenizer.json";
    /** The {@code transformers} tokenizer configuration file name. */
    public static final String CONFIG_FILE = "tokenizer_config.json";
    /** The special-token map file name (read by older loaders). */
    public static final String SPECIAL_TOKENS_FILE = "special_tokens_map.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** An encoding's rank table resource, pre-tokenizer pattern and special tokens. */
    private record Spec(String resource, String pattern, Map<String, Integer> specials) {}

    // The patterns are tiktoken's (openai_public.py), without possessive quantifiers, in the form Hugging Face's
    // tiktoken conversions use; Rust's regex engines and java.util.regex read them alike.
    private static final String O200K_PATTERN = String.join("|",
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "\\p{N}{1,3}",
            " ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*",
            "\\s*[\\r\\n]+",
            "\\s+(?!\\S)",
            "\\s+");
    private static final String CL100K_PATTERN = String.join("|",
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)",
            "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+",
            "\\p{N}{1,3}",
            " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*",
            "\\s*[\\r\\n]+",
            "\\s+(?!\\S)",
            "\\s+");

    private static final Map<String, Spec> SPECS = Map.of(
            "o200k_base", new Spec("/com/knuddels/jtokkit/o200k_base.tiktoken", O200K_PATTERN,
                    orderedMap("<|endoftext|>", 199_999, "<|endofprompt|>", 200_018)),
            "cl100k_base", new Spec("/com/knuddels/jtokkit/cl100k_base.tiktoken", CL100K_PATTERN,
                    orderedMap("<|endoftext|>", 100_257, "<|fim_prefix|>", 100_258, "<|fim_middle|>", 100_259,
                            "<|fim_suffix|>", 100_260, "<|endofprompt|>", 100_276)));

    /** The pre-tokenizer regular expression of {@code encoding} (as written into {@code tokenizer.json}). */
    public static String pattern(String encoding) {
        return spec(encoding).pattern();
    }

    /** The special tokens of {@code encoding} and their ids, in id order. */
    public static Map<String, Integer> specialTokens(String encoding) {
        return spec(encoding).specials();
    }

    /**
     * Writes {@code tokenizer.json}, {@code tokenizer_config.json} and {@code special_tokens_map.json} for
     * {@code encoding} into {@code dir} (the caller publishes the folder atomically).
     *
     * @param modelMaxLength the context length the model was trained with ({@code model_max_length})
     */
    public static void write(String encoding, int modelMaxLength, Path dir) throws IOException {
        Files.write(dir.resolve(TOKENIZER_FILE), tokenizerJsonBytes(encoding));
        String eos = "<|endoftext|>";
        ObjectNode config = JSON.createObjectNode();
        config.put("tokenizer_class", "PreTrainedTokenizerFast");
        config.putNull("bos_token"); // training never puts a token before a document's first one
        config.put("eos_token", eos);
        config.put("pad_token", eos);
        config.put("model_max_length", modelMaxLength);
        config.put("clean_up_tokenization_spaces", false);
        config.put("add_bos_token", false);
        config.put("add_eos_token", false);
        ObjectNode decoder = config.putObject("added_tokens_decoder");
        for (Map.Entry<Integer, String> e : addedTokens(encoding, built(encoding).ranks()).entrySet()) {
            addedToken(decoder.putObject(Integer.toString(e.getKey())), e.getValue());
        }
        config.put("leviathan_encoding", encoding);
        Files.write(dir.resolve(CONFIG_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(config));
        ObjectNode special = JSON.createObjectNode();
        special.put("eos_token", eos);
        special.put("pad_token", eos);
        Files.write(dir.resolve(SPECIAL_TOKENS_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(special));
    }

    /** The {@code tokenizer.json} file of {@code encoding} (built once per encoding: seconds for o200k_base). */
    static byte[] tokenizerJsonBytes(String encoding) {
        return built(encoding).json();
    }

    /** A built {@code tokenizer.json} and the number of ranks it holds. */
    private record Built(byte[] json, int ranks) {}

    private static final Map<String, Built> BUILT = new java.util.concurrent.ConcurrentHashMap<>();

    private static Built built(String encoding) {
        spec(encoding);
        return BUILT.computeIfAbsent(encoding, e -> {
            try {
                return new Built(JSON.writeValueAsBytes(tokenizerJson(e)), ranks(e).length);
            } catch (com.fasterxml.jackson.core.JsonProcessingException x) {
                throw new IllegalStateException("cannot write tokenizer.json: " + x.getOriginalMessage(), x);
            }
        });
    }

    /** The {@code tokenizer.json} tree of {@code encoding}. */
    static ObjectNode tokenizerJson(String encoding) {
        Spec spec = spec(encoding);
        byte[][] tokens = ranks(encoding);
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (Map.Entry<Integer, String> e : addedTokens(encoding, tokens.length).entrySet()) {
            ObjectNode t = added.addObject();
            t.put("id", e.getKey());
            addedToken(t, e.getValue());
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        ArrayNode steps = pre.putArray("pretokenizers");
        ObjectNode split = steps.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", spec.pattern());
        split.put("behavior", "Isolated");
        split.put("invert", false);
        steps.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true)
                .put("use_regex", false);
        root.putNull("post_processor");
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
                .put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", true);
        ObjectNode vocab = model.putObject("vocab");
        for (int rank = 0; rank < tokens.length; rank++) {
            vocab.put(ByteLevelAlphabet.encode(tokens[rank]), rank);
        }
        ArrayNode merges = model.putArray("merges");
        for (int[] m : merges(tokens)) { // {left rank, right rank}, in the order of the merged tokens' ranks
            merges.add(ByteLevelAlphabet.encode(tokens[m[0]]) + " " + ByteLevelAlphabet.encode(tokens[m[1]]));
        }
        return root;
    }

    /**
     * Every id from {@code ranks} (the first id after the ranks) to the last special token, in id order: the
     * special tokens, and a reserved token for each unused id (see the class comment).
     */
    static Map<Integer, String> addedTokens(String encoding, int ranks) {
        Map<Integer, String> byId = new java.util.TreeMap<>();
        for (Map.Entry<String, Integer> e : spec(encoding).specials().entrySet()) {
            byId.put(e.getValue(), e.getKey());
        }
        int last = ((java.util.TreeMap<Integer, String>) byId).lastKey();
        for (int id = ranks; id < last; id++) {
            byId.putIfAbsent(id, "<|reserved_" + id + "|>");
        }
        return byId;
    }

    private static void addedToken(ObjectNode t, String content) {
        t.put("content", content);
        t.put("single_word", false);
        t.put("lstrip", false);
        t.put("rstrip", false);
        t.put("normalized", false);
        t.put("special", true);
    }

    /**
     * Each token's merge: for every token of two or more bytes that byte-pair merging of its own bytes (with the
     * ranks below its own) brings down to two parts, those parts' ranks, in the order of the token's rank.
     */
    static List<int[]> merges(byte[][] tokens) {
        Map<String, Integer> rankOf = new HashMap<>(tokens.length * 2);
        for (int r = 0; r < tokens.length; r++) {
            rankOf.put(latin1(tokens[r], 0, tokens[r].length), r);
        }
        List<int[]> out = new ArrayList<>();
        for (int r = 0; r < tokens.length; r++) {
            byte[] t = tokens[r];
            if (t.length < 2) {
                continue;
            }
            int[] bounds = mergeBelow(t, r, rankOf);
            if (bounds.length == 3) { // two parts: [0, bounds[1]) and [bounds[1], end)
                out.add(new int[] {rankOf.get(latin1(t, 0, bounds[1])), rankOf.get(latin1(t, bounds[1], t.length))});
            }
        }
        return out;
    }

    /**
     * tiktoken's byte-pair merge of {@code bytes} using only ranks below {@code limit}: repeatedly joins the
     * adjacent pair whose concatenation has the lowest rank (the leftmost on ties). Returns the part
     * boundaries, first 0 and last {@code bytes.length}.
     */
    private static int[] mergeBelow(byte[] bytes, int limit, Map<String, Integer> rankOf) {
        // as tiktoken: b[i] are the part boundaries, rank[i] the rank of parts i and i + 1 joined (limit if none),
        // and only the two pairs next to a merge are looked up again
        int n = bytes.length + 1;
        int[] b = new int[n];
        int[] rank = new int[n];
        for (int i = 0; i < n; i++) {
            b[i] = i;
        }
        for (int i = 0; i + 2 < n; i++) {
            rank[i] = pairRank(bytes, b[i], b[i + 2], limit, rankOf);
        }
        while (n > 2) {
            int best = -1;
            int bestRank = limit;
            for (int i = 0; i + 2 < n; i++) {
                if (rank[i] < bestRank) {
                    bestRank = rank[i];
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            System.arraycopy(b, best + 2, b, best + 1, n - best - 2);
            System.arraycopy(rank, best + 2, rank, best + 1, n - best - 2);
            n--;
            if (best + 2 < n) {
                rank[best] = pairRank(bytes, b[best], b[best + 2], limit, rankOf);
            }
            if (best > 0) {
                rank[best - 1] = pairRank(bytes, b[best - 1], b[best + 1], limit, rankOf);
            }
        }
        return java.util.Arrays.copyOf(b, n);
    }

    private static int pairRank(byte[] bytes, int from, int to, int limit, Map<String, Integer> rankOf) {
        Integer r = rankOf.get(latin1(bytes, from, to));
        return r != null && r < limit ? r : limit;
    }

    /**
     * The rank table of {@code encoding}: {@code tokens[rank]} is the token's bytes (the ranks are contiguous).
     */
    static byte[][] ranks(String encoding) {
        Spec spec = spec(encoding);
        List<byte[]> byRank = new ArrayList<>();
        try (InputStream in = com.knuddels.jtokkit.Encodings.class.getResourceAsStream(spec.resource())) {
            if (in == null) {
                throw new IllegalStateException(encoding + ": jtokkit's rank table " + spec.resource() + " is not on the class path");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.isEmpty()) {
                    continue;
                }
                int space = line.indexOf(' ');
                if (space <= 0) {
                    throw new IllegalStateException(spec.resource() + ": line " + lineNo + " is not 'base64 rank'");
                }
                byte[] token = Base64.getDecoder().decode(line.substring(0, space));
                int rank = Integer.parseInt(line.substring(space + 1).trim());
                while (byRank.size() <= rank) {
                    byRank.add(null);
                }
                byRank.set(rank, token);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read jtokkit's rank table " + spec.resource() + ": " + e.getMessage(), e);
        }
        for (int rank = 0; rank < byRank.size(); rank++) {
            if (byRank.get(rank) == null) { // the added tokens' numbering (class comment) needs contiguous ranks
                throw new IllegalStateException(spec.resource() + ": no token has rank " + rank);
            }
        }
        return byRank.toArray(new byte[0][]);
    }

    private static Spec spec(String encoding) {
        Spec s = encoding == null ? null : SPECS.get(encoding);
        if (s == null) {
            throw new IllegalArgumentException("no Hugging Face tokenizer for encoding '" + encoding + "'; known: "
                    + String.join(", ", Tokenizer.names()));
        }
        return s;
    }

    /** Bytes as a string of the same length (one char per byte), a cheap hash key. */
    private static String latin1(byte[] b, int from, int to) {
        return new String(b, from, to - from, StandardCharsets.ISO_8859_1);
    }

    private static Map<String, Integer> orderedMap(Object... kv) {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], (Integer) kv[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }
}
