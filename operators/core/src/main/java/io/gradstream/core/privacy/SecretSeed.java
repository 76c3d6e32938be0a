package io.gradstream.core.privacy;

import io.gradstream.core.auth.SecretReader;
import java.util.Arrays;
import java.util.function.Function;

/**
 * Reads the secret that keys the DP noise from a file or an environment variable. A model's spec only names where the
 * secret is; the value is read on the task, handed to {@link NoiseGenerator} and wiped, so it never reaches state,
 * checkpoints, logs, metrics or messages (which name the source and the length only).
 */
public final class SecretSeed {
    /**
     * Longest secret read: a seed is 16 to a few hundred bytes, and a reference to a device or pipe that never ends
     * ({@code /dev/zero}) must cost no more than this.
     */
    public static final int MAX_BYTES = 4096;

    private SecretSeed() {}

    private static final SecretReader.Kind SEED = new SecretReader.Kind(
            "the noise seed",
            "seedFile",
            "seedEnv",
            NoiseGenerator.MIN_SEED_BYTES,
            MAX_BYTES,
            "a noise seed is 16 to a few hundred bytes");

    /**
     * The secret's bytes with trailing whitespace removed (so {@code openssl rand -hex 32 > seed} and an environment
     * variable with the same text key the same noise), at least {@link NoiseGenerator#MIN_SEED_BYTES} long.
     *
     * @param file a path, or null
     * @param env an environment variable name, or null; exactly one of file and env must be given
     * @param environment the environment lookup ({@code System::getenv} outside tests)
     * @throws IllegalArgumentException naming the source (never the value) when it is missing, not a regular file,
     *     unreadable, short, or longer than {@link #MAX_BYTES}
     */
    public static byte[] read(String file, String env, Function<String, String> environment) {
        return SecretReader.read(SEED, file, env, environment);
    }

    /** A noise generator keyed by the secret of {@link #read}; the read bytes are wiped afterwards. */
    public static NoiseGenerator generator(String file, String env, Function<String, String> environment) {
        byte[] seed = read(file, env, environment);
        try {
            return new NoiseGenerator(seed);
        } finally {
            Arrays.fill(seed, (byte) 0);
        }
    }
}
