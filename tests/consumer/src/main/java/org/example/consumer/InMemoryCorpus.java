package org.example.consumer;

import io.leviathan.data.Tokenizer;
import io.leviathan.data.VocabularyMap;
import java.util.BitSet;
import java.util.List;

/**
 * A corpus held in memory: documents tokenised with one of the library's tokenizers, each preceded by
 * end-of-text, with the vocabulary compacted to the ids that occur (so a tiny model needs no 200k-row
 * table), and cut into next-token training windows.
 */
public final class InMemoryCorpus {
    private final VocabularyMap vocabulary;
    private final int[] tokens; // compact ids: EOT doc EOT doc ...

    private InMemoryCorpus(VocabularyMap vocabulary, int[] tokens) {
        this.vocabulary = vocabulary;
        this.tokens = tokens;
    }

    /** Tokenises {@code documents} with {@code tokenizer} and compacts the ids that occur. */
    public static InMemoryCorpus of(Tokenizer tokenizer, List<String> documents) {
        int eot = tokenizer.endOfText();
        int[][] encoded = documents.stream().map(tokenizer::encode).toArray(int[][]::new);
        int total = 0;
        for (int[] doc : encoded) {
            total += 1 + doc.length;
        }
        int[] original = new int[total];
        int at = 0;
        for (int[] doc : encoded) {
            original[at++] = eot;
            System.arraycopy(doc, 0, original, at, doc.length);
            at += doc.length;
        }
        BitSet present = new BitSet(tokenizer.vocabSize());
        for (int id : original) {
            present.set(id);
        }
        VocabularyMap map = VocabularyMap.of(tokenizer, present);
        return new InMemoryCorpus(map, map.toCompact(original));
    }

    /** The compaction from tokenizer ids to model ids; its size is the model's vocabulary. */
    public VocabularyMap vocabulary() {
        return vocabulary;
    }

    /** Tokens in the corpus. */
    public int length() {
        return tokens.length;
    }

    /** Windows of {@code seq} next-token pairs the corpus holds, starting every {@code seq} tokens. */
    public int windows(int seq) {
        return (tokens.length - 1) / seq;
    }

    /**
     * Fills a batch of {@code ids.length / seq} windows, starting with window {@code first} and wrapping around:
     * {@code targets} are {@code ids} shifted by one token.
     */
    public void batch(int first, int seq, int[] ids, int[] targets) {
        if (ids.length != targets.length || ids.length % seq != 0) {
            throw new IllegalArgumentException("ids and targets must hold the same whole number of windows of " + seq
                    + ", got " + ids.length + " and " + targets.length);
        }
        int n = windows(seq);
        if (n < 1) {
            throw new IllegalArgumentException("the corpus has " + tokens.length + " tokens, fewer than seq + 1 = "
                    + (seq + 1));
        }
        for (int b = 0; b < ids.length / seq; b++) {
            int start = Math.floorMod(first + b, n) * seq;
            System.arraycopy(tokens, start, ids, b * seq, seq);
            System.arraycopy(tokens, start + 1, targets, b * seq, seq);
        }
    }
}
