package io.leviathan.cli;

import static io.leviathan.cli.Result.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.model.ModelConfigFiles;
import io.leviathan.model.ModelConfigs;
import io.leviathan.model.ParameterCount;
import io.leviathan.model.Presets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ./leviathan info --model ...}: configuration and parameter breakdown. */
class InfoModelTest {

    @TempDir
    Path dir;


    private static String grouped(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    @Test
    void aDensePresetShowsItsBreakdownAndLeviathanCounterparts() {
        Result r = run("info", "--model", "paper-110m");
        assertEquals(0, r.status(), r.err());
        long total = ParameterCount.total(Presets.get("paper-110m"));
        assertTrue(r.out().contains("Model paper-110m: dense"), r.out());
        assertTrue(r.out().contains("d_model 256") && r.out().contains("layers 8") && r.out().contains("ffn 704"), r.out());
        assertTrue(r.out().contains("embedding.table") && r.out().contains("body.attention")
                && r.out().contains("head"), r.out());
        assertTrue(r.out().matches("(?s).*total\\s+" + Pattern.quote(grouped(total)) + "\n.*"), r.out());
        ModelConfigs.IsoParametric iso = ModelConfigs.isoParametric(Presets.get("paper-110m"));
        assertTrue(r.out().contains("Iso-body Leviathan") && r.out().contains(
                grouped(ParameterCount.total(ModelConfigs.isoBody(Presets.get("paper-110m"))))), r.out());
        assertTrue(r.out().contains("Isoparametric Leviathan: " + iso.layers() + " layers, ffn " + iso.ffnHidden()
                + ", total " + grouped(iso.leviathanTotal())), r.out());
        assertFalse(r.out().contains("Backends:"), "the machine summary is for plain info");
    }

    @Test
    void familyAndVocabOverrides() {
        Result r = run("info", "--model", "tiny", "--family", "leviathan", "--vocab", "1024");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("Model tiny: leviathan") && r.out().contains("vocab 1,024"), r.out());
        assertTrue(r.out().contains("generator.spline") && r.out().contains("base 11"), r.out());
        assertFalse(r.out().contains("embedding.table") || r.out().contains("Isoparametric"), r.out());
        long total = ParameterCount.total(ModelConfigs.isoBody(Presets.get("tiny").withVocab(1024)));
        assertTrue(r.out().contains(grouped(total)), r.out());
    }

    @Test
    void jsonIsOneObjectWithConfigComponentsAndTotal() {
        Result r = run("info", "--model=small", "--vocab=5000", "--json");
        assertEquals(0, r.status(), r.err());
        String json = r.out().strip();
        assertTrue(json.startsWith("{") && json.endsWith("}"), json);
        long total = ParameterCount.total(Presets.get("small").withVocab(5000));
        assertTrue(json.contains("\"total\" : " + total), json);
        assertTrue(json.contains("\"embedding.table\" : " + 5000L * 128), json);
        assertTrue(json.contains("\"vocab\" : 5000") && json.contains("\"preset\" : \"small\""), json);
        assertTrue(json.contains("\"isoParametricLeviathan\""), json);
        // the config inside parses back with the file reader
        int start = json.indexOf("\"config\" : ") + "\"config\" : ".length();
        int end = json.indexOf("}", start) + 1;
        assertEquals(Presets.get("small").withVocab(5000), ModelConfigFiles.parse(json.substring(start, end), "out").config());
        Matcher m = Pattern.compile("\\{").matcher(json);
        int objects = 0;
        while (m.find()) {
            objects++;
        }
        assertEquals(5, objects, "root, config, parameters, iso-body, isoparametric: " + json);
    }

