package io.gradstream.core.privacy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
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
        boolean hasFile = file != null && !file.isEmpty();
        boolean hasEnv = env != null && !env.isEmpty();
        if (hasFile == hasEnv) {
            throw new IllegalArgumentException("the noise seed needs exactly one of seedFile and seedEnv (a reference "
                    + "to the secret, never the secret itself)");
        }
        byte[] raw;
        String source;
        if (hasFile) {
            source = "seedFile " + file;
            raw = readFile(source, file);
        } else {
            source = "seedEnv " + env;
            String v = environment.apply(env);
            if (v == null) {
                throw new IllegalArgumentException(source + " is not set in the task manager's environment");
            }
            raw = v.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
        int end = raw.length;
        while (end > 0 && Character.isWhitespace(raw[end - 1])) {
            end--;
        }
        byte[] seed = Arrays.copyOf(raw, end);
        Arrays.fill(raw, (byte) 0);
        if (seed.length < NoiseGenerator.MIN_SEED_BYTES) {
            int n = seed.length;
            Arrays.fill(seed, (byte) 0);
            throw new IllegalArgumentException(source + " holds " + n + " bytes; the noise seed needs at least "
                    + NoiseGenerator.MIN_SEED_BYTES + " (e.g. openssl rand -hex 32)");
        }
        return seed;
    }

    /** At most {@link #MAX_BYTES} of a regular file; devices, pipes and directories are refused before reading. */
    private static byte[] readFile(String source, String file) {
        Path path;
        try {
            path = Path.of(file);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(source + " is not a valid path");
        }
        if (!Files.exists(path)) {
            throw new IllegalArgumentException(source + " cannot be read (NoSuchFileException)");
        }
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException(source + " is not a regular file");
        }
        try (InputStream in = Files.newInputStream(path)) {
            byte[] raw = in.readNBytes(MAX_BYTES + 1);
            if (raw.length > MAX_BYTES) {
                Arrays.fill(raw, (byte) 0);
                throw new IllegalArgumentException(source + " is longer than " + MAX_BYTES + " bytes; a noise seed is "
                        + "16 to a few hundred bytes");
            }
            return raw;
        } catch (IOException | RuntimeException e) {
            if (e instanceof IllegalArgumentException iae && iae.getMessage().startsWith(source)) {
                throw iae;
            }
            throw new IllegalArgumentException(
                    source + " cannot be read (" + e.getClass().getSimpleName() + ")");
        }
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
