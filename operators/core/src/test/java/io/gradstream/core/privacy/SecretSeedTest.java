package io.gradstream.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretSeedTest {
    private static final String SECRET = "9f86d081884c7d659a2feaa0c55ad015";

    @Test
    void aFileAndAnEnvironmentVariableWithTheSameTextKeyTheSameNoise(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("seed");
        Files.writeString(file, SECRET + "\n");
        byte[] fromFile = SecretSeed.read(file.toString(), null, k -> null);
        byte[] fromEnv = SecretSeed.read(null, "GS_SEED", Map.of("GS_SEED", SECRET)::get);
        assertThat(fromFile)
                .isEqualTo(SECRET.getBytes(StandardCharsets.US_ASCII))
                .isEqualTo(fromEnv);
        float[] a = new float[64];
        float[] b = new float[64];
        SecretSeed.generator(file.toString(), null, k -> null).addGaussian(a, 1, "m", "t", 0, 3);
        SecretSeed.generator(null, "GS_SEED", Map.of("GS_SEED", SECRET)::get).addGaussian(b, 1, "m", "t", 0, 3);
        assertThat(a).isEqualTo(b);
    }

    @Test
    void problemsNameTheSourceButNeverTheValue(@TempDir Path dir) throws Exception {
        Path shortFile = dir.resolve("short");
        Files.writeString(shortFile, "tooshort-secret");
        assertThatThrownBy(() -> SecretSeed.read(shortFile.toString(), null, k -> null))
                .hasMessageContaining("seedFile " + shortFile)
                .hasMessageContaining("15 bytes")
                .hasMessageNotContaining("tooshort-secret");
        assertThatThrownBy(() -> SecretSeed.read(dir.resolve("missing").toString(), null, k -> null))
                .hasMessageContaining("cannot be read");
        assertThatThrownBy(() -> SecretSeed.read(null, "GS_SEED", k -> null))
                .hasMessageContaining("seedEnv GS_SEED is not set");
        assertThatThrownBy(() -> SecretSeed.read(null, null, k -> null)).hasMessageContaining("exactly one");
        assertThatThrownBy(() -> SecretSeed.read("f", "E", k -> SECRET)).hasMessageContaining("exactly one");
    }

    @Test
    void devicesDirectoriesAndEndlessFilesAreRefusedWithoutReadingThem(@TempDir Path dir) throws Exception {
        // /dev/zero never ends: reading it whole was an OutOfMemoryError on the task.
        assertThatThrownBy(() -> SecretSeed.read("/dev/zero", null, k -> null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a regular file");
        assertThatThrownBy(() -> SecretSeed.read(dir.toString(), null, k -> null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a regular file");
        Path big = dir.resolve("big");
        java.nio.file.Files.write(big, new byte[SecretSeed.MAX_BYTES + 1]);
        assertThatThrownBy(() -> SecretSeed.read(big.toString(), null, k -> null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("longer than");
        Path justRight = dir.resolve("ok");
        java.nio.file.Files.write(justRight, "a".repeat(SecretSeed.MAX_BYTES).getBytes());
        org.assertj.core.api.Assertions.assertThat(SecretSeed.read(justRight.toString(), null, k -> null))
                .hasSize(SecretSeed.MAX_BYTES);
    }
}
