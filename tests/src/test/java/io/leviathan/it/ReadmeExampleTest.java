package io.leviathan.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import org.junit.jupiter.api.Test;

/** The README's API example, kept compiling and checked against values worked out by hand. */
class ReadmeExampleTest {

    @Test
    void readmeExampleRunsAndMatchesHandComputation() {
        try (Backend be = Backends.cpu(); TensorArena arena = be.newArena()) {
            // ---- the README's code, verbatim
            Tensor x = arena.allocate(DType.F32, 2, 3);                         // 2 tokens, width 3
            be.upload(new float[] {0.5f, -1f, 2f, 0.25f, 1f, -0.5f}, x);
            Tensor w = arena.allocate(DType.F32, 4, 3);
            be.upload(new float[] {0.1f, 0.2f, -0.3f, 0.4f, -0.5f, 0.6f, 0.7f, 0.8f, -0.9f, 1f, 0f, -1f}, w);
            Tensor targets = arena.allocate(DType.I32, 2);
            be.upload(new int[] {2, 0}, targets);
            Tensor logits = arena.allocate(DType.F32, 2, 4);
            Tensor dLogits = arena.allocate(DType.F32, 2, 4);
            Tensor dW = arena.allocate(DType.F32, 4, 3);

            be.matmul(x, false, w, true, logits, 1f, 0f);                       // logits = x W^T
            double loss = be.crossEntropy(logits, targets, -100, null, dLogits, 1f);
            be.matmul(dLogits, true, x, false, dW, 1f, 1f);                      // dW += dLogits^T x
            double norm = be.globalL2Norm(java.util.List.of(dW));                // a Java value: downloaded
            float[] grad = be.downloadFloats(dW);                                // dW on the host, row-major
            System.out.printf("loss %.4f, |dW| %.4f, dW[0][0] %.4f%n", loss, norm, grad[0]);
            // ---- end of the README's code

            // By hand, in double.
            float[] lg = be.downloadFloats(logits);  // [2, 4] row-major
            double[][] xs = {{0.5, -1, 2}, {0.25, 1, -0.5}};
            double[][] ws = {{0.1, 0.2, -0.3}, {0.4, -0.5, 0.6}, {0.7, 0.8, -0.9}, {1, 0, -1}};
            int[] t = {2, 0};
            double expectLoss = 0;
            double[][] dl = new double[2][4];
            for (int i = 0; i < 2; i++) {
                double[] z = new double[4];
                double max = Double.NEGATIVE_INFINITY;
                for (int o = 0; o < 4; o++) {
                    for (int c = 0; c < 3; c++) {
                        z[o] += xs[i][c] * ws[o][c];
                    }
                    assertEquals(z[o], lg[i * 4 + o], 1e-6);
                    max = Math.max(max, z[o]);
                }
                double se = 0;
                for (double v : z) {
                    se += Math.exp(v - max);
                }
                expectLoss += (Math.log(se) + max - z[t[i]]) / 2;
                for (int o = 0; o < 4; o++) {
                    dl[i][o] = (Math.exp(z[o] - max) / se - (o == t[i] ? 1 : 0)) / 2;
                }
            }
            assertEquals(expectLoss, loss, 1e-6);
            double sq = 0;
            for (int o = 0; o < 4; o++) {
                for (int c = 0; c < 3; c++) {
                    double g = dl[0][o] * xs[0][c] + dl[1][o] * xs[1][c];
                    assertEquals(g, grad[o * 3 + c], 1e-6);
                    sq += g * g;
                }
            }
            assertEquals(Math.sqrt(sq), norm, 1e-6);
            assertTrue(loss > 0);
        }
    }
}
