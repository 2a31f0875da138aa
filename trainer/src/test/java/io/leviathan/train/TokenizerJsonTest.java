package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.leviathan.data.DefaultCorpus;
import io.leviathan.data.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The written {@code tokenizer.json} is the encoding: read by an independent Java implementation of Hugging
 * Face's byte-level BPE ({@link HfBpeTokenizer}) and by Hugging Face's own Rust library (through DJL's
 * binding, whose jar carries the native library), it gives jtokkit's ids for every sample text, the first
 * lines of the default corpus and random Unicode strings, and decodes them back to the text.
 */
class TokenizerJsonTest {

    @TempDir
    static Path tmp;

    @org.junit.jupiter.api.BeforeAll
    static void firstPassOnly() {
        org.junit.jupiter.api.Assumptions.assumeFalse(Boolean.getBoolean(io.leviathan.backend.Backends.STRICT_PROPERTY),
                "the tokenizer files use no backend: checked in the first test pass only");
    }

    /** Sample texts: ASCII, accents, CJK, emoji, whitespace runs, numbers, code, contractions, marks. */
    static final List<String> SAMPLES = List.of(
            "Hello, world! The quick brown fox jumps over the lazy dog.",
            "Café déjà vu — naïve façade, Ångström, Œuvre, São Paulo, Dvořák, İstanbul",
            "東京は日本の首都です。我爱北京天安门。한국어 텍스트도 있어요.",
            "I ❤️ 🦀 and 👩‍👩‍👧‍👦 family 🇫🇷🇯🇵 😀😃😄 ✨",
            "  leading\t\ttabs\n\n\n   trailing   \r\n mixed \u00a0nbsp\u2003em space  \n",
            "1234567890 3.14159 1,000,000 -42 1e-9 0x1F 2024-12-02 ½ ² ١٢٣",
            "def f(x):\n    return {'a': [1, 2, 3]}  # comment\nif (a != b && c <= d) { x++; } // done\n",
            "I'm, you're, they'LL, it's, WE'VE, He'd, ſ's ''quoted'' don't",
            "مرحبا بالعالم नमस्ते दुनिया Привет мир Γειά σου κόσμε שלום עולם",
            "e\u0301 a\u0308\u0304 \u200b zero\u200dwidth \u0001\u0007 control \ufeffbom \uffff",
            "https://example.com/path?q=1&r=2#frag  user@example.org  C:\\Windows\\System32",
            "");

