package io.gradstream.core.privacy;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.util.Objects;
import javax.crypto.Cipher;
import javax.crypto.spec.ChaCha20ParameterSpec;

/**
 * Gaussian noise for the Gaussian mechanism of DP-SGD (Abadi et al. 2016, arXiv:1607.00133) and DP-FedAvg (McMahan et
 * al. 2018, arXiv:1710.06963) drawn from a keyed ChaCha20 keystream in counter mode, so that each value is a pure
 * function of (secret seed, model, tensor, shard, version, element index); see the sampling notes below for what the
 * samples are and are not.
 *
 * <p><b>Keys and counter.</b> Two 256-bit keys are derived from the seed with HMAC-SHA256 under distinct domain labels:
 * one keys ChaCha20, the other derives the 96-bit nonce from (model, tensor, shard, version) as the first 12 bytes of an
 * HMAC over their unambiguous length-prefixed encoding. The 32-bit ChaCha20 block counter selects the element range:
 * element {@code i} uses keystream bytes {@code [8i, 8i + 8)}, i.e. block {@code i / 8}. A range starting anywhere is
 * therefore produced by starting the cipher at that block, and element {@code i} gets the same value whatever chunking
 * or starting point is used. A job restored from a checkpoint that replays version {@code v} with the same seed redraws
 * exactly the noise of the first attempt instead of fresh noise: averaging the two attempts could otherwise cancel
 * part of the noise, and an observer of both outputs would see two independent releases of the same sum. Distinct
 * tuples collide on a nonce only with the birthday probability of a 96-bit value (about 2^-96 per pair). At most
 * {@link #MAX_ELEMENTS} elements per (model, tensor, shard, version) are addressable.
 *
 * <p><b>Sampling.</b> Each element's 64-bit keystream word gives a uniform 53-bit double. Elements are paired
 * {@code (2p, 2p + 1)}; with {@code u1 = ((w[2p] >>> 11) + 1) 2^-53} in (0, 1] and {@code u2 = (w[2p+1] >>> 11) 2^-53}
 * in [0, 1), Box-Muller gives element {@code 2p} the value {@code r cos(2 pi u2)} and element {@code 2p + 1} the value
 * {@code r sin(2 pi u2)}, {@code r = sqrt(-2 ln u1)}; both outputs are used, each at a fixed element index. Everything is
 * computed in double and rounded once to float when added to a float tensor.
 *
 * <p><b>Limits.</b> The result is statistically equivalent to N(0, sigma^2) up to double rounding, not a
 * discrete/secure-noise sampler like the discrete Gaussian of Canonne, Kamath and Steinke 2020 (arXiv:2004.00010).
 * Mironov 2012 ("On Significance of the Least Significant Bits for Differential Privacy") showed that textbook
 * floating-point samplers leave gaps and uneven spacing in the set of representable outputs, so that the low-order bits
 * of a released value {@code x + noise} can reveal {@code x}; the same caveat applies here (the 53-bit uniforms and the
 * double arithmetic of log, sqrt, cos and sin determine which doubles can occur, and {@code |noise| <= sigma
 * sqrt(106 ln 2)}, about 8.57 sigma). The final rounding to float, after the noise is added to the sum, coarsens these
 * artefacts but is no proof against them. The generator is immutable and thread-safe.
 */
public final class NoiseGenerator {
    /** Shorter secrets are refused: 128 bits is the least that keeps the derived keys out of brute-force reach. */
    public static final int MIN_SEED_BYTES = NoiseKeys.MIN_SEED_BYTES;
    /** 2^31 ChaCha20 blocks of 8 elements: the block counter stays below 2^31 and cannot wrap. */
    public static final long MAX_ELEMENTS = 1L << 34;

    private static final int BLOCK_ELEMENTS = 8;
    /** Elements per keystream chunk: 4 KiB of keystream, 64 ChaCha20 blocks; even, so pairs never straddle chunks. */
    private static final int CHUNK_ELEMENTS = 512;
    /** ChaCha20 encrypting zeros yields the keystream itself; only read, so one array serves every call and thread. */
    private static final byte[] ZEROS = new byte[CHUNK_ELEMENTS * Long.BYTES];

    private static final VarHandle LONG_LE =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final double TWO_POW_MINUS_53 = 0x1.0p-53;
    private static final double TWO_PI = 2 * Math.PI;

    private final NoiseKeys keys;

    /**
     * A generator keyed by {@code secretSeed} (at least {@value #MIN_SEED_BYTES} bytes). The bytes are copied, used to
     * derive the keys ({@link NoiseKeys}), and the copy is wiped; the seed itself is not retained.
     */
    public NoiseGenerator(byte[] secretSeed) {
        this.keys = NoiseKeys.derive(secretSeed);
    }

    /** Adds N(0, std^2) to {@code target[i]} with the noise of element {@code i}, i in [0, target.length). */
    public void addGaussian(float[] target, double std, String model, String tensor, int shard, long version) {
        addGaussian(target, 0, std, model, tensor, shard, version);
    }

    /**
     * Adds N(0, std^2) to {@code target[j]} with the noise of element {@code firstElement + j}: the slice of a shard
     * that starts at {@code firstElement}. Each sum is formed in double and rounded once to float.
     */
    public void addGaussian(
            float[] target, long firstElement, double std, String model, String tensor, int shard, long version) {
        addGaussianAndDivide(target, firstElement, std, 1.0, model, tensor, shard, version);
    }

