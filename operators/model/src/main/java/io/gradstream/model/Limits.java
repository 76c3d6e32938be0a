package io.gradstream.model;

import java.io.Serializable;

/**
 * The bounds that keep the job's memory and work a function of its configuration, never of what producers send:
 * record sizes, the size of a model a CREATE may ask for, per-contribution numbers, and the waiting room. Every input
 * beyond a bound is refused with a reason naming the bound and its configuration key ({@code gradstream.limits.*}).
 *
 * @param recordBytes largest gradient or control record that is decoded; larger ones are refused unread
 * @param rejectedValueBytes most bytes of a refused record's value kept on the rejected topic; a longer value is cut
 *     to this prefix and its length and SHA-256 are named in the detail, so a rejection always fits its topic
 * @param shardElements most elements in one shard, so that a shard's ParameterUpdate fits the producer's
 *     {@code max.request.size}
 * @param modelShards most shards in one model
 * @param modelElements most elements in one model (all its tensors)
 * @param models most models that exist at once
 * @param syncWorkers most workers a SYNC step may wait for
 * @param examples largest {@code numExamples} of one contribution; 2^24 keeps every count exact in the float32
 *     weights of the aggregate
 * @param workerStepWindow how far a contribution's {@code workerStep} may run ahead of the larger of the worker's last
 *     accepted step and the shard's version, so one wild value cannot lock a worker out of a shard
 * @param nameLength longest model, tensor or worker id, in characters
 * @param waitingBytesPerShard bytes of records one shard holds while their model does not exist yet
 * @param waitingBytes bytes of such records one subtask holds in all
 */
public record Limits(
        int recordBytes,
        int rejectedValueBytes,
        int shardElements,
        int modelShards,
        long modelElements,
        int models,
        int syncWorkers,
        long examples,
        long workerStepWindow,
        int nameLength,
        long waitingBytesPerShard,
        long waitingBytes)
        implements Serializable {

    /** The producer's {@code max.request.size} of the job's sinks (KafkaIo) and the topics' message size. */
    public static final int MAX_REQUEST_BYTES = 16 << 20;
    /** Room left in a record for everything but a ParameterUpdate's payload (ids, version, metadata). */
    static final int UPDATE_OVERHEAD_BYTES = 64 << 10;
    /** The largest shard whose FP32 ParameterUpdate fits {@link #MAX_REQUEST_BYTES}. */
    public static final int MAX_SHARD_ELEMENTS = (MAX_REQUEST_BYTES - UPDATE_OVERHEAD_BYTES) / 4;

    public static final Limits DEFAULT = new Limits(
            MAX_REQUEST_BYTES,
            1 << 20,
            MAX_SHARD_ELEMENTS,
            1 << 16,
            1L << 28,
            1000,
            10_000,
            1L << 24,
            1_000_000,
            256,
            32L << 20,
            128L << 20);

    public Limits {
        positive("record-bytes", recordBytes);
        positive("rejected-value-bytes", rejectedValueBytes);
        if (rejectedValueBytes > MAX_REQUEST_BYTES - UPDATE_OVERHEAD_BYTES) {
            throw new IllegalArgumentException("gradstream.limits.rejected-value-bytes must leave room for the rest "
                    + "of a rejected record: at most " + (MAX_REQUEST_BYTES - UPDATE_OVERHEAD_BYTES) + ", got "
                    + rejectedValueBytes);
        }
        positive("shard-elements", shardElements);
        if (shardElements > MAX_SHARD_ELEMENTS) {
            throw new IllegalArgumentException("gradstream.limits.shard-elements must be at most " + MAX_SHARD_ELEMENTS
                    + " (a shard's FP32 update must fit a " + MAX_REQUEST_BYTES + "-byte Kafka record), got "
                    + shardElements);
        }
        positive("model-shards", modelShards);
        positive("model-elements", modelElements);
        if (modelElements > 1L << 40) {
            throw new IllegalArgumentException(
                    "gradstream.limits.model-elements must be at most 2^40, got " + modelElements);
        }
        positive("models", models);
        positive("sync-workers", syncWorkers);
        positive("examples", examples);
        positive("worker-step-window", workerStepWindow);
        positive("name-length", nameLength);
        positive("waiting-bytes-per-shard", waitingBytesPerShard);
        positive("waiting-bytes", waitingBytes);
    }

    private static void positive(String key, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException("gradstream.limits." + key + " must be > 0, got " + value);
        }
    }

    /**
     * Most array and map items a decoded control record may hold. Each item is an object of about a hundred bytes on
     * the heap however few bytes it takes on the wire, so this bounds a decoded command by configuration rather than
     * at some fifty times the record's size. A tensor has at least one shard, so a valid model has at most
     * {@link #modelShards} tensors: 8 items per tensor (itself and its dimensions) and 4096 for hyperparameters and
     * schedules leave room for every valid spec.
     */
    public long controlItems() {
        return 8L * modelShards + 4096;
    }

    /** Checks a model, tensor or worker id: a valid name of at most {@link #nameLength} characters. */
    public void requireName(String what, String name) {
        io.gradstream.core.shard.ShardKey.requireName(what, name);
        if (name.length() > nameLength) {
            throw new IllegalArgumentException(what + " name has " + name.length() + " characters, more than "
                    + "gradstream.limits.name-length = " + nameLength);
        }
    }
}
