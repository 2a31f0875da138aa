package io.leviathan.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ModelConfigsTest {

    @Test
    void isoBodyKeepsTheBodyAndSwapsTheInputStage() {
        ModelConfig dense = Presets.get("paper-110m");
        ModelConfig lev = ModelConfigs.isoBody(dense);
        assertEquals(Family.LEVIATHAN, lev.family());
        assertEquals(GeneratorConfig.defaults(), lev.generator());
        assertEquals(dense.withVocab(dense.vocab()), lev.asDense());
        assertThrows(IllegalArgumentException.class, () -> ModelConfigs.isoBody(lev));
    }

    @Test
    void isoParametricLandsWithinOnePercentForEveryPreset() {
        for (String name : Presets.names()) {
            ModelConfig dense = Presets.get(name);
            ModelConfigs.IsoParametric iso = ModelConfigs.isoParametric(dense);
            long levTotal = ParameterCount.total(iso.config());
            assertEquals(levTotal, iso.leviathanTotal());
            assertEquals(ParameterCount.total(dense), iso.denseTotal());
            assertTrue(Math.abs(iso.relativeDifference()) <= 0.01, name + ": " + iso);
            assertEquals(iso.layers(), iso.config().layers());
            assertEquals(iso.ffnHidden(), iso.config().ffnHidden());
            assertEquals(dense.dModel(), iso.config().dModel());
            assertEquals(dense.heads(), iso.config().heads());
            assertTrue(iso.layers() > dense.layers(), name + ": the generator is far smaller than the table");
        }
    }

    @Test
    void depthIsTheFirstThatLandsOrTheClosestBelowWithAWiderMlp() {
        for (String name : Presets.names()) {
            ModelConfig dense = Presets.get(name);
            ModelConfigs.IsoParametric iso = ModelConfigs.isoParametric(dense);
            long target = iso.denseTotal();
            ModelConfig lev = ModelConfigs.isoBody(dense);
            // every shallower depth (at the dense SwiGLU size) is more than 1 % below the target
            for (int l = dense.layers(); l < iso.layers(); l++) {
                long t = ParameterCount.total(lev.withLayers(l));
                assertTrue(t < target * 0.99, name + " depth " + l + " would already land: " + t);
            }
            if (iso.ffnHidden() != dense.ffnHidden()) {
                assertTrue(iso.ffnHidden() > dense.ffnHidden() && (iso.ffnHidden() - dense.ffnHidden()) % 8 == 0);
                long deeper = ParameterCount.total(lev.withLayers(iso.layers() + 1));
                assertTrue(deeper > target * 1.01, name + ": one more layer overshoots");
            }
        }
    }

    /** The tied-deep control: tied head, no generator, the untied dense total within 1 %, from the head as depth. */
    @Test
    void tiedDeepSpendsTheHeadOnDepth() {
        for (String name : Presets.names()) {
            ModelConfig dense = Presets.get(name);
            ModelConfigs.IsoParametric t = ModelConfigs.tiedDeep(dense);
            ModelConfig c = t.config();
            assertTrue(c.tiedHead() && c.family() == Family.DENSE && c.generator() == null, name);
            long untied = ParameterCount.total(dense);
            assertEquals(untied, t.denseTotal(), name);
            assertEquals(ParameterCount.total(c), t.leviathanTotal(), name);
            assertTrue(Math.abs(t.relativeDifference()) <= ModelConfigs.ISO_TOLERANCE, name + ": " + t);
            assertTrue(c.layers() > dense.layers(), name + ": the freed head becomes depth");
            assertEquals(dense.dModel(), c.dModel());
            assertEquals(0L, ParameterCount.of(c).components().get(ParameterCount.HEAD), name + ": no head of its own");
        }
    }

    @Test
    void aWideBodyNeedsTheMlpAdjustment() {
        // V 32000, D 1024, 2 layers: a layer (12.7M) is ~14 % of the dense total (90.8M); 4 layers fall
        // short by more than 1 % and 5 overshoot, so the MLP of the 4-layer model is widened.
        ModelConfig dense = new ModelConfig(Family.DENSE, 32_000, 1024, 2, 16, ModelConfig.llamaFfnHidden(1024),
                1e-5f, 1e4f, 1024, false, null);
        ModelConfigs.IsoParametric iso = ModelConfigs.isoParametric(dense);
        assertTrue(Math.abs(iso.relativeDifference()) <= 0.01, iso.toString());
        assertEquals(4, iso.layers(), iso.toString());
        assertTrue(iso.ffnHidden() > dense.ffnHidden() && (iso.ffnHidden() - dense.ffnHidden()) % 8 == 0, iso.toString());
        long oneStepLess = ParameterCount.total(iso.config().withFfnHidden(iso.ffnHidden() - 8));
        assertTrue(oneStepLess < iso.denseTotal() * 0.99, "the first hidden size that lands is taken");
    }

    @Test
    void aSmallVocabularyShrinksTheBodyInstead() {
        // The reference configuration: the default generator (2.2M) outweighs the 1024 x 128 table.
        ModelConfig dense = ParameterCountTest.referenceDense().withLayers(12);
        ModelConfigs.IsoParametric iso = ModelConfigs.isoParametric(dense);
        assertTrue(Math.abs(iso.relativeDifference()) <= 0.01, iso.toString());
        assertTrue(iso.layers() < 12, iso.toString());
        // At 2 layers nothing fits: the generator alone is larger than the whole dense model.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelConfigs.isoParametric(ParameterCountTest.referenceDense()));
        assertTrue(e.getMessage().contains("1%"), e.getMessage());
    }
}
