package io.leviathan.backend;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import java.util.Arrays;

/**
 * The argument checks of the embedding lookup, the same on every backend. Ids outside the vocabulary are
 * data, found by the kernels.
 */
public final class EmbeddingChecks {
    private EmbeddingChecks() {}

    /** ids {@code S} (I32), table {@code [V, D]}, out {@code S + [D]}. */
    public static void embedding(Tensor ids, Tensor table, Tensor out) {
        String op = "embedding";
        OpChecks.tensor(op, "ids", ids, DType.I32);
        OpChecks.f32(op, "table", table);
        OpChecks.f32Out(op, "out", out);
        shapes(op, "out", out, ids, table);
    }

    /** dOut {@code S + [D]}, ids {@code S} (I32), dTable {@code [V, D]}. */
    public static void embeddingBackward(Tensor dOut, Tensor ids, Tensor dTable) {
        String op = "embeddingBackward";
        OpChecks.f32(op, "dOut", dOut);
        OpChecks.tensor(op, "ids", ids, DType.I32);
        OpChecks.f32Out(op, "dTable", dTable);
        shapes(op, "dOut", dOut, ids, dTable);
    }

    /** ids {@code S}, table {@code [V, D]}, rows {@code S + [D]}. */
    private static void shapes(String op, String rowsName, Tensor rows, Tensor ids, Tensor table) {
        String tableName = op.equals("embedding") ? "table" : "dTable";
        if (table.rank() != 2) {
            throw new ShapeMismatchException(op + ": " + tableName + " must be [V, D] but has shape "
                    + Arrays.toString(table.shape()));
        }
        if (!rows.isRowsOf(ids) || rows.size(-1) != table.size(1)) {
            // the shapes are copied only for the message: the check itself runs every training step
            long[] idShape = ids.shape();
            long[] expected = Arrays.copyOf(idShape, idShape.length + 1);
            expected[idShape.length] = table.size(1);
            throw new ShapeMismatchException(op + ": " + rowsName + " must have shape ids + [D] = "
                    + Arrays.toString(expected) + " but has " + Arrays.toString(rows.shape()) + " (ids "
                    + Arrays.toString(idShape) + ", " + tableName + " " + Arrays.toString(table.shape()) + ")");
        }
    }
}
