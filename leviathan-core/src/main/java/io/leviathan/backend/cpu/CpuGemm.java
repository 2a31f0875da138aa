package io.leviathan.backend.cpu;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.ShapeMismatchException;
final class CpuGemm {
  static void matmul(Parallel par, Tensor a, boolean ta, Tensor b, boolean tb, Tensor c, float alpha, float beta) {
    long M = ta ? a.size(1) : a.size(0), K = ta ? a.size(0) : a.size(1);
    long K2 = tb ? b.size(1) : b.size(0), N = tb ? b.size(0) : b.size(1);
    if (K != K2) throw new ShapeMismatchException("matmul: " + java.util.Arrays.toString(a.shape()) + " " + java.util.Arrays.toString(b.shape()));
    for (long i = 0; i < M; i++) for (long j = 0; j < N; j++) { double s = 0;
      for (long k = 0; k < K; k++) s += (ta ? a.getFloat(k, i) : a.getFloat(i, k)) * (tb ? b.getFloat(j, k) : b.getFloat(k, j));
      c.setFloat((float) (alpha * s + (beta == 0 ? 0 : beta * c.getFloat(i, j))), i, j); }
  }
}