    private static Path written(String encoding) throws IOException {
        Path dir = tmp.resolve(encoding);
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            TokenizerJson.write(encoding, 1024, dir);
        }
        return dir;
    }

    /** The first {@code n} lines of the default corpus (JSON lines: text, quotes and escapes alike). */
    static List<String> corpusLines(int n) throws IOException {
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                new com.github.luben.zstd.ZstdInputStream(DefaultCorpus.open()), StandardCharsets.UTF_8))) {
            String line;
            while (lines.size() < n && (line = r.readLine()) != null) {
                lines.add(line);
            }
        }
        return lines;
    }

    private static final String WHITESPACE_AND_DIGITS = " \t\n\r\u00a0\u2003'0123456789";

    /** Random strings of code points from every plane in use (no unpaired surrogates), and of ASCII. */
    static List<String> randomTexts(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            StringBuilder sb = new StringBuilder();
            int len = 1 + r.nextInt(40);
            for (int j = 0; j < len; j++) {
                int cp = switch (r.nextInt(5)) {
                    case 0 -> 0x20 + r.nextInt(0x5F);
                    case 1 -> WHITESPACE_AND_DIGITS.charAt(r.nextInt(WHITESPACE_AND_DIGITS.length()));
                    case 2 -> r.nextInt(0x3000);
                    case 3 -> r.nextInt(0x10000);
                    default -> r.nextInt(0x110000);
                };
                if (cp >= 0xD800 && cp <= 0xDFFF) {
                    cp = 'x';
                }
                sb.appendCodePoint(cp);
            }
            out.add(sb.toString());
        }
        return out;
    }

    static List<String> allTexts(int corpus, int random) throws IOException {
        List<String> texts = new ArrayList<>(SAMPLES);
        texts.addAll(corpusLines(corpus));
        texts.addAll(randomTexts(random, 7));
        return texts;
    }

    @ParameterizedTest
    @ValueSource(strings = {"o200k_base", "cl100k_base"})
    void anIndependentReaderOfTheFileGivesJtokkitsIdsAndTheTextBack(String encoding) throws IOException {
        Tokenizer tok = Tokenizer.of(encoding);
        HfBpeTokenizer hf = new HfBpeTokenizer(written(encoding).resolve(TokenizerJson.TOKENIZER_FILE));
        int tokens = 0;
        for (String text : allTexts(encoding.equals("o200k_base") ? 2000 : 300, 300)) {
            int[] want = tok.encode(text);
            int[] got = hf.encode(text);
            assertArrayEquals(want, got, () -> encoding + ": ids of " + quote(text));
            assertEquals(text, hf.decode(got), () -> encoding + ": round trip of " + quote(text));
            tokens += got.length;
        }
        assertTrue(tokens > 20_000, "compared " + tokens + " tokens");
        // special tokens: the reader turns their text into their ids, and decodes them back
        int eot = tok.endOfText();
        int[] withEot = hf.encode("end<|endoftext|>start");
        assertEquals(eot, withEot[1], Arrays.toString(withEot));
        assertEquals("end<|endoftext|>start", hf.decode(withEot));
    }

    @ParameterizedTest
    @ValueSource(strings = {"o200k_base", "cl100k_base"})
    void huggingFacesOwnLibraryLoadsTheFileAndGivesJtokkitsIds(String encoding) throws IOException {
        Tokenizer tok = Tokenizer.of(encoding);
        try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.builder()
                .optTokenizerPath(written(encoding).resolve(TokenizerJson.TOKENIZER_FILE))
                .optAddSpecialTokens(false).optTruncation(false).optPadding(false).build()) {
            for (String text : allTexts(encoding.equals("o200k_base") ? 2000 : 300, 300)) {
                int[] want = tok.encode(text);
                long[] got = hf.encode(text, false, false).getIds();
                assertArrayEquals(want, Arrays.stream(got).mapToInt(Math::toIntExact).toArray(),
                        () -> encoding + ": ids of " + quote(text));
                assertEquals(text, hf.decode(got, false), () -> encoding + ": round trip of " + quote(text));
            }
            long[] eot = hf.encode("end<|endoftext|>start", false, false).getIds();
            assertEquals(tok.endOfText(), eot[1], Arrays.toString(eot));
        }
    }

    @Test
    void theFilesHaveTheShapeLoadersExpect() throws IOException {
        Path dir = written("o200k_base");
        ObjectMapper json = new ObjectMapper();
        JsonNode root = json.readTree(dir.resolve(TokenizerJson.TOKENIZER_FILE).toFile());
        JsonNode model = root.get("model");
        assertEquals(199_998, model.get("vocab").size(), "o200k_base has ranks 0..199,997");
        assertEquals("Ġ", Character.toString(model.get("vocab").properties().stream()
                .filter(e -> e.getValue().intValue() == 220).findFirst().orElseThrow().getKey().charAt(0)),
                "rank 220 is the space, written as U+0120");
        int merges = model.get("merges").size();
        assertTrue(merges > 199_998 - 256 - 100 && merges <= 199_998 - 256, "one merge per reachable token: " + merges);
        assertEquals("Sequence", root.get("pre_tokenizer").get("type").asText());
        assertEquals(TokenizerJson.pattern("o200k_base"),
                root.get("pre_tokenizer").get("pretokenizers").get(0).get("pattern").get("Regex").asText());
        JsonNode added = root.get("added_tokens");
        assertEquals(200_019 - 199_998, added.size(), "every id after the ranks up to <|endofprompt|>");
        for (int i = 0; i < added.size(); i++) {
            assertEquals(199_998 + i, added.get(i).get("id").asInt(), "consecutive, as the Rust library numbers them");
        }
        assertEquals("<|reserved_199998|>", added.get(0).get("content").asText());
        assertEquals("<|endoftext|>", added.get(1).get("content").asText());
        assertEquals("<|endofprompt|>", added.get(200_018 - 199_998).get("content").asText());
        JsonNode config = json.readTree(dir.resolve(TokenizerJson.CONFIG_FILE).toFile());
        assertEquals("PreTrainedTokenizerFast", config.get("tokenizer_class").asText());
        assertEquals("<|endoftext|>", config.get("eos_token").asText());
        assertEquals(1024, config.get("model_max_length").asInt());
        assertEquals("<|endoftext|>", json.readTree(dir.resolve(TokenizerJson.SPECIAL_TOKENS_FILE).toFile())
                .get("eos_token").asText());
    }

    @Test
    void theByteLevelAlphabetCoversEveryByteOnce() {
        byte[] all = new byte[256];
        for (int i = 0; i < 256; i++) {
            all[i] = (byte) i;
        }
        String s = ByteLevelAlphabet.encode(all);
        assertEquals(256, s.chars().distinct().count());
        assertEquals("Ġ", s.substring(32, 33));
        assertEquals("!", s.substring(33, 34));
        assertEquals("Ā", s.substring(0, 1));
        assertArrayEquals(all, ByteLevelAlphabet.decode(s));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ByteLevelAlphabet.decode("aЖb"))
                .getMessage().contains("U+0416"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TokenizerJson.pattern("p50k_base"))
                .getMessage().contains("o200k_base"));
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(cp -> sb.append(cp >= 0x20 && cp < 0x7F ? Character.toString(cp) : String.format("\\u{%X}", cp)));
        return sb.append('"').toString();
    }
}
