package io.leviathan.backend;

import java.util.function.Function;

/**
 * Naive double-precision references for every {@link Backend} operation, written from the interface's
 * Javadoc with plain loops over row-major arrays and no tricks: these are what {@link BackendConformanceTest}
 * holds each backend to. Backward references <b>return</b> the gradient (the test adds it to whatever the
 * gradient tensor held, since backends accumulate). Nothing here calls backend code.
 */
final class Reference {
    private Reference() {}

    // ================================================================ finite differences

    /** {@code sum_i a[i] * b[i]}. */
    static double dot(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("dot: lengths " + a.length + " and " + b.length);
        }
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** Step of the central differences: truncation ~h^2, cancellation ~1e-16 |L| / h, both far below 1e-7. */
    static final double FD_STEP = 1e-5;

    /**
     * The central-difference gradient of the loss {@code L(x) = sum(f(x) * w)} with respect to {@code x}: for
     * a backward op given {@code dOut = w} this is exactly what it must add into its gradient.
     */
    static double[] numericGradient(Function<double[], double[]> f, double[] x, double[] w) {
        double[] g = new double[x.length];
        double[] xp = x.clone();
        for (int i = 0; i < x.length; i++) {
            double orig = xp[i];
            xp[i] = orig + FD_STEP;
            double lp = dot(f.apply(xp), w);
            xp[i] = orig - FD_STEP;
            double lm = dot(f.apply(xp), w);
            xp[i] = orig;
            g[i] = (lp - lm) / (2 * FD_STEP);
        }
        return g;
    }

    // ================================================================ bfloat16

    /**
     * {@code f} rounded to the nearest bfloat16 (ties to the even one), as a float; NaN stays NaN and values
     * past the largest bfloat16 round to infinity. Written from the definition: pick the nearer of the two
     * neighbouring bfloat16 values, compared in double (exact for floats).
     */
    static float bf16(float f) {
        if (Float.isNaN(f) || Float.isInfinite(f)) {
            return f;
        }
        int bits = Float.floatToRawIntBits(f);
        int low = bits & 0xffff0000;                 // toward zero
        int high = low + 0x10000;                    // away from zero (may be the infinity pattern)
        double lo = Float.intBitsToFloat(low);
        double hi = (high & 0x7fffffff) == 0x7f800000 ? Math.copySign(0x1p128, f) : Float.intBitsToFloat(high);
        double dLo = Math.abs(f - lo);
        double dHi = Math.abs(hi - f);
        boolean up = dHi < dLo || (dHi == dLo && ((low >>> 16) & 1) == 1);
        return Float.intBitsToFloat(up ? high : low);
    }

    // ================================================================ matrix multiplication

