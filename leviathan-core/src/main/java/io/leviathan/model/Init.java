package io.leviathan.model;

import io.leviathan.backend.Backend;
import io.leviathan.tensor.Tensor;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Deterministic initialisation. Each parameter draws from its own stream, seeded by the model seed and the
 * parameter's name, so a parameter's values depend on neither creation order nor thread count: the same
 * seed gives the same weights bit for bit.
 */
public final class Init {
    private Init() {}

    /** The random stream for {@code name} under {@code seed}. */
    public static SplittableRandom stream(long seed, String name) {
        long h = 0xcbf29ce484222325L; // FNV-1a over the name's UTF-8 bytes
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ h);
    }

    /** Fills {@code t} (on {@code be}'s device) with {@code mean + std * N(0, 1)} drawn from {@link #stream}. */
    public static void normal(Backend be, Tensor t, long seed, String name, double mean, double std) {
        SplittableRandom r = stream(seed, name);
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; i += 2) {
            // Box-Muller: two independent normals per pair of uniforms.
            double u1 = 1.0 - r.nextDouble();
            double u2 = r.nextDouble();
            double rad = StrictMath.sqrt(-2.0 * StrictMath.log(u1));
            v[i] = (float) (mean + std * rad * StrictMath.cos(2 * Math.PI * u2));
            if (i + 1 < v.length) {
                v[i + 1] = (float) (mean + std * rad * StrictMath.sin(2 * Math.PI * u2));
            }
        }
        be.upload(v, t);
    }

    /** Fills {@code t} with {@code value}. */
    public static void constant(Backend be, Tensor t, float value) {
        be.fill(t, value);
    }
}
