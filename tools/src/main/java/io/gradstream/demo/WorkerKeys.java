package io.gradstream.demo;

import io.gradstream.schemas.WorkerKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The demo's authorised workers: a fresh HMAC key per worker in an owner-only file, named (never embedded) in the
 * model's CREATE, so that the job admits only these workers' signed gradients.
 */
final class WorkerKeys {
    private final Map<String, byte[]> keys;
    private final Map<String, WorkerKey> references;

    private WorkerKeys(Map<String, byte[]> keys, Map<String, WorkerKey> references) {
        this.keys = keys;
        this.references = references;
    }

    /** Writes {@code dir/<worker>.key} for workers {@code worker-0 .. worker-(n-1)}; refuses to replace a file. */
    static WorkerKeys create(Path dir, int workers) throws IOException {
        Files.createDirectories(dir);
        SecureRandom random = new SecureRandom();
        Map<String, byte[]> keys = new LinkedHashMap<>();
        Map<String, WorkerKey> references = new LinkedHashMap<>();
        for (int w = 0; w < workers; w++) {
            String id = DigitsDemo.workerId(w);
            byte[] raw = new byte[32];
            random.nextBytes(raw);
            byte[] key = HexFormat.of().formatHex(raw).getBytes(StandardCharsets.US_ASCII);
            // Owner-only from the moment it exists: no window in which another user could read it.
            Path file = Files.createFile(
                    dir.resolve(id + ".key"),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(file, key);
            keys.put(id, key);
            references.put(
                    id, WorkerKey.newBuilder().setKeyFile(file.toString()).build());
        }
        return new WorkerKeys(keys, references);
    }

    /** The key {@code worker} signs with. */
    byte[] key(String worker) {
        return keys.get(worker);
    }

    /** The CREATE's worker list: each worker and where the job finds its key. */
    Map<String, WorkerKey> references() {
        return references;
    }
}
