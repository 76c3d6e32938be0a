package io.gradstream.bench;

import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.TensorPayload;
import io.gradstream.schemas.TensorSpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A seeded generator of records the job must refuse, one of each {@link Kind} per {@link #round}: garbage, Avro that
 * lies about its lengths, keys that do not match, models that do not exist, NaN payloads, duplicates, records above
 * the size limit, and invalid control commands. Every record it makes is bounded in size (at most the record limit
 * plus 64 KiB) and none of them may be applied, so each must come back on the rejected topic.
 */
public final class HostileLoad {

    /** The kinds of bad record, each on the topic it attacks. */
    public enum Kind {
        RANDOM_BYTES,
        CORRUPT_LENGTH,
        TRUNCATED,
        WRONG_KEY,
        NULL_KEY,
        UNKNOWN_MODEL,
        NAN_PAYLOAD,
        INFINITE_PAYLOAD,
        DUPLICATE,
        OVERSIZE,
        OVERSIZE_PAYLOAD,
        CONTROL_RANDOM_BYTES,
        CONTROL_CORRUPT_LENGTH,
        CONTROL_HUGE_CREATE,
        CONTROL_CONFLICTING_CREATE,
        CONTROL_INVALID_UPDATE,
        CONTROL_UNKNOWN_MODEL;

        public boolean control() {
            return name().startsWith("CONTROL_");
        }
    }

    /** One bad record: its kind, and the key (may be null) and value to send on the kind's topic. */
    public record Hostile(Kind kind, byte[] key, byte[] value) {}

    /** A gradient the job has already applied (acknowledged by the broker), for {@link Kind#DUPLICATE}. */
    public record Sent(byte[] key, byte[] value) {}

    private final SplittableRandom rnd;
    private final String model;
    private final ModelSpec spec;
    private final int shards;
    private final int shardSize;
    private final int recordLimit;
    private final AvroRecords<GradientBatch> gradients = new AvroRecords<>(GradientBatch.class);
    private final AvroRecords<ControlCommand> control = new AvroRecords<>(ControlCommand.class);
    private long serial;

    /**
     * @param model the model the steady load trains, created with {@code spec} (one tensor {@code w})
     * @param recordLimit the job's {@code gradstream.limits.record-bytes}
     */
    public HostileLoad(long seed, String model, ModelSpec spec, int recordLimit) {
        this.rnd = new SplittableRandom(seed);
        this.model = model;
        this.spec = spec;
        this.shardSize = spec.getShardSize();
        long elements = spec.getTensors().get(0).getShape().stream()
                .mapToLong(Integer::longValue)
                .reduce(1, (a, b) -> a * b);
        this.shards = (int) ((elements + shardSize - 1) / shardSize);
        this.recordLimit = recordLimit;
    }

    /**
     * One record of every kind, in a seeded order; {@link Kind#DUPLICATE} only when {@code applied} is given.
     */
    public List<Hostile> round(Sent applied) {
        List<Kind> kinds = new ArrayList<>(Arrays.asList(Kind.values()));
        for (int i = kinds.size() - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            kinds.set(i, kinds.set(j, kinds.get(i)));
        }
        List<Hostile> out = new ArrayList<>();
        for (Kind k : kinds) {
            if (k == Kind.DUPLICATE && applied == null) {
                continue;
            }
            out.add(make(k, applied));
        }
        return out;
    }

    /** A record of kind {@code k}; {@code applied} is needed for {@link Kind#DUPLICATE} only. */
    public Hostile make(Kind k, Sent applied) {
        serial++;
        int shard = rnd.nextInt(shards);
        String key = model + "/w/" + shard;
        return switch (k) {
            case RANDOM_BYTES -> new Hostile(k, bytes(key), randomBytes(1 + rnd.nextInt(4096)));
            case CORRUPT_LENGTH -> new Hostile(k, bytes(key), corruptLength(valid(shard, shardSize, Float.NaN)));
            case TRUNCATED -> {
                byte[] v = valid(shard, shardSize, 0f);
                yield new Hostile(k, bytes(key), Arrays.copyOf(v, 1 + rnd.nextInt(v.length - 1)));
            }
            // A valid gradient under another shard's key: it would go to the wrong keyed state.
            case WRONG_KEY ->
                new Hostile(
                        k,
                        bytes(model + "/w/"
                                + ((shard + 1 + rnd.nextInt(Math.max(1, shards - 1))) % Math.max(2, shards))),
                        valid(shard, shardSize, 0f));
            case NULL_KEY -> new Hostile(k, null, valid(shard, shardSize, 0f));
            case UNKNOWN_MODEL -> {
                String ghost = "ghost-" + Long.toHexString(rnd.nextLong());
                yield new Hostile(k, bytes(ghost + "/w/0"), gradient(ghost, 0, shardSize, 0f));
            }
            case NAN_PAYLOAD -> new Hostile(k, bytes(key), valid(shard, shardSize, Float.NaN));
            case INFINITE_PAYLOAD ->
                new Hostile(
                        k,
                        bytes(key),
                        valid(shard, shardSize, rnd.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY));
            case DUPLICATE -> new Hostile(k, applied.key(), applied.value());
            case OVERSIZE -> new Hostile(k, bytes(key), randomBytes(recordLimit + 1 + rnd.nextInt(64 << 10)));
            // Well-formed, within the size limit, but with more elements than the shard has.
            case OVERSIZE_PAYLOAD ->
                new Hostile(
                        k,
                        bytes(key),
                        gradient(model, shard, Math.max(shardSize + 1, Math.min(4 * shardSize, recordLimit / 8)), 0f));
            case CONTROL_RANDOM_BYTES -> new Hostile(k, bytes(model), randomBytes(1 + rnd.nextInt(4096)));
            case CONTROL_CORRUPT_LENGTH ->
                new Hostile(k, bytes(model), corruptLength(command(CommandType.CREATE, "m-" + serial, spec)));
            // A billion shards: refused by gradstream.limits.* before anything is allocated.
            case CONTROL_HUGE_CREATE -> {
                String huge = "huge-" + serial;
                ModelSpec s = ModelSpec.newBuilder(spec)
                        .setShardSize(1)
                        .setTensors(List.of(TensorSpec.newBuilder()
                                .setName("w")
                                .setShape(List.of(1 << 15, 1 << 15))
                                .build()))
                        .build();
                yield new Hostile(k, bytes(huge), command(CommandType.CREATE, huge, s));
            }
            case CONTROL_CONFLICTING_CREATE ->
                new Hostile(
                        k,
                        bytes(model),
                        command(
                                CommandType.CREATE,
                                model,
                                ModelSpec.newBuilder(spec)
                                        .setOptimizer("SGD")
                                        .setHyperparameters(Map.of("lr", 0.5))
                                        .build()));
            case CONTROL_INVALID_UPDATE ->
                new Hostile(
                        k,
                        bytes(model),
                        control.encode(ControlCommand.newBuilder()
                                .setModelId(model)
                                .setType(CommandType.UPDATE_HYPERPARAMETERS)
                                .setHyperparameters(Map.of("lr", rnd.nextBoolean() ? -1.0 : Double.NaN))
                                .build()));
            case CONTROL_UNKNOWN_MODEL -> {
                String ghost = "ghost-" + Long.toHexString(rnd.nextLong());
                CommandType t = rnd.nextBoolean() ? CommandType.DELETE : CommandType.PAUSE;
                yield new Hostile(k, bytes(ghost), command(t, ghost, null));
            }
        };
    }

    private byte[] valid(int shard, int length, float poison) {
        return gradient(model, shard, length, poison);
    }

    /** A gradient with small random values; a non-zero {@code poison} replaces one of them. */
    private byte[] gradient(String modelId, int shard, int length, float poison) {
        float[] g = new float[length];
        for (int i = 0; i < g.length; i++) {
            g[i] = (float) (rnd.nextGaussian() * 1e-3);
        }
        if (poison != 0f) {
            g[rnd.nextInt(g.length)] = poison;
        }
        byte[] payload = PayloadCodecs.fp32().encode(g);
        return gradients.encode(GradientBatch.newBuilder()
                .setModelId(modelId)
                .setTensor("w")
                .setShard(shard)
                .setWorkerId("hostile")
                .setWorkerStep(1 + serial)
                .setBaseVersion(0)
                .setNumExamples(1)
                .setPayload(new TensorPayload(Encoding.FP32, length, ByteBuffer.wrap(payload)))
                .setPublishedAtMs(System.currentTimeMillis())
                .build());
    }

    private byte[] command(CommandType type, String modelId, ModelSpec s) {
        return control.encode(ControlCommand.newBuilder()
                .setModelId(modelId)
                .setType(type)
                .setSpec(s)
                .build());
    }

    /**
     * The record's first field (a string) claims a length of about 2 GiB, or a negative one: a decoder that
     * trusted it would allocate that much or fail outside its error handling.
     */
    private byte[] corruptLength(byte[] v) {
        // Skip the original length varint, then write a zig-zag varint of +2^30..2^31-1 or of a negative number.
        int i = 0;
        while ((v[i] & 0x80) != 0) {
            i++;
        }
        long claimed = rnd.nextBoolean() ? (1L << 30) + rnd.nextInt(1 << 30) : -1 - rnd.nextInt(1 << 20);
        long zigzag = (claimed << 1) ^ (claimed >> 63);
        byte[] head = new byte[10];
        int n = 0;
        while ((zigzag & ~0x7FL) != 0) {
            head[n++] = (byte) ((zigzag & 0x7F) | 0x80);
            zigzag >>>= 7;
        }
        head[n++] = (byte) zigzag;
        byte[] out = new byte[n + v.length - i - 1];
        System.arraycopy(head, 0, out, 0, n);
        System.arraycopy(v, i + 1, out, n, v.length - i - 1);
        return out;
    }

    private byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