    /**
     * Writes {@code std} times the standard normal of elements {@code [firstElement, firstElement + out.length)} into
     * {@code out}, unrounded; equal to what {@link #addGaussian} adds before its rounding to float.
     */
    public void gaussian(
            double[] out, long firstElement, double std, String model, String tensor, int shard, long version) {
        Objects.requireNonNull(out, "out must not be null");
        checkStd(std);
        draw(firstElement, out.length, model, tensor, shard, version, (normals, from, dst, count) -> {
            for (int k = 0; k < count; k++) {
                out[dst + k] = std * normals[from + k];
            }
        });
    }

    /**
     * {@code target[j] = (target[j] + std z_{firstElement + j}) / divisor}, rounded once to float: the Gaussian
     * mechanism's noise and normalisation in one pass so that the result is rounded a single time.
     */
    void addGaussianAndDivide(
            float[] target,
            long firstElement,
            double std,
            double divisor,
            String model,
            String tensor,
            int shard,
            long version) {
        Objects.requireNonNull(target, "target must not be null");
        checkStd(std);
        if (!(divisor > 0) || Double.isInfinite(divisor)) {
            throw new IllegalArgumentException("divisor must be finite and > 0, got " + divisor);
        }
        draw(firstElement, target.length, model, tensor, shard, version, (normals, from, dst, count) -> {
            for (int k = 0; k < count; k++) {
                target[dst + k] = (float) ((target[dst + k] + std * normals[from + k]) / divisor);
            }
        });
    }

    /** Receives standard normals {@code normals[from, from + count)} destined for output positions from {@code dst}. */
    @FunctionalInterface
    private interface Sink {
        void accept(double[] normals, int from, int dst, int count);
    }

    /** Streams the standard normals of elements [first, first + length) to {@code sink} in chunks. */
    private void draw(long first, int length, String model, String tensor, int shard, long version, Sink sink) {
        Objects.requireNonNull(model, "model must not be null");
        Objects.requireNonNull(tensor, "tensor must not be null");
        if (shard < 0) {
            throw new IllegalArgumentException("shard must be >= 0, got " + shard);
        }
        if (version < 0) {
            throw new IllegalArgumentException("version must be >= 0, got " + version);
        }
        if (first < 0 || first > MAX_ELEMENTS - length) {
            throw new IllegalArgumentException("element range [" + first + ", " + first + " + " + length
                    + ") must lie within [0, " + MAX_ELEMENTS + ")");
        }
        if (length == 0) {
            return;
        }
        long end = first + length;
        // Start at the block holding the first element; block boundaries are pair boundaries as 8 is even.
        long base = first - first % BLOCK_ELEMENTS;
        Cipher cipher = keystream(keys.nonce(model, tensor, shard, version), (int) (base / BLOCK_ELEMENTS));
        byte[] ks = new byte[ZEROS.length];
        double[] normals = new double[CHUNK_ELEMENTS];
        while (base < end) {
            // Round up to a whole pair; an element past the end is generated and dropped.
            int n = (int) Math.min(CHUNK_ELEMENTS, end - base);
            n += n & 1;
            int bytes = n * Long.BYTES;
            try {
                int produced = cipher.update(ZEROS, 0, bytes, ks, 0);
                if (produced != bytes) {
                    throw new IllegalStateException(
                            "ChaCha20 produced " + produced + " keystream bytes, expected " + bytes);
                }
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("ChaCha20 keystream generation failed", e);
            }
            for (int p = 0; p < n; p += 2) {
                long w1 = (long) LONG_LE.get(ks, p * Long.BYTES);
                long w2 = (long) LONG_LE.get(ks, (p + 1) * Long.BYTES);
                // u1 in (0, 1] keeps the logarithm finite; u2 in [0, 1) covers each angle once.
                double u1 = ((w1 >>> 11) + 1) * TWO_POW_MINUS_53;
                double u2 = (w2 >>> 11) * TWO_POW_MINUS_53;
                // StrictMath (fdlibm): the same bits on every JVM and CPU, so a job restored on another machine
                // redraws exactly the same noise; Math.log/cos/sin may be intrinsics that differ in the last ulp.
                double r = Math.sqrt(-2 * StrictMath.log(u1));
                double theta = TWO_PI * u2;
                normals[p] = r * StrictMath.cos(theta);
                normals[p + 1] = r * StrictMath.sin(theta);
            }
            long from = Math.max(base, first);
            long to = Math.min(base + n, end);
            sink.accept(normals, (int) (from - base), (int) (from - first), (int) (to - from));
            base += n;
        }
    }

    /** A fresh cipher per draw: the JDK refuses to re-initialise one instance with the same key and nonce. */
    private Cipher keystream(byte[] nonce, int block) {
        try {
            Cipher cipher = Cipher.getInstance("ChaCha20");
            cipher.init(Cipher.ENCRYPT_MODE, keys.cipherKey(), new ChaCha20ParameterSpec(nonce, block));
            return cipher;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20 is unavailable in this JDK", e);
        }
    }

    private static void checkStd(double std) {
        if (!(std >= 0) || Double.isInfinite(std)) {
            throw new IllegalArgumentException("std must be finite and >= 0, got " + std);
        }
    }

    /** Names the algorithm only; neither the seed nor the derived keys are shown. */
    @Override
    public String toString() {
        return "NoiseGenerator[ChaCha20 counter mode, Box-Muller, seed redacted]";
    }
}
