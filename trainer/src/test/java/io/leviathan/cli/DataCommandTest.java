package io.leviathan.cli;

import static io.leviathan.cli.Result.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataCommandTest {
    @TempDir
    Path tmp;


    @Test
    void prepareAndInfo() throws Exception {
        Path a = Files.writeString(tmp.resolve("a.txt"), "one document\nanother document\n\nthird one\n");
        Path b = Files.writeString(tmp.resolve("b.jsonl"), "{\"text\": \"fourth\"}\n{\"text\": \"fifth\"}\n");
        Path out = tmp.resolve("ds");
        Result r = run("data", "prepare", "--input", a.toString(), b.toString(), "--out", out.toString(),
                "--val-fraction", "0.2", "--compact-vocab", "--tokenizer=cl100k_base");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("tokenizer cl100k_base") && r.out().contains("compacted from 100,277"), r.out());
        assertTrue(r.out().matches("(?s).*val\\s+\\d+ tokens\\s+1 documents.*"), r.out());
        Result info = run("data", "info", out.toString());
        assertEquals(0, info.status(), info.err());
        assertTrue(info.out().matches("(?s).*train\\s+\\d+ tokens\\s+4 documents.*"), info.out());
    }

    @Test
    void badArgumentsAndInputs() throws Exception {
        Result r = run("data", "prepare", "--input", "x.txt", "--out", tmp.toString(), "--bogus");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--bogus") && r.err().contains("--compact-vocab"), r.err());
        assertEquals(2, run("data", "prepare", "--out", tmp.resolve("o").toString()).status());
        assertEquals(2, run("data", "prepare", "--input", "x.txt", "--out", "o", "--val-fraction", "1.5").status());
        assertEquals(2, run("data", "frob").status());
        Path missing = tmp.resolve("missing.jsonl.zst");
        Result m = run("data", "prepare", "--input", missing.toString(), "--out", tmp.resolve("o").toString());
        assertEquals(1, m.status());
        assertTrue(m.err().contains(missing.toString()), m.err());
        Result notDs = run("data", "info", tmp.toString());
        assertEquals(1, notDs.status());
        assertTrue(notDs.err().contains("no manifest.json"), notDs.err());
    }
}
