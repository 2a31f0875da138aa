package io.leviathan.train;

import io.leviathan.data.VocabularyMap;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Optional;

/**
 * Expands a model's per-token tables (embedding, output head) from its trained ids to the tokenizer's full id
 * range, for an export whose ids must be the tokenizer's (see {@link HfLlamaExport}): the row of tokenizer id
 * {@code o} is the trained row that stands for {@code o}, and an id no trained row stands for gets the mean of
 * the trained rows.
 */
final class VocabularyExpansion {
    private VocabularyExpansion() {}

    /**
     * For every tokenizer id, the model row that stands for it, or -1 where none does; null when the model's
     * ids already are the tokenizer's whole range (no map and {@code modelVocab >= tokenizerVocab}).
     *
     * @throws IllegalArgumentException when the map belongs to a tokenizer of another size, or does not match the model
     */
    static int[] trainedRowOf(int modelVocab, int tokenizerVocab, Optional<VocabularyMap> map) {
        if (map.isEmpty()) {
            if (modelVocab >= tokenizerVocab) {
                return null;
            }
            int[] rows = new int[tokenizerVocab];
            Arrays.fill(rows, -1);
            for (int i = 0; i < modelVocab; i++) {
                rows[i] = i;
            }
            return rows;
        }
        VocabularyMap m = map.get();
        if (m.tokenizerVocabSize() != tokenizerVocab) {
            throw new IllegalArgumentException("the vocabulary map covers " + m.tokenizerVocabSize() + " ids of tokenizer "
                    + m.tokenizer() + ", but the tokenizer has " + tokenizerVocab);
        }
        if (m.size() != modelVocab) {
            throw new IllegalArgumentException("the vocabulary map has " + m.size() + " ids but the model's vocabulary is "
                    + modelVocab);
        }
        int[] rows = new int[tokenizerVocab];
        Arrays.fill(rows, -1);
        int[] originals = m.originalIds();
        for (int c = 0; c < originals.length; c++) {
            rows[originals[c]] = c;
        }
        return rows;
    }

    /**
     * A new {@code [rowOf.length, D]} F32 table in {@code arena}: row {@code o} is {@code trained}'s row
     * {@code rowOf[o]}, or the mean of {@code trained}'s rows where {@code rowOf[o]} is -1.
     *
     * @param trained a host F32 {@code [V, D]} table
     */
    static Tensor expand(Tensor trained, int[] rowOf, TensorArena arena) {
        if (trained.dtype() != DType.F32 || trained.rank() != 2 || !trained.isContiguous()) {
            throw new IllegalArgumentException("expand: need a contiguous F32 [V, D] table, got " + trained.describe());
        }
        long v = trained.size(0);
        int d = (int) trained.size(1);
        MemorySegment src = trained.segment();
        double[] sum = new double[d];
        for (long r = 0; r < v; r++) {
            for (int j = 0; j < d; j++) {
                sum[j] += src.getAtIndex(ValueLayout.JAVA_FLOAT, r * d + j);
            }
        }
        float[] mean = new float[d];
        for (int j = 0; j < d; j++) {
            mean[j] = (float) (sum[j] / v);
        }
        Tensor out = arena.allocate(DType.F32, rowOf.length, d);
        MemorySegment dst = out.segment();
        long rowBytes = (long) d * Float.BYTES;
        for (int o = 0; o < rowOf.length; o++) {
            int r = rowOf[o];
            if (r >= v) {
                throw new IllegalArgumentException("expand: row " + r + " for id " + o + " is outside the table's " + v + " rows");
            }
            if (r >= 0) {
                MemorySegment.copy(src, r * rowBytes, dst, o * rowBytes, rowBytes);
            } else {
                MemorySegment.copy(mean, 0, dst, ValueLayout.JAVA_FLOAT, o * rowBytes, d);
            }
        }
        return out;
    }
}