    @Test
    void aConfigFileIsAModelToo() throws Exception {
        Path f = dir.resolve("m.json");
        Files.writeString(f, "{\"preset\": \"tiny\", \"vocab\": 300, \"layers\": 3}");
        Result r = run("info", "--model", f.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("(preset tiny)") && r.out().contains("layers 3") && r.out().contains("vocab 300"), r.out());
        // generator outweighs the 300-row table: the isoparametric search reports why there is none
        assertTrue(r.out().contains("Isoparametric Leviathan: none"), r.out());

        Files.writeString(f, "{\"preset\": \"tiny\", \"layerz\": 3}");
        Result bad = run("info", "--model", f.toString());
        assertEquals(2, bad.status(), "a bad config file is a usage error");
        assertTrue(bad.err().contains("m.json") && bad.err().contains("unknown key 'layerz'")
                && bad.err().contains("layers"), bad.err());
    }

    @Test
    void badFlagsAreUsageErrorsListingTheValidOnes() {
        Result unknown = run("info", "--model", "tiny", "--bogus");
        assertEquals(2, unknown.status());
        assertTrue(unknown.err().contains("--bogus") && unknown.err().contains("--model")
                && unknown.err().contains("--family") && unknown.err().contains("--vocab")
                && unknown.err().contains("--json"), unknown.err());
        Result noModel = run("info", "--json");
        assertEquals(2, noModel.status());
        assertTrue(noModel.err().contains("--model") && noModel.err().contains("tiny"), noModel.err());
        Result missingValue = run("info", "--model");
        assertEquals(2, missingValue.status());
        assertTrue(missingValue.err().contains("Missing required parameter for option '--model'"), missingValue.err());
        Result badVocab = run("info", "--model", "tiny", "--vocab", "lots");
        assertEquals(2, badVocab.status());
        assertTrue(badVocab.err().contains("--vocab") && badVocab.err().contains("lots"), badVocab.err());
        Result badFamily = run("info", "--model", "tiny", "--family", "sparse");
        assertEquals(2, badFamily.status());
        assertTrue(badFamily.err().contains("dense, leviathan"), badFamily.err());
        Result badModel = run("info", "--model", "enormous");
        assertEquals(2, badModel.status());
        assertTrue(badModel.err().contains("enormous") && badModel.err().contains("paper-420m"), badModel.err());
    }

    @Test
    void batchAndSeqPrintTheMemoryEstimateItemByItem() {
        Result r = run("info", "--model", "tiny", "--family", "leviathan", "--batch", "8", "--seq", "64",
                "--precision", "bf16");
        assertEquals(0, r.status(), r.err());
        io.leviathan.model.MemoryEstimate e = io.leviathan.model.MemoryEstimate.training(
                ModelConfigs.isoBody(Presets.get("tiny")), 8, 64, io.leviathan.model.Precision.BF16);
        assertTrue(r.out().contains("Memory of training at batch 8 x seq 64 (bf16)"), r.out());
        for (io.leviathan.model.MemoryEstimate.Item i : e.items()) {
            assertTrue(r.out().contains(i.name()) && r.out().contains(grouped(i.bytes()) + " B"),
                    i + " in\n" + r.out());
        }
        assertTrue(r.out().contains(grouped(e.bytes(io.leviathan.model.MemoryEstimate.Place.BACKEND)) + " B"), r.out());
        assertTrue(r.out().contains("On this machine's CPU: host memory available"), r.out());

        Result json = run("info", "--model", "tiny", "--batch", "8", "--seq", "64", "--json");
        assertEquals(0, json.status(), json.err());
        long backend = io.leviathan.model.MemoryEstimate.training(Presets.get("tiny"), 8, 64,
                io.leviathan.model.Precision.FP32).bytes(io.leviathan.model.MemoryEstimate.Place.BACKEND);
        assertTrue(json.out().replace(" ", "").contains("\"backendBytes\":" + backend), json.out());
    }

    @Test
    void aMemoryEstimateNeedsBothBatchAndSeq() {
        Result r = run("info", "--model", "tiny", "--batch", "8");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("needs both --batch B and --seq T"), r.err());
        r = run("info", "--model", "tiny", "--batch", "8", "--seq", "999");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("exceeds the model's maxSeq 256"), r.err());
        r = run("info", "--model", "tiny", "--batch", "0", "--seq", "8");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--batch needs a positive integer"), r.err());
        r = run("info", "--batch", "8", "--seq", "8");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("add --model"), r.err());
    }
}
