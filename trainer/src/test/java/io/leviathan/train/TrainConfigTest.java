package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.AttentionChoice;
import io.leviathan.model.Family;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.Presets;
import org.junit.jupiter.api.Test;

class TrainConfigTest {

    @Test
    void defaultsAreTheTinyLeviathanOnTheDefaultCorpus() {
        TrainConfig c = TrainConfig.defaults();
        assertEquals("tiny", c.model().textValue());
        assertNull(c.data());
        ModelConfig m = c.modelConfig(1234);
        assertEquals(Family.LEVIATHAN, m.family());
        assertEquals(1234, m.vocab());
        assertEquals(Presets.get("tiny").dModel(), m.dModel());
        assertEquals(c.lr() / 10, c.effectiveMinLr());
        assertEquals(c.steps() / 20, c.effectiveWarmup());
    }

    @Test
    void jsonRoundTripsEveryKey() {
        TrainConfig c = TrainConfig.parse("{\"model\": {\"preset\": \"tiny\", \"dModel\": 32, \"heads\": 2},"
                + " \"family\": \"dense\", \"vocab\": 500, \"steps\": 7, \"minLr\": 1e-5, \"warmup\": 3, \"clip\": 0,"
                + " \"out\": \"x\", \"seed\": -5}", "t");
        TrainConfig back = TrainConfig.parse(c.toJson(), "back");
        assertEquals(c, back);
        assertEquals(TrainConfig.KEYS.size(), back.toMap().size());
        ModelConfig m = back.modelConfig(99);
        assertEquals(500, m.vocab());
        assertEquals(32, m.dModel());
        assertEquals(Family.DENSE, m.family());
        assertEquals(1e-5f, back.effectiveMinLr());
    }

    @Test
    void inlineModelMayOmitVocab() {
        TrainConfig c = TrainConfig.parse("{\"model\": " + TestData.DENSE + ", \"family\": null}", "t");
        assertEquals(321, c.modelConfig(321).vocab());
        assertEquals(16, c.modelConfig(321).dModel());
    }

    @Test
    void unknownKeysListTheValidOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainConfig.parse("{\"stpes\": 10, \"lr\": 1e-3}", "my.json"));
        assertTrue(e.getMessage().contains("my.json"), e.getMessage());
        assertTrue(e.getMessage().contains("'stpes'"), e.getMessage());
        assertTrue(e.getMessage().contains("valid keys: " + String.join(", ", TrainConfig.KEYS)), e.getMessage());
        IllegalArgumentException cli = assertThrows(IllegalArgumentException.class,
                () -> TrainConfig.defaults().with("stpes", "3"));
        assertTrue(cli.getMessage().contains("valid keys"), cli.getMessage());
    }

    @Test
    void badValuesSayWhatIsValid() {
        assertMessage("{\"steps\": 0}", "'steps' must be >= 1");
        assertMessage("{\"steps\": \"ten\"}", "'steps' must be an integer");
        assertMessage("{\"lr\": -1}", "'lr' must be a finite number > 0");
        assertMessage("{\"beta2\": 1.0}", "'beta2' must be in [0, 1)");
        assertMessage("{\"device\": \"tpu\"}", "'device' must be one of cpu, cuda, auto");
        assertMessage("{\"family\": \"sparse\"}", "'family' must be dense or leviathan");
        assertMessage("{\"model\": \"huge\"}", "valid presets: tiny");
        assertMessage("{\"model\": {\"preset\": \"tiny\", \"dmodel\": 3}}", "unknown key 'dmodel'");
        assertMessage("{\"minLr\": 1, \"lr\": 0.1}", "'minLr' must be in [0, lr");
        assertMessage("{\"warmup\": 50, \"steps\": 10}", "'warmup' must be in [0, steps = 10]");
        assertMessage("{\"tokenizer\": \"gpt2\"}", "'tokenizer' must be one of o200k_base, cl100k_base");
        assertMessage("[1, 2]", "expected a JSON object");
        assertMessage("{\"steps\": 1,}", "not valid JSON");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainConfig.defaults().with("batch", "eight"));
        assertTrue(e.getMessage().contains("'batch' needs a number"), e.getMessage());
    }

    @Test
    void commandLineValuesOverride() {
        TrainConfig c = TrainConfig.defaults().with("steps", "42").with("lr", "1e-3").with("family", "dense")
                .with("model", "small").with("minLr", "null");
        assertEquals(42, c.steps());
        assertEquals(1e-3f, c.lr());
        assertEquals(1e-4, c.effectiveMinLr(), 1e-10);
        assertEquals(Presets.get("small").withVocab(10), c.modelConfig(10));
    }

    private static void assertMessage(String json, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.parse(json, "cfg.json"));
        assertTrue(e.getMessage().contains(expected), "'" + e.getMessage() + "' should contain '" + expected + "'");
        assertTrue(e.getMessage().startsWith("cfg.json"), e.getMessage());
    }

    @Test
    void attentionIsAutoByDefaultAndTakesTheThreeChoices() {
        assertEquals(AttentionChoice.AUTO, TrainConfig.defaults().attentionChoice());
        assertEquals(AttentionChoice.NATIVE, TrainConfig.defaults().with("attention", "native").attentionChoice());
        TrainConfig c = TrainConfig.parse("{\"device\": \"cuda\", \"attention\": \"cudnn\"}", "t");
        assertEquals(AttentionChoice.CUDNN, c.attentionChoice());
        assertEquals(c, TrainConfig.parse(c.toJson(), "back"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainConfig.defaults().with("attention", "flash"));
        assertEquals("--attention: key 'attention' must be one of auto, cudnn, native, got 'flash'", e.getMessage());
    }

    @Test
    void cudnnAttentionOnTheCpuIsRefusedNamingBothKeys() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainConfig.parse("{\"attention\": \"cudnn\"}", "run.json"));
        assertTrue(e.getMessage().startsWith("run.json: key 'attention' is 'cudnn', which needs key 'device' cuda"),
                e.getMessage());
        assertEquals(AttentionChoice.CUDNN,
                TrainConfig.parse("{\"device\": \"auto\", \"attention\": \"cudnn\"}", "t").attentionChoice());
    }
}
