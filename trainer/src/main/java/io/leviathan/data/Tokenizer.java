package io.leviathan.data;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.util.List;
import java.util.Map;

/**
 * A byte-pair-encoding tokenizer from jtokkit: {@code o200k_base} (the paper's, the default) or
 * {@code cl100k_base}.
 *
 * <p>Text is encoded as ordinary text: a literal {@code <|endoftext|>} inside a document is encoded as the
 * characters it consists of, never as the special token, so documents cannot forge boundaries. Documents in a
 * prepared dataset are separated by {@link #endOfText()}, which is added by {@link DataPrepare}.
 *
 * <table>
 *   <caption>Supported encodings</caption>
 *   <tr><th>name</th><th>{@link #vocabSize()}</th><th>{@link #endOfText()}</th><th>highest id</th></tr>
 *   <tr><td>o200k_base</td><td>200,019</td><td>199,999</td><td>200,018 ({@code <|endofprompt|>})</td></tr>
 *   <tr><td>cl100k_base</td><td>100,277</td><td>100,257</td><td>100,276 ({@code <|endofprompt|>})</td></tr>
 * </table>
 * The id ranges have holes (o200k_base: 200,000 to 200,017; cl100k_base: 100,256) that decode to nothing;
 * {@link #decode} rejects them.
 *
 * <p>The encoding tables are loaded on first use (about a second for o200k_base) and shared; instances are
 * cheap and thread-safe.
 */
public final class Tokenizer {
    /** The default encoding, the one the paper uses. */
    public static final String DEFAULT = "o200k_base";

    private record Spec(EncodingType type, int vocabSize, int endOfText) {}

    private static final Map<String, Spec> SPECS = Map.of(
            "o200k_base", new Spec(EncodingType.O200K_BASE, 200_019, 199_999),
            "cl100k_base", new Spec(EncodingType.CL100K_BASE, 100_277, 100_257));

    private static final class Registry {
        static final EncodingRegistry INSTANCE = Encodings.newLazyEncodingRegistry();
    }

    private final String name;
    private final Spec spec;
    private volatile Encoding encoding;

    private Tokenizer(String name, Spec spec) {
        this.name = name;
        this.spec = spec;
    }

    /**
     * The tokenizer called {@code name}.
     *
     * @throws IllegalArgumentException for an unknown name, listing the known ones
     */
    public static Tokenizer of(String name) {
        Spec spec = name == null ? null : SPECS.get(name);
        if (spec == null) {
            throw new IllegalArgumentException("unknown tokenizer '" + name + "'; known: " + String.join(", ", names()));
        }
        return new Tokenizer(name, spec);
    }

    /** The known tokenizer names, the default first. */
    public static List<String> names() {
        return List.of("o200k_base", "cl100k_base");
    }

    /** The vocabulary size of the tokenizer called {@code name} without loading it (see {@link #vocabSize()}). */
    static int vocabSizeOf(String name) {
        return of(name).vocabSize();
    }

    /** The encoding's name, e.g. {@code o200k_base}. */
    public String name() {
        return name;
    }

    /** The id range: the largest id (special tokens included) plus one. */
    public int vocabSize() {
        return spec.vocabSize();
    }

    /** The id of {@code <|endoftext|>}, which separates documents. */
    public int endOfText() {
        return spec.endOfText();
    }

    /** The ids of {@code text}, encoded as ordinary text (special-token strings are not recognised). */
    public int[] encode(String text) {
        return encoding().encodeOrdinary(text).toArray();
    }

    /**
     * The text of {@code ids} (original tokenizer ids, not compacted ones; map those back with
     * {@link VocabularyMap#toOriginal} first). Special tokens decode to their names, e.g. {@code <|endoftext|>}.
     * A sequence that ends inside a multi-byte character decodes it to U+FFFD.
     *
     * @throws IllegalArgumentException naming the first id the encoding does not have
     */
    public String decode(int[] ids) {
        IntArrayList list = new IntArrayList(ids.length);
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id < 0 || id >= spec.vocabSize()) {
                throw new IllegalArgumentException(name + ": token id " + id + " at position " + i
                        + " is outside the vocabulary [0, " + spec.vocabSize() + ")");
            }
            list.add(id);
        }
        try {
            return encoding().decode(list);
        } catch (NullPointerException | IllegalArgumentException e) {
            // jtokkit reports an id inside the range but missing from the table as an NPE; find which one
            for (int i = 0; i < ids.length; i++) {
                IntArrayList one = new IntArrayList(1);
                one.add(ids[i]);
                try {
                    encoding().decodeBytes(one);
                } catch (RuntimeException single) {
                    throw new IllegalArgumentException(name + ": token id " + ids[i] + " at position " + i
                            + " is not in the encoding", e);
                }
            }
            throw new IllegalArgumentException(name + ": cannot decode: " + e.getMessage(), e);
        }
    }

    private Encoding encoding() {
        Encoding e = encoding;
        if (e == null) {
            e = Registry.INSTANCE.getEncoding(spec.type());
            encoding = e;
        }
        return e;
    }

    @Override
    public String toString() {
        return name;
    }
}
