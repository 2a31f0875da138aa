package io.leviathan.backend.cpu;

import io.leviathan.backend.AdamWStep;
import io.leviathan.backend.Backend;
import io.leviathan.backend.KernelDataException;
import io.leviathan.tensor.Allocator;
import io.leviathan.tensor.Device;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The pure-Java CPU backend: Vector API kernels on a thread pool sized to the cores. Each operation lives in
 * a small kernel class named for what it computes; this class only routes to them.
 *
 * <p>A <b>strict</b> backend ({@link #strict(int)}) computes exactly the same, but its arenas refuse element
 * access from Java as a GPU's memory would: code above the backend must move data through
 * {@link #upload}/{@link #download}, so the test suites run on it prove that a device backend can slot in.
 * Like a device, it reports bad data found inside an operation (a token id outside the vocabulary) at the
 * next {@link #synchronize} or download instead of from the operation ({@link io.leviathan.backend.KernelDataException}).
 */
public final class CpuBackend implements Backend {
    private final Parallel par;
    private final Allocator allocator;
    private final DeviceErrorFlag errors = new DeviceErrorFlag();

    /** A backend using every available core. */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /** A backend using {@code threads} worker threads. */
    public CpuBackend(int threads) {
        this(threads, false);
    }

    private CpuBackend(int threads, boolean strict) {
        this.par = new Parallel(threads);
        this.allocator = strict ? CpuMemory.strictAllocator() : Allocator.host();
    }

    /** A strict backend using {@code threads} worker threads: its tensors refuse direct host access. */
    public static CpuBackend strict(int threads) {
        return new CpuBackend(threads, true);
    }

    /** True when this backend's arenas refuse direct host access. */
    public boolean isStrict() {
        return !allocator.hostAccessible();
    }

    @Override public String name() { return isStrict() ? "cpu-strict" : "cpu"; }
    @Override public Device device() { return Device.CPU; }
    @Override public int threads() { return par.threads(); }
    @Override public TensorArena newArena() { return new TensorArena(allocator); }

    @Override public void upload(float[] src, int srcOffset, Tensor dst) { CpuTransfer.upload(src, srcOffset, dst); }
    @Override public void upload(int[] src, int srcOffset, Tensor dst) { CpuTransfer.upload(src, srcOffset, dst); }
    @Override public void upload(MemorySegment src, Tensor dst) { CpuTransfer.upload(src, dst); }
    @Override public void download(Tensor src, float[] dst, int dstOffset) {
        synchronize();
        CpuTransfer.download(src, dst, dstOffset);
    }
    @Override public void download(Tensor src, int[] dst, int dstOffset) {
        synchronize();
        CpuTransfer.download(src, dst, dstOffset);
    }
    @Override public void download(Tensor src, MemorySegment dst) {
        synchronize();
        CpuTransfer.download(src, dst);
    }
    /** Kernels run to completion before returning; a strict backend throws the errors its kernels recorded. */
    @Override public void synchronize() { errors.throwIfSet(); }

    /** Bad data an operation found: thrown at once, or on a strict backend recorded for the next sync. */
    private void report(KernelDataException e) {
        if (!isStrict()) {
            throw e;
        }
        errors.record(e);
    }

    @Override public void copy(Tensor src, Tensor dst) { CpuElementwise.copy(par, src, dst); }
    @Override public void fill(Tensor t, float value) { CpuElementwise.fill(par, t, value); }

    @Override
    public void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, float alpha, float beta) {
        CpuGemm.matmul(par, a, transA, b, transB, c, alpha, beta);
    }

    @Override public void add(Tensor a, Tensor b, Tensor out) { CpuElementwise.add(par, a, b, out); }
    @Override public void mul(Tensor a, Tensor b, Tensor out) { CpuElementwise.mul(par, a, b, out); }
    @Override public void mulBackward(Tensor dOut, Tensor a, Tensor b, Tensor dA, Tensor dB) {
        CpuElementwise.mulBackward(par, dOut, a, b, dA, dB);
    }
    @Override public void scale(Tensor a, float s, Tensor out) { CpuElementwise.scale(par, a, s, out); }
    @Override public void axpy(float alpha, Tensor x, Tensor y) { CpuElementwise.axpy(par, alpha, x, y); }

    @Override public void sumLastDim(Tensor x, Tensor out) { CpuReductions.sumLastDim(par, x, out); }
    @Override public void sumLastDimBackward(Tensor dOut, Tensor dX) { CpuReductions.sumLastDimBackward(par, dOut, dX); }
    @Override public void meanLastDim(Tensor x, Tensor out) { CpuReductions.meanLastDim(par, x, out); }
    @Override public void meanLastDimBackward(Tensor dOut, Tensor dX) { CpuReductions.meanLastDimBackward(par, dOut, dX); }
    @Override public void sum(Tensor x, Tensor out) { CpuScalars.set("sum", out, CpuReductions.sum(par, x)); }
    @Override public void mean(Tensor x, Tensor out) { CpuScalars.set("mean", out, CpuReductions.mean(par, x)); }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd) {
        CpuNorms.rmsNorm(par, x, weight, eps, out, rstd);
    }

    @Override
    public void rmsNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor rstd, Tensor dX, Tensor dWeight) {
        CpuNorms.rmsNormBackward(par, dOut, x, weight, rstd, dX, dWeight);
    }

    @Override
    public void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean, Tensor rstd) {
        CpuNorms.layerNorm(par, x, weight, bias, eps, out, mean, rstd);
    }

    @Override
    public void layerNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor mean, Tensor rstd,
                                  Tensor dX, Tensor dWeight, Tensor dBias) {
        CpuNorms.layerNormBackward(par, dOut, x, weight, mean, rstd, dX, dWeight, dBias);
    }

    @Override public void rope(Tensor x, Tensor cos, Tensor sin, Tensor out) { CpuRope.rope(par, x, cos, sin, out); }
    @Override public void ropeBackward(Tensor dOut, Tensor cos, Tensor sin, Tensor dX) {
        CpuRope.ropeBackward(par, dOut, cos, sin, dX, true);
    }
    @Override public void ropeBackward(Tensor dOut, Tensor cos, Tensor sin, Tensor dX, boolean accumulate) {
        CpuRope.ropeBackward(par, dOut, cos, sin, dX, accumulate);
    }
    @Override public void ropeTables(float theta, Tensor cos, Tensor sin) { CpuRope.ropeTables(theta, cos, sin); }

    @Override public void silu(Tensor x, Tensor out) { CpuActivations.silu(par, x, out); }
    @Override public void siluBackward(Tensor dOut, Tensor x, Tensor dX) { CpuActivations.siluBackward(par, dOut, x, dX); }
    @Override public void sigmoid(Tensor x, Tensor out) { CpuActivations.sigmoid(par, x, out); }
    @Override public void sigmoidBackward(Tensor dOut, Tensor y, Tensor dX) { CpuActivations.sigmoidBackward(par, dOut, y, dX); }
    @Override public void swiglu(Tensor gate, Tensor up, Tensor out) { CpuActivations.swiglu(par, gate, up, out); }
    @Override public void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        CpuActivations.swigluBackward(par, dOut, gate, up, dGate, dUp, true);
    }
    @Override
    public void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp, boolean accumulate) {
        CpuActivations.swigluBackward(par, dOut, gate, up, dGate, dUp, accumulate);
    }
    @Override public void softmax(Tensor x, Tensor out) { CpuActivations.softmax(par, x, out); }
    @Override public void softmaxBackward(Tensor dOut, Tensor y, Tensor dX) { CpuActivations.softmaxBackward(par, dOut, y, dX); }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        CpuAttention.attention(par, q, k, v, out, lse);
    }

    @Override
    public void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                  Tensor dQ, Tensor dK, Tensor dV) {
        CpuAttention.attentionBackward(par, dOut, q, k, v, out, lse, dQ, dK, dV, true);
    }

    @Override
    public void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                  Tensor dQ, Tensor dK, Tensor dV, boolean accumulate) {
        CpuAttention.attentionBackward(par, dOut, q, k, v, out, lse, dQ, dK, dV, accumulate);
    }

    @Override
    public void kvCacheAppend(Tensor k, Tensor v, Tensor kCache, Tensor vCache, int start) {
        CpuKvCache.append(k, v, kCache, vCache, start);
    }

    @Override
    public void attentionDecode(Tensor q, Tensor kCache, Tensor vCache, int start, Tensor out) {
        CpuKvCache.attentionDecode(par, q, kCache, vCache, start, out);
    }

    @Override public void embedding(Tensor ids, Tensor table, Tensor out) {
        try {
            CpuEmbedding.embedding(par, ids, table, out);
        } catch (KernelDataException e) {
            report(e);
        }
    }
    @Override public void embeddingBackward(Tensor dOut, Tensor ids, Tensor dTable) {
        try {
            CpuEmbedding.embeddingBackward(par, dOut, ids, dTable);
        } catch (KernelDataException e) {
            report(e);
        }
    }

    @Override
    public void crossEntropy(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses, Tensor dLogits,
                             float gradScale, Tensor lossSum) {
        CpuScalars.check("crossEntropy", "lossSum", lossSum);
        try {
            CpuScalars.add(lossSum,
                    CpuCrossEntropy.crossEntropy(par, logits, targets, ignoreIndex, losses, dLogits, gradScale));
        } catch (KernelDataException e) {
            report(e);
        }
    }

    @Override
    public void splineBasis(Tensor t, int knots, boolean normalize, Tensor first, Tensor weights) {
        CpuSplineBasis.splineBasis(par, t, knots, normalize, first, weights);
    }

    @Override
    public void splineBasisBackward(Tensor dWeights, Tensor t, Tensor first, int knots, boolean normalize, Tensor dT) {
        CpuSplineBasis.splineBasisBackward(par, dWeights, t, first, knots, normalize, dT);
    }

    @Override
    public void separableModes(Tensor first, Tensor weights, Tensor spline, Tensor modes) {
        CpuSeparableModes.separableModes(par, first, weights, spline, modes);
    }

    @Override
    public void separableModesBackward(Tensor dModes, Tensor first, Tensor weights, Tensor spline, Tensor modes,
                                       Tensor dWeights, Tensor dSpline) {
        CpuSeparableModes.separableModesBackward(par, dModes, first, weights, spline, modes, dWeights, dSpline);
    }

    @Override
    public boolean fusesSplineBasis() {
        return true;
    }

    @Override
    public void separableModesOfCoordinates(Tensor t, boolean normalize, Tensor spline, Tensor modes) {
        CpuSeparableModes.separableModesOfCoordinates(par, t, normalize, spline, modes, true);
    }

    @Override
    public void separableModesOfCoordinatesBackward(Tensor dModes, Tensor t, boolean normalize, Tensor spline,
                                                    Tensor modes, Tensor dT, Tensor dSpline, boolean accumulate) {
        CpuSeparableModes.separableModesOfCoordinatesBackward(par, dModes, t, normalize, spline, modes, dT, dSpline,
                accumulate, true);
    }

    @Override public void globalL2Norm(List<Tensor> tensors, Tensor out) {
        CpuScalars.set("globalL2Norm", out, CpuOptimizer.globalL2Norm(par, tensors));
    }
    @Override public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        CpuOptimizer.adamw(par, param, grad, m, v, step);
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step, long decayedCount,
                      Tensor gradNorm, float clipNorm) {
        CpuOptimizer.adamwFlat(par, param, grad, m, v, step, decayedCount, gradNorm, clipNorm);
    }

    @Override public void close() { par.close(); }

    @Override public String toString() {
        return "CpuBackend[threads=" + par.threads() + (isStrict() ? ", strict" : "") + "]";
    }
}
