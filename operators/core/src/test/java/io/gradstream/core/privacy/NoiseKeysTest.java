package io.gradstream.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** The key and nonce derivation as its Javadoc specifies it, computed here independently with the JDK's HMAC. */
class NoiseKeysTest {
    private static final byte[] SEED = "noise-keys-test-seed-0123456789abcdef".getBytes(StandardCharsets.UTF_8);

    @Test
    void theCipherKeyIsTheHmacOfTheSeedUnderItsLabel() throws Exception {
        AtomicReference<byte[]> seen = new AtomicReference<>();
        AtomicReference<byte[]> handed = new AtomicReference<>();
        NoiseKeys.derive(SEED).withCipherKey(k -> {
            seen.set(k.clone());
            handed.set(k);
        });
        assertThat(seen.get()).hasSize(32).containsExactly(hmac(SEED, "gradstream/dp-noise/chacha20-key/v1"));
        assertThat(handed.get()).as("the copy handed out is wiped afterwards").containsOnly((byte) 0);
    }

    @Test
    void theNonceIsTheTruncatedHmacOfTheLengthPrefixedIdentity() throws Exception {
        byte[] nonceKey = hmac(SEED, "gradstream/dp-noise/nonce-key/v1");
        byte[] label = "gradstream/dp-noise/nonce/v1".getBytes(StandardCharsets.UTF_8);
        byte[] model = "mödel".getBytes(StandardCharsets.UTF_8);
        byte[] tensor = "w".getBytes(StandardCharsets.UTF_8);
        ByteBuffer identity = ByteBuffer.allocate(label.length + 4 + model.length + 4 + tensor.length + 12);
        identity.put(label)
                .putInt(model.length)
                .put(model)
                .putInt(tensor.length)
                .put(tensor)
                .putInt(7)
                .putLong(42);
        byte[] expected = Arrays.copyOf(hmac(nonceKey, identity.array()), 12);

        NoiseKeys keys = NoiseKeys.derive(SEED);
        assertThat(keys.nonce("mödel", "w", 7, 42)).containsExactly(expected);
        // Length prefixes keep ("ab", "c") and ("a", "bc") apart; every component matters.
        assertThat(keys.nonce("ab", "c", 0, 1)).isNotEqualTo(keys.nonce("a", "bc", 0, 1));
        assertThat(keys.nonce("mödel", "w", 7, 43)).isNotEqualTo(expected);
        assertThat(keys.nonce("mödel", "w", 8, 42)).isNotEqualTo(expected);
    }

    @Test
    void shortSeedsAreRefusedWithoutShowingThem() {
        byte[] shortSeed = "fifteen-bytes!!".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> NoiseKeys.derive(shortSeed))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 16 bytes")
                .hasMessageNotContaining("fifteen");
        assertThat(NoiseKeys.derive(SEED).toString()).doesNotContain("noise-keys-test");
    }

    private static byte[] hmac(byte[] key, String data) throws Exception {
        return hmac(key, data.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] hmac(byte[] key, byte[] data) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(data);
    }
}
