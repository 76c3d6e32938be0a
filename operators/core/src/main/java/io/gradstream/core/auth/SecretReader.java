package io.gradstream.core.auth;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Function;

/**
 * Reads a secret that a record only refers to (a file on the task managers or one of their environment variables),
 * bounded in size before a byte is kept, so that a reference to {@code /dev/zero} or a pipe costs nothing. Errors name
 * the reference and the length, never a byte of the secret; callers wipe what they are given once it has keyed them.
 */
public final class SecretReader {

    /**
     * What a secret is for, for the messages, and its bounds.
     *
     * @param what e.g. "the noise seed"
     * @param fileField the field that names a file, e.g. "seedFile"
     * @param envField the field that names an environment variable, e.g. "seedEnv"
     * @param sizeHint what a valid secret looks like, for the message of one that is too long
     */
    public record Kind(String what, String fileField, String envField, int minBytes, int maxBytes, String sizeHint) {
        public Kind {
            if (minBytes < 1 || maxBytes < minBytes) {
                throw new IllegalArgumentException("bounds must be 1 <= min <= max, got " + minBytes + ", " + maxBytes);
            }
        }
    }

    private SecretReader() {}

    /**
     * The secret's bytes with trailing whitespace removed (so {@code openssl rand -hex 32 > file} and an environment
     * variable with the same text give the same secret), between {@link Kind#minBytes} and {@link Kind#maxBytes}.
     *
     * @param file a path, or null
     * @param env an environment variable name, or null; exactly one of file and env must be given
     * @param environment the environment lookup ({@code System::getenv} outside tests)
     * @throws IllegalArgumentException naming the reference (never the value) when it is missing, not a regular file,
     *     unreadable, too short or too long
     */
    public static byte[] read(Kind kind, String file, String env, Function<String, String> environment) {
        boolean hasFile = file != null && !file.isEmpty();
        boolean hasEnv = env != null && !env.isEmpty();
        if (hasFile == hasEnv) {
            throw new IllegalArgumentException(kind.what() + " needs exactly one of " + kind.fileField() + " and "
                    + kind.envField() + " (a reference to the secret, never the secret itself)");
        }
        byte[] raw;
        String source;
        if (hasFile) {
            source = kind.fileField() + " " + file;
            raw = readFile(kind, source, file);
        } else {
            source = kind.envField() + " " + env;
            String v = environment.apply(env);
            if (v == null) {
                throw new IllegalArgumentException(source + " is not set in the task manager's environment");
            }
            raw = v.getBytes(StandardCharsets.UTF_8);
        }
        byte[] secret = trimTrailingWhitespace(raw);
        Arrays.fill(raw, (byte) 0);
        if (secret.length < kind.minBytes() || secret.length > kind.maxBytes()) {
            int n = secret.length;
            Arrays.fill(secret, (byte) 0);
            throw new IllegalArgumentException(
                    n < kind.minBytes()
                            ? source + " holds " + n + " bytes; " + kind.what() + " needs at least " + kind.minBytes()
                                    + " (e.g. openssl rand -hex 32)"
                            : source + " is longer than " + kind.maxBytes() + " bytes; " + kind.sizeHint());
        }
        return secret;
    }

    /** A copy of {@code raw} without its trailing whitespace (a file's last newline). */
    public static byte[] trimTrailingWhitespace(byte[] raw) {
        int end = raw.length;
        while (end > 0 && Character.isWhitespace(raw[end - 1])) {
            end--;
        }
        return Arrays.copyOf(raw, end);
    }

    /** At most {@code maxBytes} of a regular file; devices, pipes and directories are refused before reading. */
    private static byte[] readFile(Kind kind, String source, String file) {
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
        // Trailing whitespace may follow a secret of the maximal length; a few bytes more are read and trimmed.
        int limit = kind.maxBytes() + 64;
        try (InputStream in = Files.newInputStream(path)) {
            byte[] raw = in.readNBytes(limit + 1);
            if (raw.length > limit) {
                Arrays.fill(raw, (byte) 0);
                throw new IllegalArgumentException(
                        source + " is longer than " + kind.maxBytes() + " bytes; " + kind.sizeHint());
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
}
