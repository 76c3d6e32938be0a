package io.gradstream.model;

import io.gradstream.core.auth.RecordSignature;
import io.gradstream.core.auth.SecretReader;
import io.gradstream.schemas.WorkerKey;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The workers a model admits and their keys, read once on the task manager when the model's configuration is built
 * (its CREATE, an UPDATE, a restore), never per record. A worker whose key cannot be read is kept with the reason, so
 * its records are refused as UNAUTHORIZED and the job goes on. Keys stay in this object only: never in state,
 * checkpoints, logs or messages, which name the key's file or variable.
 */
public final class AuthorisedWorkers {
    /** Longest keyFile path or keyEnv name accepted. */
    static final int MAX_REFERENCE = 4096;

    private final Map<String, WorkerKey> list;
    private final Map<String, RecordSignature> keys = new HashMap<>();
    private final Map<String, String> unreadable = new HashMap<>();

    private AuthorisedWorkers(Map<String, WorkerKey> list, Function<String, String> environment) {
        this.list = list;
        for (Map.Entry<String, WorkerKey> e : list.entrySet()) {
            WorkerKey k = e.getValue();
            try {
                byte[] key = SecretReader.read(RecordSignature.KEY, k.getKeyFile(), k.getKeyEnv(), environment);
                try {
                    keys.put(e.getKey(), new RecordSignature(key));
                } finally {
                    Arrays.fill(key, (byte) 0);
                }
            } catch (IllegalArgumentException problem) {
                unreadable.put(e.getKey(), problem.getMessage());
            }
        }
    }

    /**
     * Checks a worker list and reads its keys.
     *
     * @param list worker id to where its key is; null: the model admits any worker, unsigned
     * @return null for a null list
     * @throws IllegalArgumentException when the list is invalid: more workers than gradstream.limits.sync-workers, an
     *     empty or too long worker id, a key reference that names neither or both of keyFile and keyEnv, or one too
     *     long. A key that cannot be read does not make the list invalid (see the class comment).
     */
    public static AuthorisedWorkers of(
            Map<String, WorkerKey> list, Limits limits, Function<String, String> environment) {
        if (list == null) {
            return null;
        }
        if (list.size() > limits.syncWorkers()) {
            throw new IllegalArgumentException("workers lists " + list.size() + " workers, more than "
                    + "gradstream.limits.sync-workers = " + limits.syncWorkers());
        }
        for (Map.Entry<String, WorkerKey> e : list.entrySet()) {
            String id = e.getKey();
            if (id.isEmpty() || id.length() > limits.nameLength()) {
                throw new IllegalArgumentException(
                        "workers: a worker id must have 1 to gradstream.limits.name-length = " + limits.nameLength()
                                + " characters, got " + id.length());
            }
            WorkerKey k = e.getValue();
            boolean file = k.getKeyFile() != null && !k.getKeyFile().isEmpty();
            boolean env = k.getKeyEnv() != null && !k.getKeyEnv().isEmpty();
            if (file == env) {
                throw new IllegalArgumentException("workers: worker " + GradientAdmission.shorten(id)
                        + " needs exactly one of keyFile and keyEnv (where its key is, never the key)");
            }
            String reference = file ? k.getKeyFile() : k.getKeyEnv();
            if (reference.length() > MAX_REFERENCE) {
                throw new IllegalArgumentException("workers: worker " + GradientAdmission.shorten(id) + "'s "
                        + (file ? "keyFile" : "keyEnv") + " has " + reference.length() + " characters, more than "
                        + MAX_REFERENCE);
            }
        }
        return new AuthorisedWorkers(Map.copyOf(list), environment);
    }

    /** The list as the control command gave it (worker id to where its key is). */
    public Map<String, WorkerKey> list() {
        return list;
    }

    /**
     * Why a record is not admitted, or null when it is: its worker must be listed, its key readable here, and the
     * record must carry exactly one {@value RecordSignature#HEADER} header of {@value RecordSignature#BYTES} bytes,
     * that worker's signature of its key and value.
     *
     * @param signature the header's value (null when it has none)
     * @param headers how many {@value RecordSignature#HEADER} headers the record has
     */
    public String refusal(String worker, byte[] recordKey, byte[] value, byte[] signature, int headers) {
        if (!list.containsKey(worker)) {
            return "worker " + GradientAdmission.shorten(worker) + " is not one of the model's " + list.size()
                    + " authorised workers";
        }
        String problem = unreadable.get(worker);
        if (problem != null) {
            return "the key of worker " + GradientAdmission.shorten(worker) + " cannot be read on this task manager: "
                    + problem;
        }
        if (headers == 0 || signature == null) {
            return "the record has no " + RecordSignature.HEADER + " header; the model admits signed records only";
        }
        if (headers > 1) {
            return "the record has " + headers + " " + RecordSignature.HEADER + " headers; it must have one";
        }
        if (signature.length != RecordSignature.BYTES) {
            return "the " + RecordSignature.HEADER + " header has "
                    + (signature.length > RecordSignature.BYTES
                            ? "more than " + RecordSignature.BYTES
                            : signature.length)
                    + " bytes; an HMAC-SHA256 has " + RecordSignature.BYTES;
        }
        if (!keys.get(worker).verify(recordKey, value, signature)) {
            return "the " + RecordSignature.HEADER + " header is not worker " + GradientAdmission.shorten(worker)
                    + "'s signature of this record's key and value";
        }
        return null;
    }

    @Override
    public String toString() {
        return "AuthorisedWorkers" + list.keySet(); // never a key
    }
}