    /**
     * {@code alpha * op(a) · op(b) + beta * c} for {@code batch} items; a stored {@code [m, k]} ({@code [k, m]}
     * transposed), b {@code [k, n]} ({@code [n, k]}); an operand whose {@code batched} flag is false is one
     * matrix shared by every item. {@code beta == 0} ignores {@code c} entirely (it may hold NaN).
     */
    static double[] matmul(int batch, boolean aBatched, boolean bBatched, boolean transA, boolean transB,
                           int m, int n, int k, double alpha, double[] a, double[] b, double beta, double[] c) {
        double[] out = new double[batch * m * n];
        for (int t = 0; t < batch; t++) {
            int ao = aBatched ? t * m * k : 0, bo = bBatched ? t * k * n : 0, co = t * m * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double acc = 0;
                    for (int p = 0; p < k; p++) {
                        acc += a[ao + (transA ? p * m + i : i * k + p)] * b[bo + (transB ? j * k + p : p * n + j)];
                    }
                    out[co + i * n + j] = alpha * acc + (beta == 0 ? 0 : beta * c[co + i * n + j]);
                }
            }
        }
        return out;
    }

    // ================================================================ element-wise

    static double[] add(double[] a, double[] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i] + b[i];
        }
        return out;
    }

    static double[] mul(double[] a, double[] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i] * b[i];
        }
        return out;
    }

    static double[] scale(double[] a, double s) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = s * a[i];
        }
        return out;
    }

    /** {@code y + alpha * x}. */
    static double[] axpy(double alpha, double[] x, double[] y) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = y[i] + alpha * x[i];
        }
        return out;
    }

    // ================================================================ reductions

    static double[] sumLastDim(double[] x, int cols) {
        double[] out = new double[x.length / cols];
        for (int r = 0; r < out.length; r++) {
            for (int c = 0; c < cols; c++) {
                out[r] += x[r * cols + c];
            }
        }
        return out;
    }

    static double[] meanLastDim(double[] x, int cols) {
        double[] out = sumLastDim(x, cols);
        for (int r = 0; r < out.length; r++) {
            out[r] /= cols;
        }
        return out;
    }

    /** {@code dX[r, c] = dOut[r]} (times {@code 1/C} for the mean). */
    static double[] rowBroadcast(double[] dOut, int cols, boolean mean) {
        double[] dx = new double[dOut.length * cols];
        for (int r = 0; r < dOut.length; r++) {
            for (int c = 0; c < cols; c++) {
                dx[r * cols + c] = mean ? dOut[r] / cols : dOut[r];
            }
        }
        return dx;
    }

    static double sum(double[] x) {
        double s = 0;
        for (double v : x) {
            s += v;
        }
        return s;
    }

    static double sumAbs(double[] x) {
        double s = 0;
        for (double v : x) {
            s += Math.abs(v);
        }
        return s;
    }

    // ================================================================ normalisation

    /** Outputs of a row normalisation: {@code out}, and the per-row {@code mean} (LayerNorm only) and {@code rstd}. */
    record Norm(double[] out, double[] mean, double[] rstd) {}

    /** RMSNorm: {@code out = x / sqrt(mean(x^2) + eps) * w}. */
    static Norm rmsNorm(double[] x, double[] w, double eps, int cols) {
        int rows = x.length / cols;
        double[] out = new double[x.length], rstd = new double[rows];
        for (int r = 0; r < rows; r++) {
            double ms = 0;
            for (int c = 0; c < cols; c++) {
                ms += x[r * cols + c] * x[r * cols + c];
            }
            rstd[r] = 1 / Math.sqrt(ms / cols + eps);
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] = x[r * cols + c] * rstd[r] * w[c];
            }
        }
        return new Norm(out, null, rstd);
    }

    /** Gradients of RMSNorm: {@code dx}, {@code dw}. */
    static double[][] rmsNormBackward(double[] dOut, double[] x, double[] w, double eps, int cols) {
        int rows = x.length / cols;
        double[] rstd = rmsNorm(x, w, eps, cols).rstd();
        double[] dx = new double[x.length], dw = new double[cols];
        for (int r = 0; r < rows; r++) {
            double s = rstd[r];
            double dot = 0; // sum_c dOut * w * x
            for (int c = 0; c < cols; c++) {
                dot += dOut[r * cols + c] * w[c] * x[r * cols + c];
            }
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                dx[i] = s * dOut[i] * w[c] - s * s * s * x[i] * dot / cols;
                dw[c] += dOut[i] * x[i] * s;
            }
        }
        return new double[][] {dx, dw};
    }

    /** LayerNorm with the biased variance: {@code out = (x - mean) * rstd * w + b}. */
    static Norm layerNorm(double[] x, double[] w, double[] b, double eps, int cols) {
        int rows = x.length / cols;
        double[] out = new double[x.length], mean = new double[rows], rstd = new double[rows];
        for (int r = 0; r < rows; r++) {
            double m = 0;
            for (int c = 0; c < cols; c++) {
                m += x[r * cols + c];
            }
            m /= cols;
            double var = 0;
            for (int c = 0; c < cols; c++) {
                double d = x[r * cols + c] - m;
                var += d * d;
            }
            var /= cols;
            mean[r] = m;
            rstd[r] = 1 / Math.sqrt(var + eps);
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] = (x[r * cols + c] - m) * rstd[r] * w[c] + b[c];
            }
        }
        return new Norm(out, mean, rstd);
    }

    /** Gradients of LayerNorm: {@code dx}, {@code dw}, {@code db}. */
    static double[][] layerNormBackward(double[] dOut, double[] x, double[] w, double eps, int cols) {
        int rows = x.length / cols;
        Norm f = layerNorm(x, w, new double[cols], eps, cols);
        double[] dx = new double[x.length], dw = new double[cols], db = new double[cols];
        for (int r = 0; r < rows; r++) {
            double m = f.mean()[r], s = f.rstd()[r];
            double meanDn = 0, meanDnXhat = 0;
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                double xhat = (x[i] - m) * s;
                double dn = dOut[i] * w[c];
                meanDn += dn / cols;
                meanDnXhat += dn * xhat / cols;
                dw[c] += dOut[i] * xhat;
                db[c] += dOut[i];
            }
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                double xhat = (x[i] - m) * s;
                dx[i] = s * (dOut[i] * w[c] - meanDn - xhat * meanDnXhat);
            }
        }
        return new double[][] {dx, dw, db};
    }

    // ================================================================ rotary position embedding

    /** {@code [maxT, half]} tables {@code cos(t * theta^(-2i/Dh))}, {@code sin(...)}, {@code Dh = 2 * half}. */
    static double[][] ropeTables(double theta, int maxT, int half) {
        double[] cos = new double[maxT * half], sin = new double[maxT * half];
        for (int t = 0; t < maxT; t++) {
            for (int i = 0; i < half; i++) {
                double angle = t * Math.pow(theta, -2.0 * i / (2.0 * half));
                cos[t * half + i] = Math.cos(angle);
                sin[t * half + i] = Math.sin(angle);
            }
        }
        return new double[][] {cos, sin};
    }

    /**
     * Rotate-half RoPE of {@code x [B, T, H, Dh]} by {@code sign} times each angle, reading the given tables
     * ({@code [>= T, Dh/2]}): for {@code i < h = Dh/2},
     * {@code (x_i, x_{i+h}) -> (x_i cos - x_{i+h} sin, x_{i+h} cos + x_i sin)} with {@code sin} negated for
     * {@code sign = -1}, which is the backward (the transpose of a rotation is the inverse rotation).
     */
    static double[] rope(double[] x, int b, int t, int h, int dh, double[] cos, double[] sin, int sign) {
        double[] out = new double[x.length];
        int half = dh / 2;
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                for (int hi = 0; hi < h; hi++) {
                    int o = ((bi * t + ti) * h + hi) * dh;
                    for (int i = 0; i < half; i++) {
                        double c = cos[ti * half + i], s = sign * sin[ti * half + i];
                        double lo = x[o + i], up = x[o + i + half];
                        out[o + i] = lo * c - up * s;
                        out[o + i + half] = up * c + lo * s;
                    }
                }
            }
        }
        return out;
    }

    // ================================================================ activations

    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    static double[] silu(double[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * sigmoid(x[i]);
        }
        return out;
    }

    /** {@code d silu / dx = s + x s (1 - s)}, times dOut. */
    static double[] siluBackward(double[] dOut, double[] x) {
        double[] dx = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double s = sigmoid(x[i]);
            dx[i] = dOut[i] * (s + x[i] * s * (1 - s));
        }
        return dx;
    }

    static double[] sigmoid(double[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = sigmoid(x[i]);
        }
        return out;
    }

    /** {@code dOut * y * (1 - y)} from the output {@code y}. */
    static double[] sigmoidBackward(double[] dOut, double[] y) {
        double[] dx = new double[y.length];
        for (int i = 0; i < y.length; i++) {
            dx[i] = dOut[i] * y[i] * (1 - y[i]);
        }
        return dx;
    }

    static double[] swiglu(double[] gate, double[] up) {
        return mul(silu(gate), up);
    }

    /** Gradients of SwiGLU: {@code dGate = dOut * up * silu'(gate)}, {@code dUp = dOut * silu(gate)}. */
    static double[][] swigluBackward(double[] dOut, double[] gate, double[] up) {
        return new double[][] {siluBackward(mul(dOut, up), gate), mul(dOut, silu(gate))};
    }

    /** Softmax over rows of {@code cols}, max-subtracted. */
    static double[] softmax(double[] x, int cols) {
        double[] out = new double[x.length];
        for (int r = 0; r < x.length / cols; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < cols; c++) {
                max = Math.max(max, x[r * cols + c]);
            }
            double sum = 0;
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] = Math.exp(x[r * cols + c] - max);
                sum += out[r * cols + c];
            }
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] /= sum;
            }
        }
        return out;
    }

    /** {@code dX = y * (dOut - sum(dOut * y))} per row. */
    static double[] softmaxBackward(double[] dOut, double[] y, int cols) {
        double[] dx = new double[y.length];
        for (int r = 0; r < y.length / cols; r++) {
            double dot = 0;
            for (int c = 0; c < cols; c++) {
                dot += dOut[r * cols + c] * y[r * cols + c];
            }
            for (int c = 0; c < cols; c++) {
                dx[r * cols + c] = y[r * cols + c] * (dOut[r * cols + c] - dot);
            }
        }
        return dx;
    }

    // ================================================================ attention

    /**
     * Causal attention over {@code [B, T, H, Dh]} (row-major) with scores scaled by 1/sqrt(Dh). Returns
     * {@code out} followed by {@code lse} ({@code [B, H, T]}: the log of each row's softmax denominator).
     */
    static double[] attention(double[] q, double[] k, double[] v, int B, int T, int H, int Dh) {
        double[] out = new double[B * T * H * Dh + B * H * T];
        int lseAt = B * T * H * Dh;
        double scale = 1 / Math.sqrt(Dh);
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                for (int i = 0; i < T; i++) {
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int e = 0; e < Dh; e++) {
                            dot += q[at(b, i, h, e, T, H, Dh)] * k[at(b, j, h, e, T, H, Dh)];
                        }
                        s[j] = dot * scale;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int e = 0; e < Dh; e++) {
                        double acc = 0;
                        for (int j = 0; j <= i; j++) {
                            acc += s[j] / sum * v[at(b, j, h, e, T, H, Dh)];
                        }
                        out[at(b, i, h, e, T, H, Dh)] = acc;
                    }
                    out[lseAt + (b * H + h) * T + i] = max + Math.log(sum);
                }
            }
        }
        return out;
    }

    /**
     * The analytic backward of {@link #attention}'s {@code out} for output gradient {@code dOut}: returns
     * {@code dQ}, {@code dK} and {@code dV} concatenated ({@code [B, T, H, Dh]} each).
     */
    static double[] attentionBackward(double[] dOut, double[] q, double[] k, double[] v, int B, int T, int H, int Dh) {
        int n = B * T * H * Dh;
        double[] g = new double[3 * n];
        double scale = 1 / Math.sqrt(Dh);
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                for (int i = 0; i < T; i++) {
                    double[] p = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int e = 0; e < Dh; e++) {
                            dot += q[at(b, i, h, e, T, H, Dh)] * k[at(b, j, h, e, T, H, Dh)];
                        }
                        p[j] = dot * scale;
                        max = Math.max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        p[j] = Math.exp(p[j] - max);
                        sum += p[j];
                    }
                    double[] dp = new double[i + 1];
                    double rowDot = 0;
                    for (int j = 0; j <= i; j++) {
                        p[j] /= sum;
                        for (int e = 0; e < Dh; e++) {
                            dp[j] += dOut[at(b, i, h, e, T, H, Dh)] * v[at(b, j, h, e, T, H, Dh)];
                            g[2 * n + at(b, j, h, e, T, H, Dh)] += p[j] * dOut[at(b, i, h, e, T, H, Dh)];
                        }
                        rowDot += p[j] * dp[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        double ds = p[j] * (dp[j] - rowDot) * scale;
                        for (int e = 0; e < Dh; e++) {
                            g[at(b, i, h, e, T, H, Dh)] += ds * k[at(b, j, h, e, T, H, Dh)];
                            g[n + at(b, j, h, e, T, H, Dh)] += ds * q[at(b, i, h, e, T, H, Dh)];
                        }
                    }
                }
            }
        }
        return g;
    }

    private static int at(int b, int t, int h, int e, int T, int H, int Dh) {
        return ((b * T + t) * H + h) * Dh + e;
    }

    // ================================================================ embedding and loss

    /** {@code out[i, :] = table[ids[i], :]}. */
    static double[] embedding(int[] ids, double[] table, int dim) {
        double[] out = new double[ids.length * dim];
        for (int i = 0; i < ids.length; i++) {
            System.arraycopy(table, ids[i] * dim, out, i * dim, dim);
        }
        return out;
    }

    /** {@code dTable[ids[i], :] += dOut[i, :]}, repeated ids adding up. */
    static double[] embeddingBackward(double[] dOut, int[] ids, int vocab, int dim) {
        double[] dTable = new double[vocab * dim];
        for (int i = 0; i < ids.length; i++) {
            for (int c = 0; c < dim; c++) {
                dTable[ids[i] * dim + c] += dOut[i * dim + c];
            }
        }
        return dTable;
    }

    /**
     * The cross-entropy's mean loss over the counted positions, each position's loss (0 where ignored), and the
     * gradient of {@code gradScale * mean} with respect to the logits.
     */
    record CrossEntropy(double mean, double[] losses, double[] dLogits) {}

    static CrossEntropy crossEntropy(double[] logits, int[] targets, int vocab, int ignoreIndex, double gradScale) {
        int n = targets.length;
        double[] losses = new double[n], grad = new double[logits.length];
        int counted = 0;
        for (int target : targets) {
            counted += target == ignoreIndex ? 0 : 1;
        }
        double total = 0;
        for (int r = 0; r < n; r++) {
            if (targets[r] == ignoreIndex) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < vocab; c++) {
                max = Math.max(max, logits[r * vocab + c]);
            }
            double sum = 0;
            for (int c = 0; c < vocab; c++) {
                sum += Math.exp(logits[r * vocab + c] - max);
            }
            losses[r] = Math.log(sum) + max - logits[r * vocab + targets[r]];
            total += losses[r];
            for (int c = 0; c < vocab; c++) {
                double p = Math.exp(logits[r * vocab + c] - max) / sum;
                grad[r * vocab + c] = (p - (c == targets[r] ? 1 : 0)) * gradScale / counted;
            }
        }
        return new CrossEntropy(counted == 0 ? 0 : total / counted, losses, grad);
    }

    // ================================================================ Leviathan generator

    /** The quadratic B-spline weight of a knot at {@code dist} (in knot units) from the coordinate. */
    static double bspline(double dist) {
        return dist < 0.5 ? 0.75 - dist * dist : dist < 1.5 ? 0.5 * (1.5 - dist) * (1.5 - dist) : 0;
    }

    /** {@code d bspline / d dist}. */
    static double bsplineSlope(double dist) {
        return dist < 0.5 ? -2 * dist : dist < 1.5 ? -(1.5 - dist) : 0;
    }

    /** The sparse basis: {@code first} {@code [N*d]} and {@code weights} {@code [N*d*3]}. */
    record Basis(int[] first, double[] weights) {}

    /**
     * The Javadoc's definition taken literally: every knot {@code g_j = j/(K-1)} gets {@code B(|t - g_j| (K-1))}
     * for the clamped {@code t}; the window starts one before the nearest knot; its off-grid slots hold 0.
     * Also checks the claim that no knot outside the window has a non-zero weight.
     */
    static Basis splineBasis(double[] t, int knots, boolean normalize) {
        int[] first = new int[t.length];
        double[] weights = new double[t.length * 3];
        for (int e = 0; e < t.length; e++) {
            double tc = Math.min(Math.max(t[e], 0), 1);
            int nearest = 0;
            double[] dense = new double[knots];
            for (int j = 0; j < knots; j++) {
                double dist = Math.abs(tc - (double) j / (knots - 1)) * (knots - 1);
                dense[j] = bspline(dist);
                if (dist < Math.abs(tc - (double) nearest / (knots - 1)) * (knots - 1)) {
                    nearest = j;
                }
            }
            first[e] = nearest - 1;
            double sum = 0;
            for (int m = 0; m < 3; m++) {
                int j = first[e] + m;
                weights[e * 3 + m] = j >= 0 && j < knots ? dense[j] : 0;
                sum += weights[e * 3 + m];
            }
            for (int j = 0; j < knots; j++) {
                if ((j < first[e] || j > first[e] + 2) && dense[j] != 0) {
                    throw new AssertionError("reference: knot " + j + " outside the window has weight " + dense[j]);
                }
            }
            if (normalize) {
                for (int m = 0; m < 3; m++) {
                    weights[e * 3 + m] /= sum;
                }
            }
        }
        return new Basis(first, weights);
    }

    /**
     * {@code dT[e] = sum_m dWeights[e, m] * d weights[e, m] / d t[e]}: with {@code c = t (K-1)} and knot
     * {@code j}, {@code d dist / dt = sign(c - j) (K-1)}; normalised weights {@code u_m / S} differentiate
     * by the quotient rule. Zero where {@code t} is clamped.
     */
    static double[] splineBasisBackward(double[] dWeights, double[] t, int knots, boolean normalize) {
        Basis basis = splineBasis(t, knots, false);
        double[] dT = new double[t.length];
        for (int e = 0; e < t.length; e++) {
            if (t[e] < 0 || t[e] > 1) {
                continue;
            }
            double c = t[e] * (knots - 1);
            double[] u = new double[3], du = new double[3];
            double sum = 0, dSum = 0;
            for (int m = 0; m < 3; m++) {
                int j = basis.first()[e] + m;
                if (j < 0 || j >= knots) {
                    continue;
                }
                u[m] = basis.weights()[e * 3 + m];
                du[m] = bsplineSlope(Math.abs(c - j)) * Math.signum(c - j) * (knots - 1);
                sum += u[m];
                dSum += du[m];
            }
            for (int m = 0; m < 3; m++) {
                double dw = normalize ? (du[m] * sum - u[m] * dSum) / (sum * sum) : du[m];
                dT[e] += dWeights[e * 3 + m] * dw;
            }
        }
        return dT;
    }

    /** The {@code 1e-9} of {@code log(|phi| + 1e-9)}. */
    static final double MODES_EPS = 1e-9;

    /**
     * {@code phi[n, i, r] = sum_m w[n, i, m] * spline[i, first[n, i] + m, r]} over the knots on the grid;
     * returned {@code [N, d, R]}.
     */
    static double[] factors(int[] first, double[] w, double[] spline, int n, int d, int knots, int r) {
        double[] phi = new double[n * d * r];
        for (int row = 0; row < n; row++) {
            for (int i = 0; i < d; i++) {
                int e = row * d + i;
                for (int m = 0; m < 3; m++) {
                    int j = first[e] + m;
                    if (j < 0 || j >= knots) {
                        continue;
                    }
                    for (int q = 0; q < r; q++) {
                        phi[e * r + q] += w[e * 3 + m] * spline[(i * knots + j) * r + q];
                    }
                }
            }
        }
        return phi;
    }

    /** {@code modes[n, r] = sign * exp(sum_i log(|phi[n, i, r]| + 1e-9))}, sign the parity of negative factors. */
    static double[] separableModes(int[] first, double[] w, double[] spline, int n, int d, int knots, int r) {
        double[] phi = factors(first, w, spline, n, d, knots, r);
        double[] modes = new double[n * r];
        for (int row = 0; row < n; row++) {
            for (int q = 0; q < r; q++) {
                double logSum = 0, sign = 1;
                for (int i = 0; i < d; i++) {
                    double p = phi[(row * d + i) * r + q];
                    logSum += Math.log(Math.abs(p) + MODES_EPS);
                    sign *= p < 0 ? -1 : 1;
                }
                modes[row * r + q] = sign * Math.exp(logSum);
            }
        }
        return modes;
    }

    /**
     * Gradients {@code dWeights [N, d, 3]} and {@code dSpline [d, K, R]} from
     * {@code d modes / d phi_i = modes * sign(phi_i) / (|phi_i| + 1e-9)}; knots off the grid get none.
     */
    static double[][] separableModesBackward(double[] dModes, int[] first, double[] w, double[] spline,
                                             int n, int d, int knots, int r) {
        double[] phi = factors(first, w, spline, n, d, knots, r);
        double[] modes = separableModes(first, w, spline, n, d, knots, r);
        double[] dW = new double[w.length], dS = new double[spline.length];
        for (int row = 0; row < n; row++) {
            for (int i = 0; i < d; i++) {
                int e = row * d + i;
                for (int q = 0; q < r; q++) {
                    double p = phi[e * r + q];
                    double dPhi = dModes[row * r + q] * modes[row * r + q] * Math.signum(p) / (Math.abs(p) + MODES_EPS);
                    for (int m = 0; m < 3; m++) {
                        int j = first[e] + m;
                        if (j < 0 || j >= knots) {
                            continue;
                        }
                        dW[e * 3 + m] += dPhi * spline[(i * knots + j) * r + q];
                        dS[(i * knots + j) * r + q] += w[e * 3 + m] * dPhi;
                    }
                }
            }
        }
        return new double[][] {dW, dS};
    }

    // ================================================================ optimisation

    static double l2Norm(double[]... xs) {
        double s = 0;
        for (double[] x : xs) {
            for (double v : x) {
                s += v * v;
            }
        }
        return Math.sqrt(s);
    }

    /**
     * One AdamW step in place (torch.optim.AdamW): elements {@code [0, decayed)} are decayed by
     * {@code 1 - lr * wd}, the gradient is read as {@code g * clip}.
     */
    static void adamw(double[] p, double[] g, double[] m, double[] v, double lr, double beta1, double beta2,
                      double eps, double wd, long step, int decayed, double clip) {
        for (int i = 0; i < p.length; i++) {
            double gi = g[i] * clip;
            if (i < decayed) {
                p[i] *= 1 - lr * wd;
            }
            m[i] = beta1 * m[i] + (1 - beta1) * gi;
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
            double mHat = m[i] / (1 - Math.pow(beta1, step));
            double vHat = v[i] / (1 - Math.pow(beta2, step));
            p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
        }
    }
}
