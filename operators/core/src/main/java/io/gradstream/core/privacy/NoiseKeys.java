package io.gradstream.core.privacy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Consumer;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The keys of the DP noise keystream, derived once from the secret seed, and its per-draw nonces: one definition for
 * every generator ({@link NoiseGenerator} on the CPU, the OpenCL one on a device), so that they draw from the same
 * keystream. ChaCha20 key = HMAC-SHA256(seed, {@value #KEY_LABEL}); nonce key = HMAC-SHA256(seed,
 * {@value #NONCE_KEY_LABEL}); nonce = the first 12 bytes of HMAC-SHA256(nonce key, {@value #NONCE_LABEL} | len model |
 * model | len tensor | tensor | shard | version), big-endian lengths and numbers. Immutable; the seed is not retained.
 */
public final class NoiseKeys {
    /** Shorter secrets are refused: 128 bits is the least that keeps the derived keys out of brute-force reach. */
    public static final int MIN_SEED_BYTES = 16;
    /** Bytes of a ChaCha20 nonce (RFC 8439). */
    public static final int NONCE_BYTES = 12;

    static final String KEY_LABEL = "gradstream/dp-noise/chacha20-key/v1";
    static final String NONCE_KEY_LABEL = "gradstream/dp-noise/nonce-key/v1";
    static final String NONCE_LABEL = "gradstream/dp-noise/nonce/v1";

    private final SecretKeySpec cipherKey;
    private final SecretKeySpec nonceKey;

    private NoiseKeys(SecretKeySpec cipherKey, SecretKeySpec nonceKey) {
        this.cipherKey = cipherKey;
        this.nonceKey = nonceKey;
    }

    /**
     * Derives the keys from {@code secretSeed} (at least {@value #MIN_SEED_BYTES} bytes). The bytes are copied, used
     * and the copy is wiped.
     */
    public static NoiseKeys derive(byte[] secretSeed) {
        Objects.requireNonNull(secretSeed, "secretSeed must not be null");
        if (secretSeed.length < MIN_SEED_BYTES) {
            // The message states the length only: the seed bytes must never reach a log.
            throw new IllegalArgumentException(
                    "secretSeed must be at least " + MIN_SEED_BYTES + " bytes, got " + secretSeed.length + " bytes");
        }
        byte[] seed = secretSeed.clone();
        byte[] k1 = null;
        byte[] k2 = null;
        try {
            k1 = hmac(seed, KEY_LABEL.getBytes(StandardCharsets.UTF_8));
            k2 = hmac(seed, NONCE_KEY_LABEL.getBytes(StandardCharsets.UTF_8));
            // SecretKeySpec keeps its own copies, so none of these arrays is needed any more.
            return new NoiseKeys(new SecretKeySpec(k1, "ChaCha20"), new SecretKeySpec(k2, "HmacSHA256"));
        } finally {
            Arrays.fill(seed, (byte) 0);
            if (k1 != null) {
                Arrays.fill(k1, (byte) 0);
            }
            if (k2 != null) {
                Arrays.fill(k2, (byte) 0);
            }
        }
    }

    /** The ChaCha20 key, for the JDK's cipher. */
    SecretKeySpec cipherKey() {
        return cipherKey;
    }

    /**
     * Hands a copy of the 32 ChaCha20 key bytes to {@code user} (an accelerator that runs the keystream itself) and
     * wipes the copy when it returns: whoever keeps key material does so explicitly, never by accident.
     */
    public void withCipherKey(Consumer<byte[]> user) {
        byte[] key = cipherKey.getEncoded();
        try {
            user.accept(key);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    /** The nonce of the draw for {@code (model, tensor, shard, version)}. */
    public byte[] nonce(String model, String tensor, int shard, long version) {
        Objects.requireNonNull(model, "model must not be null");
        Objects.requireNonNull(tensor, "tensor must not be null");
        byte[] m = model.getBytes(StandardCharsets.UTF_8);
        byte[] t = tensor.getBytes(StandardCharsets.UTF_8);
        byte[] label = NONCE_LABEL.getBytes(StandardCharsets.UTF_8);
        // Length prefixes make the encoding injective: ("ab", "c") and ("a", "bc") get different nonces.
        ByteBuffer buf = ByteBuffer.allocate(label.length + 4 + m.length + 4 + t.length + 4 + 8)
                .order(ByteOrder.BIG_ENDIAN);
        buf.put(label)
                .putInt(m.length)
                .put(m)
                .putInt(t.length)
                .put(t)
                .putInt(shard)
                .putLong(version);
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(nonceKey);
            return Arrays.copyOf(mac.doFinal(buf.array()), NONCE_BYTES);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable in this JDK", e);
        }
    }

    private static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            // Deliberately no detail from the key: only the algorithm is named.
            throw new IllegalStateException("HmacSHA256 key derivation failed", e);
        }
    }

    /** Names the construction only; no key material is shown. */
    @Override
    public String toString() {
        return "NoiseKeys[HMAC-SHA256 derived, redacted]";
    }
}
