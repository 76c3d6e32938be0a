package io.gradstream.core.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gradient signature against vectors computed outside the JDK, and every tampering that must fail it. */
class RecordSignatureTest {
    private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] RECORD_KEY = "m/w/0".getBytes(StandardCharsets.UTF_8);
    private static final byte[] VALUE = {1, 2, 3};

    /**
     * Computed with Python's hmac module, independently of this class:
     *
     * <pre>
     * hmac.new(key, b"gradstream-gradient-v1" + struct.pack(">I", len(rk)) + rk + value, hashlib.sha256).hexdigest()
     * </pre>
     */
    @Test
    void matchesVectorsComputedWithPython() {
        assertThat(HexFormat.of().formatHex(RecordSignature.sign(KEY, RECORD_KEY, VALUE)))
                .isEqualTo("588e48ea32f4c3de65a6acbfc6a8c7eaae3c0949325f7c5b9285f565a90dfe21");
        // No key and no value: the tag and a zero length.
        assertThat(HexFormat.of().formatHex(RecordSignature.sign(KEY, null, new byte[0])))
                .isEqualTo("c0247d7ac37b751f5b242bc6efa86d9dea56d0ed45d00d12b903e229568ac620");
    }

    @Test
    void aSignatureVerifiesOnlyForItsKeyRecordKeyAndValue() {
        byte[] sig = RecordSignature.sign(KEY, RECORD_KEY, VALUE);
        assertThat(sig).hasSize(RecordSignature.BYTES);
        assertThat(RecordSignature.verify(KEY, RECORD_KEY, VALUE, sig)).isTrue();

        byte[] otherKey = KEY.clone();
        otherKey[0] ^= 1;
        assertThat(RecordSignature.verify(otherKey, RECORD_KEY, VALUE, sig)).isFalse();
        assertThat(RecordSignature.verify(KEY, "m/w/1".getBytes(StandardCharsets.UTF_8), VALUE, sig))
                .isFalse();
        assertThat(RecordSignature.verify(KEY, RECORD_KEY, new byte[] {1, 2, 4}, sig))
                .isFalse();
        assertThat(RecordSignature.verify(KEY, RECORD_KEY, new byte[] {1, 2, 3, 0}, sig))
                .isFalse();
        // The length prefix keeps the boundary: moving a byte from the key into the value changes the MAC.
        assertThat(RecordSignature.verify(KEY, "m/w/".getBytes(StandardCharsets.UTF_8), new byte[] {'0', 1, 2, 3}, sig))
                .isFalse();
        for (int bit = 0; bit < 8 * sig.length; bit++) {
            byte[] flipped = sig.clone();
            flipped[bit / 8] ^= (byte) (1 << (bit % 8));
            assertThat(RecordSignature.verify(KEY, RECORD_KEY, VALUE, flipped)).isFalse();
        }
        assertThat(RecordSignature.verify(KEY, RECORD_KEY, VALUE, null)).isFalse();
        assertThat(RecordSignature.verify(KEY, RECORD_KEY, VALUE, new byte[0])).isFalse();
        assertThat(RecordSignature.verify(KEY, RECORD_KEY, VALUE, java.util.Arrays.copyOf(sig, 31)))
                .isFalse();
        assertThat(RecordSignature.verify(KEY, RECORD_KEY, VALUE, java.util.Arrays.copyOf(sig, 33)))
                .isFalse();
    }

    @Test
    void oneInstanceSignsManyRecordsAsTheStaticMethodsDo() {
        RecordSignature signer = new RecordSignature(KEY);
        for (int i = 0; i < 5; i++) {
            byte[] v = {(byte) i};
            assertThat(signer.sign(RECORD_KEY, v)).isEqualTo(RecordSignature.sign(KEY, RECORD_KEY, v));
            assertThat(signer.verify(RECORD_KEY, v, RecordSignature.sign(KEY, RECORD_KEY, v)))
                    .isTrue();
        }
        assertThat(signer.toString()).doesNotContain("0123456789abcdef");
    }

    @Test
    void keysOutsideTheBoundsAreRefusedByLength() {
        assertThatThrownBy(() -> new RecordSignature(new byte[15]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("got 15");
        assertThatThrownBy(() -> new RecordSignature(new byte[RecordSignature.MAX_KEY_BYTES + 1]))
                .hasMessageContaining("got 1025");
        assertThatThrownBy(() -> new RecordSignature(null)).hasMessageContaining("got none");
    }

    @Test
    void keysAreReadBoundedAndTrimmedAndProblemsNameOnlyTheReference(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("w0.key"), "0123456789abcdef0123456789abcdef\n");
        byte[] fromFile = SecretReader.read(RecordSignature.KEY, file.toString(), null, k -> null);
        byte[] fromEnv = SecretReader.read(
                RecordSignature.KEY, null, "W0_KEY", Map.of("W0_KEY", "0123456789abcdef0123456789abcdef")::get);
        assertThat(fromFile).isEqualTo(KEY).isEqualTo(fromEnv);
        assertThat(RecordSignature.keyFromText(Files.readAllBytes(file))).isEqualTo(KEY);

        Path shortKey = Files.writeString(dir.resolve("short"), "short-key-123");
        assertThatThrownBy(() -> SecretReader.read(RecordSignature.KEY, shortKey.toString(), null, k -> null))
                .hasMessageContaining("keyFile " + shortKey)
                .hasMessageContaining("13 bytes")
                .hasMessageNotContaining("short-key-123");
        Path longKey = Files.write(dir.resolve("long"), "k".repeat(2000).getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> SecretReader.read(RecordSignature.KEY, longKey.toString(), null, k -> null))
                .hasMessageContaining("longer than 1024 bytes")
                .hasMessageNotContaining("kkkk");
        assertThatThrownBy(() -> SecretReader.read(RecordSignature.KEY, "/dev/zero", null, k -> null))
                .hasMessageContaining("not a regular file");
        assertThatThrownBy(() -> SecretReader.read(RecordSignature.KEY, null, "NOPE", k -> null))
                .hasMessageContaining("keyEnv NOPE is not set");
        assertThatThrownBy(() -> SecretReader.read(RecordSignature.KEY, "f", "E", k -> "x"))
                .hasMessageContaining("exactly one of keyFile and keyEnv");
    }
}
