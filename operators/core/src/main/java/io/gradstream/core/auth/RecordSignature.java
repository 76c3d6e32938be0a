package io.gradstream.core.auth;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The signature an authorised worker puts on each gradient record, in its {@value #HEADER} header, and its check: an
 * HMAC-SHA256 (RFC 2104) under the worker's key of the canonical bytes
 *
 * <pre>"gradstream-gradient-v1" || uint32_be(len(recordKey)) || recordKey || value</pre>
 *
 * The domain tag keeps the MAC from meaning anything elsewhere, the length keeps key and value apart, and the worker id,
 * model, shard, step and payload are all inside the value. One instance holds one key (for the job: one worker); not
 * thread-safe (reuses its {@link Mac}). Checks are constant-time in the signature ({@link MessageDigest#isEqual}).
 */
public final class RecordSignature {
    /** The Kafka record header that carries the signature. */
    public static final String HEADER = "gradstream-signature";
    /** Length of a signature: one HMAC-SHA256. */
    public static final int BYTES = 32;
    /** Shortest key: 128 bits. */
    public static final int MIN_KEY_BYTES = 16;
    /** Longest key, and so the most a key file costs to read. */
    public static final int MAX_KEY_BYTES = 1024;

    private static final String ALGORITHM = "HmacSHA256";
    private static final byte[] DOMAIN = "gradstream-gradient-v1".getBytes(StandardCharsets.US_ASCII);

    /** What a worker key is, for {@link SecretReader}. */
    public static final SecretReader.Kind KEY = new SecretReader.Kind(
            "a worker key",
            "keyFile",
            "keyEnv",
            MIN_KEY_BYTES,
            MAX_KEY_BYTES,
            "a worker key is 16 to " + MAX_KEY_BYTES + " bytes (e.g. openssl rand -hex 32)");

    private final Mac mac;

    /**
     * @param key the worker's key: the bytes of its key file or variable without trailing whitespace, 16 to 1024 of
     *     them; copied, so the caller may wipe its array
     * @throws IllegalArgumentException when the key is shorter or longer (the message gives the length only)
     */
    public RecordSignature(byte[] key) {
        if (key == null || key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("a worker key must have " + MIN_KEY_BYTES + " to " + MAX_KEY_BYTES
                    + " bytes, got " + (key == null ? "none" : key.length));
        }
        try {
            mac = Mac.getInstance(ALGORITHM);
            mac.init(new SecretKeySpec(key, ALGORITHM));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("every JDK has " + ALGORITHM, e);
        }
    }

    /** The signature of a record: 32 bytes for its {@value #HEADER} header. */
    public byte[] sign(byte[] recordKey, byte[] value) {
        byte[] k = recordKey == null ? new byte[0] : recordKey;
        byte[] v = value == null ? new byte[0] : value;
        mac.reset();
        mac.update(DOMAIN);
        mac.update(
                new byte[] {(byte) (k.length >>> 24), (byte) (k.length >>> 16), (byte) (k.length >>> 8), (byte) k.length
                });
        mac.update(k);
        mac.update(v);
        return mac.doFinal();
    }

    /** Whether {@code signature} is this key's signature of the record; false for a missing or short one. */
    public boolean verify(byte[] recordKey, byte[] value, byte[] signature) {
        if (signature == null || signature.length != BYTES) {
            return false;
        }
        return MessageDigest.isEqual(sign(recordKey, value), signature);
    }

    /** The signature of a record under {@code key} (see {@link #RecordSignature(byte[])}). */
    public static byte[] sign(byte[] key, byte[] recordKey, byte[] value) {
        return new RecordSignature(key).sign(recordKey, value);
    }

    /** Whether {@code signature} is {@code key}'s signature of the record. */
    public static boolean verify(byte[] key, byte[] recordKey, byte[] value, byte[] signature) {
        return new RecordSignature(key).verify(recordKey, value, signature);
    }

    /**
     * The key as the job reads it from a key file's or variable's content: without trailing whitespace, so a worker
     * that signs with the file's bytes through this method uses the key the job verifies with.
     */
    public static byte[] keyFromText(byte[] text) {
        return SecretReader.trimTrailingWhitespace(text);
    }

    @Override
    public String toString() {
        return "RecordSignature(" + ALGORITHM + ")"; // never the key
    }
}
