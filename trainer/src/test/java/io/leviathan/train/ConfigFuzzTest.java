package io.leviathan.train;

import io.leviathan.fuzz.Fuzzer;
import io.leviathan.fuzz.Mutations;
import io.leviathan.model.ModelConfigFiles;
import io.leviathan.model.Presets;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The configuration parsers (training config files, model config files) over mutated JSON: every text gives
 * a configuration or an error naming its source.
 */
class ConfigFuzzTest {
    private static final String SOURCE = "fuzz-config.json";

    private static final byte[] MODEL = ModelConfigFiles.toJson(ModelConfigFiles.toMap(null,
            Presets.get("tiny").withVocab(1000))).getBytes(StandardCharsets.UTF_8);
    private static final byte[] TRAIN = TrainConfig.defaults().toJson().getBytes(StandardCharsets.UTF_8);
    /** With the model inline, so mutations reach the model parser through the training config. */
    private static final byte[] TRAIN_INLINE = TrainConfig.defaults()
            .with("model", new String(MODEL, StandardCharsets.UTF_8)).toJson().getBytes(StandardCharsets.UTF_8);

    @Test
    void trainConfigs() {
        Fuzzer.run("train-config", Fuzzer.tries(3000), SOURCE, r -> Mutations.mutate(r.nextBoolean() ? TRAIN : TRAIN_INLINE, r, 4), input -> {
            TrainConfig c = TrainConfig.defaults().merge(new String(input, StandardCharsets.UTF_8), SOURCE);
            c.modelConfig(1000);
            TrainConfig.parse(c.toJson(), SOURCE); // what was accepted also reads back
        });
    }

    @Test
    void modelConfigs() {
        Fuzzer.run("model-config", Fuzzer.tries(3000), SOURCE, ConfigFuzzTest::model,
                input -> ModelConfigFiles.parse(new String(input, StandardCharsets.UTF_8), SOURCE).config());
    }

    private static byte[] model(SplittableRandom r) {
        return Mutations.mutate(MODEL, r, 4);
    }
}
