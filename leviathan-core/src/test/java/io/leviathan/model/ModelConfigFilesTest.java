package io.leviathan.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigFilesTest {

    @TempDir
    Path dir;

    @Test
    void writeThenReadRoundTripsEveryField() {
        ModelConfig dense = Presets.get("tiny");
        ModelConfig tied = new ModelConfig(Family.DENSE, 1000, 48, 3, 3, 136, 1e-6f, 5e5f, 77, true, null);
        ModelConfig lev = Presets.get("small").asLeviathan(new GeneratorConfig(4, 64, 2, 16, 32, true, false, 3e-5f));
        for (ModelConfig c : List.of(dense, tied, lev)) {
            Path f = dir.resolve("c.json");
            ModelConfigFiles.write(f, "tiny", c);
            ModelConfigFiles.Loaded back = ModelConfigFiles.read(f);
            assertEquals(c, back.config());
            assertEquals("tiny", back.preset());
            ModelConfigFiles.write(f, null, c);
            assertNull(ModelConfigFiles.read(f).preset());
            assertEquals(c, ModelConfigFiles.read(f).config());
        }
    }

    @Test
    void writtenFilesAreReadableJsonWithDecimalFloats() throws Exception {
        Path f = dir.resolve("tiny.json");
        ModelConfigFiles.write(f, "tiny", Presets.get("tiny"));
        String text = Files.readString(f);
        assertTrue(text.contains("\"preset\" : \"tiny\""), text);
        assertTrue(text.contains("\"normEps\" : 1.0E-5"), text);
        assertTrue(text.contains("\"family\" : \"dense\""), text);
    }

    @Test
    void aPresetWithOverrides() {
        ModelConfigFiles.Loaded l = ModelConfigFiles.parse("""
                {"preset": "small", "vocab": 4096, "family": "leviathan", "generator": {"heads": 4}}
                """, "x.json");
        assertEquals("small", l.preset());
        ModelConfig c = l.config();
        assertEquals(Family.LEVIATHAN, c.family());
        assertEquals(4096, c.vocab());
        assertEquals(128, c.dModel());
        assertEquals(4, c.layers());
        assertEquals(4, c.generator().heads());
        assertEquals(GeneratorConfig.defaults().seedDim(), c.generator().seedDim());
        ModelConfig lev = ModelConfigFiles.parse("{\"preset\": \"tiny\", \"family\": \"leviathan\"}", "y").config();
        assertEquals(GeneratorConfig.defaults(), lev.generator());
        // a new width without a new ffnHidden takes LLaMA's rule for that width
        assertEquals(ModelConfig.llamaFfnHidden(96),
                ModelConfigFiles.parse("{\"preset\": \"tiny\", \"dModel\": 96}", "z").config().ffnHidden());
    }

    @Test
    void aFullConfigWithoutPresetTakesDefaults() {
        ModelConfig c = ModelConfigFiles.parse("""
                {"family": "dense", "vocab": 300, "dModel": 32, "layers": 1, "heads": 2}
                """, "m.json").config();
        assertEquals(new ModelConfig(Family.DENSE, 300, 32, 1, 2, ModelConfig.llamaFfnHidden(32), 1e-5f, 10_000f,
                1024, false, null), c);
    }

    @Test
    void errorsNameTheFileTheKeyAndWhatIsValid() {
        assertError("{\"preset\": \"tiny\", \"dmodel\": 4}", "unknown key 'dmodel'", "valid keys", "dModel", "bad.json");
        assertError("{\"preset\": \"tiny\", \"family\": \"leviathan\", \"generator\": {\"knotz\": 3}}",
                "unknown key 'generator.knotz'", "knots", "lnEps");
        assertError("{\"preset\": \"tiny\", \"vocab\": \"many\"}", "'vocab' must be an integer", "\"many\"");
        assertError("{\"preset\": \"tiny\", \"vocab\": 1.5}", "'vocab' must be an integer");
        assertError("{\"preset\": \"tiny\", \"vocab\": 0}", "invalid model config", "vocab must be >= 1");
        assertError("{\"preset\": \"tiny\", \"tiedHead\": 1}", "'tiedHead' must be true or false");
        assertError("{\"preset\": \"tiny\", \"family\": \"sparse\"}", "unknown family 'sparse'", "leviathan");
        assertError("{\"preset\": \"huge\"}", "unknown model preset 'huge'", "paper-420m");
        assertError("{\"vocab\": 10}", "missing key 'family'");
        assertError("{\"preset\": \"tiny\", \"generator\": {}}", "only valid for family 'leviathan'");
        assertError("{\"preset\": \"tiny\", \"family\": \"leviathan\", \"generator\": {\"knots\": 2}}",
                "invalid generator", "knots must be >= 3");
        assertError("{\"preset\": \"tiny\", \"heads\": 3}", "divisible");
        assertError("{\"preset\": \"tiny\",}", "not valid JSON");
        assertError("[1, 2]", "expected a JSON object");
        assertError("{\"preset\": \"tiny\", \"preset\": \"small\"}", "not valid JSON", "preset");
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> ModelConfigFiles.read(dir.resolve("nope.json")));
        assertTrue(missing.getMessage().contains("nope.json") && missing.getMessage().contains("no such file"),
                missing.getMessage());
    }

    private static void assertError(String json, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelConfigFiles.parse(json, "bad.json"));
        assertTrue(e.getMessage().startsWith("bad.json: "), e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "'" + f + "' missing from: " + e.getMessage());
        }
    }
}
