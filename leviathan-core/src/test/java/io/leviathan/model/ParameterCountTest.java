package io.leviathan.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ParameterCountTest {

    /** The reference configuration of {@code shared/reference}: V 1024, D 128, 2 layers, 2 heads, ffn 384. */
    static ModelConfig referenceDense() {
        return new ModelConfig(Family.DENSE, 1024, 128, 2, 2, 384, 1e-5f, 10_000f, 2048, false, null);
    }

    @Test
    void formulaEqualsTheTensorsOfBuiltModelsPerComponent() {
        ModelConfig dense = new ModelConfig(Family.DENSE, 50, 16, 2, 2, 40, 1e-5f, 10_000f, 8, false, null);
        ModelConfig tied = new ModelConfig(Family.DENSE, 50, 16, 3, 4, 48, 1e-5f, 10_000f, 8, true, null);
        ModelConfig lev = dense.withVocab(100).asLeviathan(GeneratorConfig.defaults());
        ModelConfig shared = dense.withVocab(1000).asLeviathan(new GeneratorConfig(3, 32, 4, 16, 8, true, true, 1e-5f));
        ModelConfig ref = referenceDense();
        try (Backend be = Backends.cpu(1)) {
            for (ModelConfig c : List.of(dense, tied, lev, shared, ref, ref.asLeviathan(GeneratorConfig.defaults()))) {
                ParameterCount pc = ParameterCount.of(c);
                Map<String, Long> actual = new LinkedHashMap<>();
                pc.components().keySet().forEach(k -> actual.put(k, 0L));
                long sum = 0;
                try (LlamaModel m = new LlamaModel(be, c, 1, 2)) {
                    for (Parameter p : m.parameters().all()) {
                        actual.merge(ParameterCount.componentOf(p.name()), p.value().numel(), Long::sum);
                        sum += p.value().numel();
                    }
                    assertEquals(m.parameters().count(), pc.total(), c.toString());
                }
                assertEquals(pc.components(), actual, "per component for " + c);
                assertEquals(sum, pc.total());
                assertEquals(pc.total(), pc.embeddingParameters() + pc.nonEmbedding());
            }
        }
    }

    @Test
    void referenceTotalsMatch() {
        // shared/reference/reference.json: families.dense.params.total and families.leviathan.params.total
        assertEquals(688_768L, ParameterCount.total(referenceDense()));
        assertEquals(2_857_728L, ParameterCount.total(referenceDense().asLeviathan(GeneratorConfig.defaults())));
        ParameterCount lev = ParameterCount.of(referenceDense().asLeviathan(GeneratorConfig.defaults()));
        assertEquals(3L * 11 * 128, lev.components().get(ParameterCount.CODEBOOKS)); // base 11 for V 1024
        assertEquals(8L * 128 * 32 * 64, lev.components().get(ParameterCount.SPLINE));
    }

    @Test
    void componentsAndSplitsAtTheO200kVocabulary() {
        ModelConfig c = Presets.get("paper-240m");
        ParameterCount dense = ParameterCount.of(c);
        assertEquals(List.of("embedding.table", "body.attention", "body.mlp", "body.norms", "final_norm", "head"),
                List.copyOf(dense.components().keySet()));
        assertEquals(200_019L * 512, dense.embeddingParameters());
        ParameterCount lev = ParameterCount.of(ModelConfigs.isoBody(c));
        assertEquals(List.of("generator.codebooks", "generator.seed_proj", "generator.layernorm", "generator.spline",
                "generator.out_proj", "body.attention", "body.mlp", "body.norms", "final_norm", "head"),
                List.copyOf(lev.components().keySet()));
        // docs/leviathan.md: codebooks 22,656 (b = 59), seed projections 131,072, LayerNorms 2,048,
        // splines 2,097,152, aggregation 512 D.
        assertEquals(22_656L, lev.components().get("generator.codebooks"));
        assertEquals(131_072L, lev.components().get("generator.seed_proj"));
        assertEquals(2_048L, lev.components().get("generator.layernorm"));
        assertEquals(2_097_152L, lev.components().get("generator.spline"));
        assertEquals(512L * 512, lev.components().get("generator.out_proj"));
        assertEquals(dense.nonEmbedding(), lev.nonEmbedding(), "same body and head");
        ModelConfig tied = new ModelConfig(Family.DENSE, 100, 16, 1, 2, 48, 1e-5f, 1e4f, 8, true, null);
        assertEquals(0L, ParameterCount.of(tied).components().get("head"));
        assertThrows(IllegalArgumentException.class, () -> ParameterCount.componentOf("model.bogus"));
    }

    @Test
    void presetTotalsAreDocumented() {
        Map<String, Long> documented = new LinkedHashMap<>();
        documented.put("tiny", 25_709_248L);
        documented.put("small", 52_057_984L);
        documented.put("medium", 107_229_952L);
        documented.put("paper-60m", 59_598_576L);
        documented.put("paper-110m", 108_836_608L);
        documented.put("paper-170m", 167_776_896L);
        documented.put("paper-240m", 243_367_424L);
        documented.put("paper-310m", 315_514_240L);
        documented.put("paper-420m", 420_500_736L);
        assertEquals(List.copyOf(documented.keySet()), Presets.names());
        documented.forEach((name, total) -> assertEquals(total, ParameterCount.total(Presets.get(name)), name));
        for (String name : Presets.names()) {
            ModelConfig c = Presets.get(name);
            assertEquals(Presets.DEFAULT_VOCAB, c.vocab());
            assertEquals(ModelConfig.llamaFfnHidden(c.dModel()), c.ffnHidden());
            assertEquals(name.equals("tiny") ? 256 : 1024, c.maxSeq());
            if (name.startsWith("paper-")) {
                long millions = Long.parseLong(name.substring(6, name.length() - 1));
                double ratio = ParameterCount.total(c) / (millions * 1e6);
                assertTrue(ratio > 0.97 && ratio < 1.03, name + " total " + ParameterCount.total(c));
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Presets.get("huge"));
        assertTrue(e.getMessage().contains("huge") && e.getMessage().contains("tiny")
                && e.getMessage().contains("paper-420m"), e.getMessage());
    }
}
