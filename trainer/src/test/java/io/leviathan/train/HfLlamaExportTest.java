package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.data.Tokenizer;
import io.leviathan.data.VocabularyMap;
import io.leviathan.io.SafeTensors;
import io.leviathan.model.Family;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The export is an ordinary Hugging Face LLaMA: read back as a dense model, and run through an independent
 * plain-Java transcription of {@code transformers}' {@code LlamaForCausalLM} forward pass, it gives the
 * original model's logits, which proves that no q/k permutation (or any other re-layout) is needed.
 */
class HfLlamaExportTest {

    private static Backend be;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @BeforeAll
    static void open() {
        be = Backends.cpu(2);
    }

    @AfterAll
    static void close() {
        be.close();
    }

    private static LlamaModel random(ModelConfig c, int batch, int seq, long seed) {
        return TextGeneratorTest.randomModel(be, c, batch, seq, seed);
    }

    private static int[] randomIds(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = r.nextInt(vocab);
        }
        return ids;
    }

    private static float[] logits(LlamaModel m, int[] ids) {
        Backend mb = m.backend();
        try (TensorArena io = mb.newArena()) {
            Tensor t = io.allocate(DType.I32, m.batch(), m.seq());
            mb.upload(ids, t);
            m.forward(t, null);
            return mb.downloadFloats(m.logits());
        }
    }

    /**
     * The logits an export expanded by {@code rowOf} must give for {@code logits} ({@code [positions, v]} of the
     * trained model): each tokenizer id's column is its trained row's, and an untrained id's is the mean of the
     * trained logits (its head row is the mean of the trained rows).
     */
    static float[] expandLogits(float[] logits, int v, int[] rowOf) {
        int n = logits.length / v;
        float[] out = new float[n * rowOf.length];
        for (int p = 0; p < n; p++) {
            double sum = 0;
            for (int j = 0; j < v; j++) {
                sum += logits[p * v + j];
            }
            float mean = (float) (sum / v);
            for (int o = 0; o < rowOf.length; o++) {
                out[p * rowOf.length + o] = rowOf[o] >= 0 ? logits[p * v + rowOf[o]] : mean;
            }
        }
        return out;
    }

    /** The o200k tokenizer's ids for a model of {@code v} ids without a vocabulary map (ids 0..v-1 trained). */
    static int[] prefixRows(int v) {
        return VocabularyExpansion.trainedRowOf(v, Tokenizer.of("o200k_base").vocabSize(), Optional.empty());
    }

    /** Exports {@code model}, then compares its logits with the re-imported model's and the reference's. */
    private Path roundTrip(LlamaModel model, double tol) {
        Path out = tmp.resolve("export-" + model.config().family() + "-" + model.config().tiedHead());
        HfLlamaExport.Written w = HfLlamaExport.export(model, "o200k_base", Optional.empty(), out, false);
        int v = model.config().vocab();
        int[] rowOf = prefixRows(v);
        assertTrue(w.expanded());
        assertEquals(rowOf.length, w.vocabSize());
        int[] ids = randomIds(model.batch() * model.seq(), v, 5);
        float[] want = expandLogits(logits(model, ids), v, rowOf);
        try (LlamaModel back = HfLlamaExport.load(be, out, model.batch(), model.seq())) {
            assertEquals(Family.DENSE, back.config().family());
            TextGeneratorTest.assertClose(want, logits(back, ids), Math.max(tol, 1e-5), "re-imported logits");
        }
        int t = model.seq();
        int n = rowOf.length;
        for (int b = 0; b < model.batch(); b++) {
            float[] ref = HfReference.logits(out, Arrays.copyOfRange(ids, b * t, (b + 1) * t));
            TextGeneratorTest.assertClose(Arrays.copyOfRange(want, b * t * n, (b + 1) * t * n), ref, 1e-4,
                    "transformers-semantics reference logits, sequence " + b);
        }
        return out;
    }

    @Test
    void denseExportRoundTripsAndMatchesTheTransformersReference() throws IOException {
        ModelConfig c = TextGeneratorTest.tinyDense(23);
        try (LlamaModel m = random(c, 2, 9, 3)) {
            Path out = roundTrip(m, 0);
            JsonNode cfg = JSON.readTree(out.resolve("config.json").toFile());
            assertEquals("LlamaForCausalLM", cfg.get("architectures").get(0).asText());
            assertEquals("llama", cfg.get("model_type").asText());
            assertEquals(16, cfg.get("hidden_size").asInt());
            assertEquals(32, cfg.get("intermediate_size").asInt());
            assertEquals(2, cfg.get("num_hidden_layers").asInt());
            assertEquals(2, cfg.get("num_attention_heads").asInt());
            assertEquals(2, cfg.get("num_key_value_heads").asInt());
            assertEquals(1e-5, cfg.get("rms_norm_eps").asDouble(), 0);
            assertEquals(10_000, cfg.get("rope_theta").asDouble(), 0);
            assertEquals(200_019, cfg.get("vocab_size").asInt(), "expanded to the tokenizer's ids");
            assertEquals(23, cfg.get("leviathan_trained_vocab_size").asInt());
            assertEquals(16, cfg.get("max_position_embeddings").asInt());
            assertFalse(cfg.get("tie_word_embeddings").asBoolean());
            assertEquals("float32", cfg.get("torch_dtype").asText());
            assertEquals("silu", cfg.get("hidden_act").asText());
            assertFalse(cfg.get("attention_bias").asBoolean());
            assertFalse(cfg.get("mlp_bias").asBoolean());
            assertEquals("o200k_base", cfg.get("leviathan_tokenizer").asText());
            assertEquals(199_999, cfg.get("eos_token_id").asInt());
            try (TensorArena a = new TensorArena()) {
                SafeTensors st = SafeTensors.open(out.resolve("model.safetensors"), a);
                assertEquals("pt", st.metadata().get("format"), "transformers refuses safetensors without format pt");
                assertEquals(3 + 9 * 2, st.names().size());
                for (String n : List.of("model.embed_tokens.weight", "model.layers.1.self_attn.q_proj.weight",
                        "model.layers.0.mlp.down_proj.weight", "model.layers.1.post_attention_layernorm.weight",
                        "model.norm.weight", "lm_head.weight")) {
                    assertTrue(st.contains(n), n);
                }
                assertEquals(List.of(16L, 32L), Arrays.stream(st.get("model.layers.0.mlp.down_proj.weight").shape()).boxed().toList());
            }
            assertNoLeftovers();
        }
    }

    @Test
    void tiedDenseExportOmitsTheHead() throws IOException {
        ModelConfig c = new ModelConfig(Family.DENSE, 19, 16, 1, 4, 24, 1e-6f, 500f, 12, true, null);
        try (LlamaModel m = random(c, 1, 12, 4)) {
            Path out = roundTrip(m, 0);
            assertTrue(JSON.readTree(out.resolve("config.json").toFile()).get("tie_word_embeddings").asBoolean());
            try (TensorArena a = new TensorArena()) {
                assertFalse(SafeTensors.open(out.resolve("model.safetensors"), a).contains("lm_head.weight"));
            }
        }
    }

    @Test
    void leviathanExportIsADenseLlamaWithTheMaterialisedTable() throws IOException {
        ModelConfig c = TextGeneratorTest.tinyLeviathan(29);
        try (LlamaModel m = random(c, 2, 8, 6)) {
            Path out = roundTrip(m, 1e-5);
            JsonNode cfg = JSON.readTree(out.resolve("config.json").toFile());
            assertFalse(cfg.get("tie_word_embeddings").asBoolean());
            assertEquals("leviathan", cfg.get("leviathan_source_family").asText());
            try (TensorArena a = new TensorArena()) {
                SafeTensors st = SafeTensors.open(out.resolve("model.safetensors"), a);
                assertTrue(st.names().stream().noneMatch(n -> n.contains("generator")), st.names().toString());
                assertTrue(st.contains("model.embed_tokens.weight") && st.contains("lm_head.weight"));
            }
        }
    }

    @Test
    void compactedVocabularyIsExpandedToTheTokenizersIds() throws IOException {
        Tokenizer tok = Tokenizer.of("o200k_base");
        VocabularyMap map = TextGeneratorTest.map(tok, 31);
        try (LlamaModel m = random(TextGeneratorTest.tinyDense(map.size()), 1, 8, 8)) {
            Path out = tmp.resolve("compact");
            HfLlamaExport.Written w = HfLlamaExport.export(m, tok.name(), Optional.of(map), out, false);
            assertTrue(w.expanded());
            assertEquals(tok.vocabSize(), w.vocabSize());
            assertEquals(map.size(), w.trainedRows());
            JsonNode cfg = JSON.readTree(out.resolve("config.json").toFile());
            assertEquals(tok.vocabSize(), cfg.get("vocab_size").asInt());
            assertEquals(map.size(), cfg.get("leviathan_trained_vocab_size").asInt());
            assertFalse(cfg.has("leviathan_vocabulary_map"));
            assertFalse(Files.exists(out.resolve("vocabulary_map.json")), "the expanded export needs no map");
            assertEquals(tok.endOfText(), cfg.get("eos_token_id").asInt(), "the tokenizer's own id");
            assertEquals(tok.endOfText(), JSON.readTree(out.resolve("generation_config.json").toFile()).get("eos_token_id").asInt());
            for (String f : w.files()) {
                assertTrue(Files.isRegularFile(out.resolve(f)), f);
            }
            HfLlamaExport.Exported e = HfLlamaExport.readConfig(out);
            assertEquals("o200k_base", e.tokenizer());
            assertTrue(e.vocabularyMap().isEmpty());

            // fed the tokenizer's ids, the export gives the trained model's logits at the tokenizer's ids
            int[] compact = randomIds(8, map.size(), 4);
            int[] rowOf = VocabularyExpansion.trainedRowOf(map.size(), tok.vocabSize(), Optional.of(map));
            float[] trained = logits(m, compact);
            float[] want = expandLogits(trained, map.size(), rowOf);
            try (LlamaModel back = HfLlamaExport.load(be, out, 1, 8)) {
                float[] got = logits(back, map.toOriginal(compact));
                TextGeneratorTest.assertClose(want, got, 1e-5, "expanded export");
                int n = tok.vocabSize();
                for (int p = 0; p < 8; p++) {
                    int best = 0;
                    for (int o = 1; o < n; o++) {
                        best = got[p * n + o] > got[p * n + best] ? o : best;
                    }
                    assertTrue(map.contains(best), "greedy picks a trained id, got " + best + " at position " + p);
                }
            }
        }
    }

    @Test
    void existingOutputNeedsForceAndIsReplacedWhole() throws IOException {
        ModelConfig c = TextGeneratorTest.tinyDense(23);
        try (LlamaModel m = random(c, 1, 8, 9)) {
            Path out = tmp.resolve("out");
            Files.createDirectories(out);
            HfLlamaExport.export(m, "o200k_base", Optional.empty(), out, false); // empty folder: fine
            Files.writeString(out.resolve("stale.txt"), "old");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> HfLlamaExport.export(m, "o200k_base", Optional.empty(), out, false));
            assertTrue(e.getMessage().contains("--force"), e.getMessage());
            assertTrue(Files.exists(out.resolve("stale.txt")), "a refused export leaves the folder alone");
            HfLlamaExport.export(m, "o200k_base", Optional.empty(), out, true);
            assertFalse(Files.exists(out.resolve("stale.txt")), "--force replaces the whole folder");
            assertTrue(Files.exists(out.resolve("model.safetensors")) && Files.exists(out.resolve("config.json")));
            Path file = tmp.resolve("a-file");
            Files.writeString(file, "x");
            assertThrows(IllegalArgumentException.class, () -> HfLlamaExport.export(m, "o200k_base", Optional.empty(), file, true));
            assertNoLeftovers();
        }
    }

    record Cli(int status, String out, String err) {}

    static Cli cli(String... args) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int status = io.leviathan.cli.Main.run(args, new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8),
                new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
        return new Cli(status, out.toString(java.nio.charset.StandardCharsets.UTF_8), err.toString(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void exportCommandChecksItsFlagsAndReExportsAnExportedFolder() throws IOException {
        ModelConfig c = TextGeneratorTest.tinyLeviathan(29);
        try (LlamaModel m = random(c, 1, 8, 12)) {
            Path first = tmp.resolve("first");
            HfLlamaExport.export(m, "o200k_base", Optional.empty(), first, false);
            Path second = tmp.resolve("second");

            Cli bad = cli("export", "--checkpoint", first.toString(), "--out", second.toString(), "--format", "gguf");
            assertEquals(2, bad.status(), bad.err());
            assertTrue(bad.err().contains("gguf") && bad.err().contains("valid formats: hf-llama"), bad.err());
            Cli unknown = cli("export", "--checkpoint", first.toString(), "--bogus");
            assertEquals(2, unknown.status());
            assertTrue(unknown.err().contains("--bogus") && unknown.err().contains("--out"), unknown.err());
            Cli missing = cli("export", "--checkpoint", tmp.resolve("nope").toString(), "--out", second.toString());
            assertEquals(2, missing.status());
            assertTrue(missing.err().contains("no such file"), missing.err());

            Cli ok = cli("export", "--checkpoint", first.toString(), "--out", second.toString(), "--format", "hf-llama");
            assertEquals(0, ok.status(), ok.err());
            Cli exists = cli("export", "--checkpoint", first.toString(), "--out", second.toString());
            assertEquals(2, exists.status());
            assertTrue(exists.err().contains("--force"), exists.err());
            assertEquals(0, cli("export", "--checkpoint", first.toString(), "--out", second.toString(), "--force").status());

            assertTrue(ok.out().contains("tokenizer.json") && ok.out().contains("200019"), ok.out());
            int[] ids = randomIds(8, c.vocab(), 3);
            float[] want = expandLogits(logits(m, ids), c.vocab(), prefixRows(c.vocab()));
            try (LlamaModel back = HfLlamaExport.load(be, second, 1, 8)) {
                TextGeneratorTest.assertClose(want, logits(back, ids), 1e-5, "exported twice");
            }
            assertNoLeftovers();
        }
    }

    /** A training checkpoint of a random Leviathan model over a compacted vocabulary, exported and sampled. */
    @Test
    void trainingCheckpointsExportAndGenerate() throws IOException {
        Tokenizer tok = Tokenizer.of("o200k_base");
        VocabularyMap map = TextGeneratorTest.map(tok, 31);
        ModelConfig c = TextGeneratorTest.tinyLeviathan(map.size());
        Path run = tmp.resolve("run");
        try (LlamaModel m = random(c, 2, 8, 14);
             AdamW opt = new AdamW(be, m.parameters(), new AdamWConfig(0.9f, 0.95f, 1e-8f, 0.1f))) {
            Checkpoint.save(run.resolve(Checkpoint.DIR), 3, m, opt,
                    java.util.Map.of("tokenizer", tok.name(), "vocabulary_map", Checkpoint.vocabularyText(map)), 2);

            Path out = tmp.resolve("hf");
            HfLlamaExport.export(run, out);
            JsonNode cfg = JSON.readTree(out.resolve("config.json").toFile());
            assertEquals(tok.vocabSize(), cfg.get("vocab_size").asInt());
            assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")));
            try (TensorArena a = new TensorArena()) {
                SafeTensors st = SafeTensors.open(out.resolve("model.safetensors"), a);
                assertTrue(st.names().stream().noneMatch(n -> n.startsWith("adamw.") || n.contains("generator")), st.names().toString());
            }
            int[] ids = randomIds(16, c.vocab(), 8);
            int[] rowOf = VocabularyExpansion.trainedRowOf(map.size(), tok.vocabSize(), Optional.of(map));
            float[] want = expandLogits(logits(m, ids), c.vocab(), rowOf);
            int[] original = map.toOriginal(ids);
            try (LlamaModel back = HfLlamaExport.load(be, out, 2, 8)) {
                TextGeneratorTest.assertClose(want, logits(back, original), 1e-5, "checkpoint export");
            }
            float[] ref = HfReference.logits(out, Arrays.copyOf(original, 8));
            TextGeneratorTest.assertClose(Arrays.copyOf(want, 8 * tok.vocabSize()), ref, 1e-4, "checkpoint export, reference");

            // the CLI reads the checkpoint (run folder) and an export alike, and greedy text agrees
            String viaApi = "The cat" + TextGenerator.generate(m, tok, Optional.of(map), "The cat", 4, 0f, 0, 1f, 0);
            for (Path src : List.of(run, out)) {
                Cli r = cli("generate", "--checkpoint", src.toString(), "--prompt", "The cat", "--max-tokens", "4",
                        "--temperature", "0");
                assertEquals(0, r.status(), r.err());
                assertEquals(viaApi + System.lineSeparator(), r.out(), "generate from " + src);
            }
            Cli ex = cli("export", "--checkpoint", run.toString(), "--out", tmp.resolve("hf2").toString());
            assertEquals(0, ex.status(), ex.err());
        }
    }

    @Test
    void readConfigRejectsWhatThisLibraryCannotRun() throws IOException {
        Path dir = tmp.resolve("gqa");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), """
                {"model_type": "llama", "hidden_size": 16, "num_attention_heads": 4, "num_key_value_heads": 2,
                 "num_hidden_layers": 1, "intermediate_size": 32, "vocab_size": 10, "max_position_embeddings": 8}
                """);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> HfLlamaExport.readConfig(dir))
                .getMessage().contains("grouped-query"));
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"mistral\"}");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> HfLlamaExport.readConfig(dir))
                .getMessage().contains("llama"));
    }

    private void assertNoLeftovers() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            List<String> hidden = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList();
            assertTrue(hidden.isEmpty(), "temporary folders left behind: " + hidden);
        }
    }

    /**
     * An independent transcription of Hugging Face {@code transformers}' {@code LlamaForCausalLM} forward pass
     * (modeling_llama.py) in plain double-precision Java, reading only {@code config.json} and
     * {@code model.safetensors}: {@code nn.Linear} is {@code y = x W^T} with {@code W (out, in)};
     * {@code q.view(B, T, H, Dh)}; {@code inv_freq = 1 / theta^(arange(0, Dh, 2) / Dh)};
     * {@code emb = cat(freqs, freqs)}; {@code q * cos + rotate_half(q) * sin} with
     * {@code rotate_half(x) = cat(-x[Dh/2:], x[:Dh/2])}; causal softmax of {@code q k^T / sqrt(Dh)};
     * {@code LlamaRMSNorm}: {@code w * x / sqrt(mean(x^2) + eps)}; MLP {@code down(silu(gate(x)) * up(x))}.
     */
    static final class HfReference {
        private HfReference() {}

        static float[] logits(Path dir, int[] ids) {
            try (TensorArena arena = new TensorArena()) {
                JsonNode cfg = JSON.readTree(dir.resolve("config.json").toFile());
                SafeTensors st = SafeTensors.open(dir.resolve("model.safetensors"), arena);
                int d = cfg.get("hidden_size").asInt();
                int nh = cfg.get("num_attention_heads").asInt();
                int dh = d / nh;
                int layers = cfg.get("num_hidden_layers").asInt();
                int vocab = cfg.get("vocab_size").asInt();
                double eps = cfg.get("rms_norm_eps").asDouble();
                double theta = cfg.get("rope_theta").asDouble();
                int t = ids.length;

                double[][] emb = matrix(st.get("model.embed_tokens.weight"));
                double[][] x = new double[t][];
                for (int i = 0; i < t; i++) {
                    x[i] = emb[ids[i]].clone();
                }
                for (int l = 0; l < layers; l++) {
                    String p = "model.layers." + l + ".";
                    double[][] h = rmsNorm(x, vector(st.get(p + "input_layernorm.weight")), eps);
                    double[][] q = linear(h, matrix(st.get(p + "self_attn.q_proj.weight")));
                    double[][] k = linear(h, matrix(st.get(p + "self_attn.k_proj.weight")));
                    double[][] v = linear(h, matrix(st.get(p + "self_attn.v_proj.weight")));
                    rope(q, nh, dh, theta);
                    rope(k, nh, dh, theta);
                    double[][] att = new double[t][d];
                    for (int head = 0; head < nh; head++) {
                        int o = head * dh;
                        for (int i = 0; i < t; i++) {
                            double[] s = new double[i + 1];
                            double max = Double.NEGATIVE_INFINITY;
                            for (int j = 0; j <= i; j++) {
                                double dot = 0;
                                for (int e = 0; e < dh; e++) {
                                    dot += q[i][o + e] * k[j][o + e];
                                }
                                s[j] = dot / Math.sqrt(dh);
                                max = Math.max(max, s[j]);
                            }
                            double z = 0;
                            for (int j = 0; j <= i; j++) {
                                s[j] = Math.exp(s[j] - max);
                                z += s[j];
                            }
                            for (int j = 0; j <= i; j++) {
                                for (int e = 0; e < dh; e++) {
                                    att[i][o + e] += s[j] / z * v[j][o + e];
                                }
                            }
                        }
                    }
                    add(x, linear(att, matrix(st.get(p + "self_attn.o_proj.weight"))));
                    double[][] g = rmsNorm(x, vector(st.get(p + "post_attention_layernorm.weight")), eps);
                    double[][] gate = linear(g, matrix(st.get(p + "mlp.gate_proj.weight")));
                    double[][] up = linear(g, matrix(st.get(p + "mlp.up_proj.weight")));
                    for (int i = 0; i < t; i++) {
                        for (int j = 0; j < gate[i].length; j++) {
                            double a = gate[i][j];
                            gate[i][j] = a / (1 + Math.exp(-a)) * up[i][j];
                        }
                    }
                    add(x, linear(gate, matrix(st.get(p + "mlp.down_proj.weight"))));
                }
                double[][] hf = rmsNorm(x, vector(st.get("model.norm.weight")), eps);
                boolean tied = cfg.get("tie_word_embeddings").asBoolean();
                double[][] logits = linear(hf, tied ? emb : matrix(st.get("lm_head.weight")));
                float[] out = new float[t * vocab];
                for (int i = 0; i < t; i++) {
                    for (int j = 0; j < vocab; j++) {
                        out[i * vocab + j] = (float) logits[i][j];
                    }
                }
                return out;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        /** In place, per head: {@code x * cos + rotate_half(x) * sin} at position i. */
        private static void rope(double[][] x, int nh, int dh, double theta) {
            int half = dh / 2;
            for (int pos = 0; pos < x.length; pos++) {
                for (int head = 0; head < nh; head++) {
                    int o = head * dh;
                    double[] y = new double[dh];
                    for (int e = 0; e < dh; e++) {
                        double invFreq = 1 / Math.pow(theta, (2.0 * (e % half)) / dh); // emb = cat(freqs, freqs)
                        double ang = pos * invFreq;
                        double rot = e < half ? -x[pos][o + e + half] : x[pos][o + e - half];
                        y[e] = x[pos][o + e] * Math.cos(ang) + rot * Math.sin(ang);
                    }
                    System.arraycopy(y, 0, x[pos], o, dh);
                }
            }
        }

        private static double[][] rmsNorm(double[][] x, double[] w, double eps) {
            double[][] out = new double[x.length][];
            for (int i = 0; i < x.length; i++) {
                double ms = 0;
                for (double a : x[i]) {
                    ms += a * a;
                }
                double r = 1 / Math.sqrt(ms / x[i].length + eps);
                out[i] = new double[x[i].length];
                for (int j = 0; j < w.length; j++) {
                    out[i][j] = w[j] * (x[i][j] * r);
                }
            }
            return out;
        }

        /** {@code nn.Linear} without bias: {@code y = x W^T}, {@code W} of shape (out, in). */
        private static double[][] linear(double[][] x, double[][] w) {
            double[][] y = new double[x.length][w.length];
            for (int i = 0; i < x.length; i++) {
                for (int o = 0; o < w.length; o++) {
                    double s = 0;
                    for (int j = 0; j < x[i].length; j++) {
                        s += x[i][j] * w[o][j];
                    }
                    y[i][o] = s;
                }
            }
            return y;
        }

        private static void add(double[][] x, double[][] y) {
            for (int i = 0; i < x.length; i++) {
                for (int j = 0; j < x[i].length; j++) {
                    x[i][j] += y[i][j];
                }
            }
        }

        private static double[][] matrix(Tensor t) {
            int rows = (int) t.size(0);
            int cols = (int) t.size(1);
            float[] f = t.toFloatArray();
            double[][] m = new double[rows][cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    m[i][j] = f[i * cols + j];
                }
            }
            return m;
        }

        private static double[] vector(Tensor t) {
            float[] f = t.toFloatArray();
            double[] v = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                v[i] = f[i];
            }
            return v;
        }
    }
}
