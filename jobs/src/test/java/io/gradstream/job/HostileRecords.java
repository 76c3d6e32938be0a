package io.gradstream.job;

import io.gradstream.core.auth.RecordSignature;
import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.operators.RawRecord;
import io.gradstream.schemas.AggregationMode;
import io.gradstream.schemas.AggregationSpec;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ChildSchedule;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.InitSpec;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.PrivacyAccountant;
import io.gradstream.schemas.PrivacyAccountingSpec;
import io.gradstream.schemas.PrivacyMechanism;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.ScheduleSpec;
import io.gradstream.schemas.TensorPayload;
import io.gradstream.schemas.TensorSpec;
import io.gradstream.schemas.WorkerKey;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A seeded generator of hostile records for the gradients and control topics: random bytes, Avro with corrupted
 * lengths, extreme numbers, non-finite payloads, wrong keys, unknown names, absurd CREATEs and the like. Each record
 * carries the reasons it may be refused with; none of them may ever be applied, so records aimed at the valid models'
 * shards are built to be invalid whatever the shard's version when they arrive.
 */
final class HostileRecords {

    /**
     * A record to send and the refusals that fit it (never empty: a hostile record is never applied), with the values
     * of its {@code gradstream-signature} headers.
     */
    record Hostile(String kind, byte[] key, byte[] value, Set<RejectReason> reasons, List<byte[]> signatures) {
        Hostile(String kind, byte[] key, byte[] value, Set<RejectReason> reasons) {
            this(kind, key, value, reasons, List.of());
        }

        @Override
        public String toString() {
            return kind + " (key " + (key == null ? "null" : key.length + " bytes") + ", value "
                    + (value == null ? "null" : value.length + " bytes") + ", may be refused as " + reasons + ")";
        }
    }

    /** Names of models that are never created: their well-formed gradients wait out the grace period. */
    static final int GHOST_MODELS = 40;

    private static final AvroRecords<GradientBatch> GRADIENTS = new AvroRecords<>(GradientBatch.class);
    private static final AvroRecords<ControlCommand> COMMANDS = new AvroRecords<>(ControlCommand.class);
    private static final Set<RejectReason> UNDECODABLE = EnumSet.of(RejectReason.UNDECODABLE);
    private static final Set<RejectReason> INVALID_COMMAND = EnumSet.of(RejectReason.INVALID_COMMAND);
    private static final Set<RejectReason> DECODE_REFUSALS = EnumSet.of(RejectReason.UNDECODABLE, RejectReason.OTHER);
    private static final Set<RejectReason> CONTROL_REFUSALS =
            EnumSet.of(RejectReason.UNDECODABLE, RejectReason.INVALID_COMMAND);
    /** A well-formed record of a model that never exists; a mutation may also break its key or example count. */
    private static final Set<RejectReason> GHOST = EnumSet.of(RejectReason.UNKNOWN_MODEL, RejectReason.TOO_LARGE);

    private static final Set<RejectReason> MUTATED_GHOST = EnumSet.of(
            RejectReason.UNDECODABLE,
            RejectReason.OTHER,
            RejectReason.UNKNOWN_MODEL,
            RejectReason.TOO_LARGE,
            RejectReason.INVALID_EXAMPLE_COUNT);

    private final SplittableRandom rnd;
    private final List<Workload> models;
    private final Workload signed;
    private final byte[][] keys;
    /** A valid model that accepts only TOPK gradients and publishes a delta stream, or null. */
    private Workload compressed;

    private int serial;

    /** @param models the valid models that train meanwhile (tensor {@code w}); their names are never hostile targets */
    HostileRecords(long seed, List<Workload> models) {
        this(seed, models, null, null);
    }

    /**
     * @param signed a valid model that admits only its workers w0, w1, ... (see {@link Workload#authorise}); it gets
     *     only records whose worker or signature is wrong, while the other generators keep to {@code models}
     * @param keys the keys of its workers
     */
    HostileRecords(long seed, List<Workload> models, Workload signed, byte[][] keys) {
        this.rnd = new SplittableRandom(seed);
        this.models = models;
        this.signed = signed;
        this.keys = keys;
    }

    /**
     * Also aims at {@code model}, a valid model whose CREATE accepts only TOPK gradients and sets a delta stream:
     * gradients in other encodings and TOPK payloads that do not decode, commands that would change its settings.
     */
    HostileRecords withCompressed(Workload model) {
        this.compressed = model;
        return this;
    }

    // ---- gradients

    /** One hostile gradient record of a random kind. */
    Hostile gradient() {
        if (signed != null && rnd.nextInt(10) == 0) {
            return unauthorised();
        }
        if (compressed != null && rnd.nextInt(10) == 0) {
            return compressedGradient();
        }
        int c = rnd.nextInt(100);
        if (c < 10) {
            return randomBytes();
        } else if (c < 20) {
            return mutated();
        } else if (c < 30) {
            return corruptedLengths();
        } else if (c < 42) {
            return extremeNumbers();
        } else if (c < 52) {
            return nonFinite();
        } else if (c < 60) {
            return wrongKey();
        } else if (c < 68) {
            return badPayload();
        } else if (c < 76) {
            return unknownTensorOrShard();
        } else if (c < 90) {
            return unknownModel();
        } else if (c < 96) {
            return badNames();
        }
        return initForRuleModel();
    }

    /** A valid gradient sent again (signed again when it was), after the original: refused as DUPLICATE. */
    Hostile replay(RawRecord original) {
        return new Hostile(
                "replay",
                original.key,
                original.value,
                EnumSet.of(RejectReason.DUPLICATE),
                original.signature == null ? List.of() : List.of(original.signature));
    }

    /**
     * A well-formed gradient of the model that names its workers, with a worker or signature header it does not
     * accept: unsigned, a signature of the wrong length, several headers, a random or bit-flipped signature, another
     * worker's key, an unlisted worker, or the signature of another record. Whatever the shard's version, it is
     * UNAUTHORIZED: the check comes before every other.
     */
    private Hostile unauthorised() {
        Workload w = signed;
        int s = shard(w);
        int k = rnd.nextInt(keys.length);
        String worker = "w" + k;
        int how = rnd.nextInt(8);
        if (how == 5) {
            worker = "x" + serial++; // signed with a listed worker's key, but not listed itself
        }
        GradientBatch b = batch(
                        w.model,
                        "w",
                        s,
                        worker,
                        1 + rnd.nextInt(12),
                        rnd.nextInt(2),
                        1 + rnd.nextInt(64),
                        fp32(finite(length(w, s))))
                .build();
        byte[] key = key(w.model, s);
        byte[] value = GRADIENTS.encode(b);
        byte[] right = RecordSignature.sign(keys[k], key, value);
        String kind;
        List<byte[]> headers;
        switch (how) {
            case 0 -> {
                kind = "unsigned";
                headers = List.of();
            }
            case 1 -> {
                int n = pickOf(0, 1, RecordSignature.BYTES - 1, RecordSignature.BYTES + 1, 64, 1 << 16);
                kind = "signature of " + n + " bytes";
                headers = List.of(
                        n > RecordSignature.BYTES ? concat(right, bytes(n - right.length)) : Arrays.copyOf(right, n));
            }
            case 2 -> {
                kind = "several signature headers";
                headers =
                        rnd.nextBoolean() ? List.of(right, right) : List.of(bytes(RecordSignature.BYTES), right, right);
            }
            case 3 -> {
                kind = "random signature";
                headers = List.of(bytes(RecordSignature.BYTES));
            }
            case 4 -> {
                kind = "another worker's key";
                headers = List.of(RecordSignature.sign(keys[(k + 1) % keys.length], key, value));
            }
            case 5 -> {
                kind = "unlisted worker";
                headers = List.of(right);
            }
            case 6 -> {
                kind = "signature of another record";
                GradientBatch other = GradientBatch.newBuilder(b)
                        .setWorkerStep(b.getWorkerStep() + 1)
                        .build();
                headers = List.of(RecordSignature.sign(keys[k], key, GRADIENTS.encode(other)));
            }
            default -> {
                kind = "bit-flipped signature";
                byte[] flipped = right.clone();
                flipped[rnd.nextInt(flipped.length)] ^= (byte) (1 << rnd.nextInt(8));
                headers = List.of(flipped);
            }
        }
        return new Hostile(kind, key, value, EnumSet.of(RejectReason.UNAUTHORIZED), headers);
    }

    /**
     * Records near the broker's 16 MiB limit (producers must raise max.request.size): a gradient whose payload is far
     * larger than its shard, random bytes, and a well-formed record that waits for a model that never comes.
     */
    List<Hostile> oversizeGradients() {
        List<Hostile> out = new ArrayList<>();
        Workload w = pick();
        int n = (16 << 20) / 4 - 4096;
        byte[] data = new byte[4 * n];
        ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(0, 1f);
        out.add(gradient(
                "oversize payload",
                batch(
                                w.model,
                                "w",
                                0,
                                "x" + serial++,
                                1,
                                0,
                                1,
                                new TensorPayload(Encoding.FP32, n, ByteBuffer.wrap(data)))
                        .build(),
                EnumSet.of(RejectReason.WRONG_ELEMENT_COUNT)));
        byte[] noise = new byte[(16 << 20) - 4096];
        rnd.nextBytes(noise);
        out.add(new Hostile("oversize random bytes", key(w.model, 0), noise, DECODE_REFUSALS));
        int m = (12 << 20) / 4;
        out.add(gradient(
                "oversize waiting",
                batch(
                                "ghost-big",
                                "w",
                                0,
                                "x",
                                1,
                                0,
                                1,
                                new TensorPayload(Encoding.FP32, m, ByteBuffer.wrap(new byte[4 * m])))
                        .build(),
                GHOST));
        return out;
    }

    private Hostile randomBytes() {
        byte[] value;
        int shape = rnd.nextInt(20);
        if (shape == 0) {
            value = null; // a tombstone
        } else if (shape == 1) {
            value = new byte[0];
        } else {
            value = new byte[1 + rnd.nextInt(rnd.nextBoolean() ? 16 : 400)];
            rnd.nextBytes(value);
        }
        return new Hostile("random bytes", anyKey(), value, DECODE_REFUSALS);
    }

    /** Truncated, extended or bit-flipped encodings; flips only of records of models that never exist. */
    private Hostile mutated() {
        int how = rnd.nextInt(4);
        if (how < 2) {
            // A strict prefix or an extension of a valid model's record is never a record: Avro binary is prefix-free.
            Workload w = pick();
            int s = shard(w);
            byte[] v = GRADIENTS.encode(batch(w.model, "w", s, "x" + serial++, 1, 0, 1, fp32(finite(length(w, s))))
                    .build());
            byte[] out = how == 0 ? Arrays.copyOf(v, rnd.nextInt(v.length)) : concat(v, bytes(1 + rnd.nextInt(8)));
            return new Hostile(how == 0 ? "truncated" : "trailing bytes", key(w.model, s), out, UNDECODABLE);
        }
        int ghost = rnd.nextInt(GHOST_MODELS);
        byte[] v = GRADIENTS.encode(batch(
                        "ghost-" + ghost,
                        "w",
                        0,
                        "x",
                        rnd.nextLong(),
                        rnd.nextLong(),
                        1,
                        fp32(finite(1 + rnd.nextInt(8))))
                .build());
        byte[] out = v.clone();
        if (how == 2) {
            for (int i = 0, flips = 1 + rnd.nextInt(3); i < flips; i++) {
                out[rnd.nextInt(out.length)] ^= (byte) (1 << rnd.nextInt(8));
            }
        } else {
            int at = rnd.nextInt(out.length);
            out = rnd.nextBoolean()
                    ? concat(
                            Arrays.copyOf(out, at),
                            new byte[] {(byte) rnd.nextInt()},
                            Arrays.copyOfRange(out, at, out.length))
                    : concat(Arrays.copyOf(out, at), Arrays.copyOfRange(out, at + 1, out.length));
        }
        return new Hostile("mutated", ("ghost-" + ghost + "/w/0").getBytes(StandardCharsets.UTF_8), out, MUTATED_GHOST);
    }

    /** Hand-written Avro whose string, bytes or count prefixes claim what the record does not hold. */
    private Hostile corruptedLengths() {
        Workload w = pick();
        int s = shard(w);
        int n = length(w, s);
        int target = rnd.nextInt(9);
        long bad = hostileLength();
        Wire o = new Wire();
        o.string(target == 0 ? (Long) bad : null, w.model);
        o.string(target == 1 ? (Long) bad : null, "w");
        o.varint(target == 2 ? outOfIntRange() : s);
        o.string(target == 3 ? (Long) bad : null, "x" + serial++);
        o.varint(1).varint(0).varint(1);
        o.varint(target == 4 ? (rnd.nextBoolean() ? 5 + rnd.nextInt(100) : outOfIntRange()) : 0); // encoding
        o.varint(target == 5 ? outOfIntRange() : n);
        byte[] data = new byte[4 * n];
        o.bytes(target == 6 ? (Long) bad : null, data);
        o.varint(target == 7 ? (rnd.nextBoolean() ? 2 + rnd.nextInt(10) : -1 - rnd.nextInt(10)) : 0); // loss union
        o.varint(target == 8 ? 2 + rnd.nextInt(100) : 0); // kind
        o.varint(0);
        if (rnd.nextInt(10) == 0) {
            o.raw(new byte[] {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1}); // a varint longer than 64 bits
        }
        return new Hostile("corrupted length " + target, key(w.model, s), o.toBytes(), UNDECODABLE);
    }

    /** Well-formed records of a valid model with numbers no version can accept. */
    private Hostile extremeNumbers() {
        Workload w = pick();
        int s = shard(w);
        float[] g = finite(length(w, s));
        String worker = rnd.nextBoolean() ? "w" + rnd.nextInt(2) : "x" + serial++;
        long step = 1 + rnd.nextInt(12);
        long base = 0;
        long n = 1 + rnd.nextInt(64);
        Set<RejectReason> reasons;
        String kind;
        switch (rnd.nextInt(7)) {
            case 0 -> {
                step = pickOf(Long.MIN_VALUE, -1L, -1L - rnd.nextInt(1 << 20));
                reasons = EnumSet.of(RejectReason.OUT_OF_RANGE);
                kind = "negative workerStep";
            }
            case 1 -> {
                base = pickOf(Long.MIN_VALUE, -1L, (long) Integer.MIN_VALUE);
                reasons = EnumSet.of(RejectReason.OUT_OF_RANGE);
                kind = "negative baseVersion";
            }
            case 2 -> {
                step = pickOf(Long.MAX_VALUE, 1L << 40, 1_000_100L + rnd.nextInt(1 << 20));
                reasons = EnumSet.of(RejectReason.OUT_OF_RANGE);
                kind = "workerStep beyond the window";
            }
            case 3 -> {
                base = pickOf(Long.MAX_VALUE, 1L << 40, 1000L + rnd.nextInt(1000));
                // A valid worker's old step is a duplicate before its version is looked at.
                reasons = EnumSet.of(RejectReason.FUTURE_VERSION, RejectReason.DUPLICATE);
                kind = "future baseVersion";
            }
            case 4 -> {
                n = pickOf(0L, -1L, Long.MIN_VALUE);
                reasons = EnumSet.of(RejectReason.INVALID_EXAMPLE_COUNT);
                kind = "numExamples <= 0";
            }
            case 5 -> {
                n = pickOf((1L << 24) + 1, Long.MAX_VALUE, 1L << 40);
                reasons = EnumSet.of(RejectReason.INVALID_EXAMPLE_COUNT);
                kind = "numExamples above the limit";
            }
            default -> {
                // Finite, but n * g overflows float32. Only a SYNC sum weights by n (an ASYNC step applies g itself,
                // which is finite), and SYNC may see the wrong version first.
                w = models.stream().filter(x -> x.sync).findFirst().orElseThrow();
                s = shard(w);
                g = finite(length(w, s));
                worker = "x" + serial++;
                g[rnd.nextInt(g.length)] = rnd.nextBoolean() ? 3e38f : -3e38f;
                n = 1000 + rnd.nextInt(1000);
                base = rnd.nextInt(2);
                reasons = EnumSet.of(RejectReason.NON_FINITE_RESULT, RejectReason.STALE, RejectReason.FUTURE_VERSION);
                kind = "overflowing aggregate";
            }
        }
        return gradient(
                kind, batch(w.model, "w", s, worker, step, base, n, fp32(g)).build(), reasons);
    }

    /** NaN or infinity in the payload (FP32, FP16, BF16, TOPK) or an infinite loss. */
    private Hostile nonFinite() {
        Workload w = pick();
        int s = shard(w);
        int len = length(w, s);
        float[] g = finite(len);
        float bad =
                pickOf(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0x7fc00001));
        GradientBatch.Builder b;
        int how = rnd.nextInt(5);
        if (how == 4) {
            b = batch(w.model, "w", s, "x" + serial++, 1, 0, 1, fp32(g))
                    .setLoss(rnd.nextBoolean() ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY);
        } else {
            g[rnd.nextInt(len)] = bad;
            TensorPayload p = switch (how) {
                case 0 -> fp32(g);
                case 1 -> payload(Encoding.FP16, len, PayloadCodecs.fp16().encode(g));
                case 2 -> payload(Encoding.BF16, len, PayloadCodecs.bf16().encode(g));
                default -> {
                    // One TOPK entry whose value is not finite.
                    ByteBuffer t = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
                    t.putInt(1).putInt(rnd.nextInt(len)).putFloat(bad);
                    yield payload(Encoding.TOPK, len, t.array());
                }
            };
            b = batch(w.model, "w", s, "x" + serial++, 1, 0, 1, p);
        }
        return gradient("non-finite " + how, b.build(), EnumSet.of(RejectReason.NON_FINITE));
    }

    /** A value that would be applied under its own key, sent under another or a malformed one. */
    private Hostile wrongKey() {
        Workload w = pick();
        int s = shard(w);
        GradientBatch b = batch(w.model, "w", s, "x" + serial++, 1, 0, 1, fp32(finite(length(w, s))))
                .build();
        String right = w.model + "/w/" + s;
        byte[] key = switch (rnd.nextInt(12)) {
            case 0 -> null;
            case 1 -> new byte[0];
            case 2 -> bytes(1 + rnd.nextInt(40));
            case 3 -> utf8(w.model + "/w/" + ((s + 1) % w.shards() == s ? s + 1 : (s + 1) % w.shards()));
            case 4 -> utf8(right + " ");
            case 5 -> utf8(" " + right);
            case 6 -> utf8(w.model + "/w/0" + s);
            case 7 -> utf8(w.model.toUpperCase() + "/w/" + s);
            case 8 -> utf8(w.model + "//w/" + s);
            case 9 -> utf8(w.model + "/w");
            case 10 -> utf8(right + "/" + s);
            default -> utf8(right + "x".repeat(1 << 16));
        };
        return new Hostile("wrong key", key, GRADIENTS.encode(b), EnumSet.of(RejectReason.OTHER));
    }

    /** The right element count with bytes no codec accepts, or the wrong element count. */
    private Hostile badPayload() {
        Workload w = pick();
        int s = shard(w);
        int len = length(w, s);
        TensorPayload p;
        Set<RejectReason> reasons = UNDECODABLE;
        String kind;
        switch (rnd.nextInt(8)) {
            case 0 -> {
                byte[] fp = PayloadCodecs.fp32().encode(finite(len));
                p = payload(
                        Encoding.FP32,
                        len,
                        rnd.nextBoolean()
                                ? Arrays.copyOf(fp, fp.length - 1 - rnd.nextInt(4))
                                : concat(fp, bytes(1 + rnd.nextInt(4))));
                kind = "FP32 bytes of the wrong length";
            }
            case 1 -> {
                ByteBuffer t = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
                t.putInt(rnd.nextBoolean() ? len + 1 + rnd.nextInt(100) : -1 - rnd.nextInt(100));
                p = payload(Encoding.TOPK, len, t.array());
                kind = "TOPK count out of range";
            }
            case 2 -> {
                ByteBuffer t = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN);
                boolean unsorted = len > 1 && rnd.nextBoolean();
                t.putInt(2);
                if (unsorted) {
                    t.putInt(1).putInt(rnd.nextBoolean() ? 0 : 1);
                } else {
                    t.putInt(0).putInt(rnd.nextBoolean() ? len : -1);
                }
                t.putFloat(1f).putFloat(1f);
                p = payload(Encoding.TOPK, len, t.array());
                kind = "TOPK index out of order or range";
            }
            case 3 -> {
                ByteBuffer t = ByteBuffer.allocate(4 + len).order(ByteOrder.LITTLE_ENDIAN);
                t.putFloat(pickOf(Float.NaN, -1f, Float.POSITIVE_INFINITY));
                p = payload(Encoding.INT8_BLOCK, len, t.array());
                kind = "INT8 scale not finite or negative";
            }
            case 4 -> {
                ByteBuffer t = ByteBuffer.allocate(4 + len).order(ByteOrder.LITTLE_ENDIAN);
                t.putFloat(1f).put(4 + rnd.nextInt(len), Byte.MIN_VALUE);
                p = payload(Encoding.INT8_BLOCK, len, t.array());
                kind = "INT8 element -128";
            }
            case 5 -> {
                p = payload(Encoding.FP16, len, bytes(2 * len + (rnd.nextBoolean() ? 1 : -1)));
                kind = "FP16 bytes of the wrong length";
            }
            default -> {
                int count = pickOf(len + 1, len - 1, 0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE);
                p = fp32(finite(len));
                p.setElementCount(count);
                reasons = EnumSet.of(RejectReason.WRONG_ELEMENT_COUNT);
                kind = "wrong element count";
            }
        }
        return gradient(kind, batch(w.model, "w", s, "x" + serial++, 1, 0, 1, p).build(), reasons);
    }

    /**
     * For the TOPK-only model: a well-formed payload in another encoding (ENCODING_NOT_ALLOWED, whatever its step),
     * or a TOPK payload that does not decode (UNDECODABLE).
     */
    private Hostile compressedGradient() {
        Workload w = compressed;
        int s = shard(w);
        int len = length(w, s);
        float[] g = finite(len);
        TensorPayload p;
        Set<RejectReason> reasons = UNDECODABLE;
        String kind;
        int k = 1 + rnd.nextInt(len);
        byte[] topk = PayloadCodecs.topK(k).encode(g);
        switch (rnd.nextInt(7)) {
            case 0, 1, 2 -> {
                Encoding e = pickOf(Encoding.FP32, Encoding.FP16, Encoding.BF16, Encoding.INT8_BLOCK);
                p = payload(e, len, io.gradstream.model.Encodings.encoder(e).encode(g));
                reasons = EnumSet.of(RejectReason.ENCODING_NOT_ALLOWED);
                kind = e + " to a TOPK-only model";
            }
            case 3 -> {
                ByteBuffer.wrap(topk).order(ByteOrder.LITTLE_ENDIAN).putInt(0, rnd.nextBoolean() ? len + 1 : -1);
                p = payload(Encoding.TOPK, len, topk);
                kind = "TOPK count beyond the shard";
            }
            case 4 -> {
                // An index out of range, or two in the wrong order.
                ByteBuffer t = ByteBuffer.wrap(topk).order(ByteOrder.LITTLE_ENDIAN);
                int count = t.getInt(0);
                int j = rnd.nextInt(count);
                t.putInt(4 + 4 * j, count > 1 && rnd.nextBoolean() ? t.getInt(4 + 4 * ((j + 1) % count)) : len);
                p = payload(Encoding.TOPK, len, topk);
                kind = "TOPK index out of range or order";
            }
            case 5 -> {
                p = payload(Encoding.TOPK, len, Arrays.copyOf(topk, rnd.nextInt(topk.length)));
                kind = "truncated TOPK";
            }
            default -> {
                p = payload(Encoding.TOPK, len, concat(topk, bytes(1 + rnd.nextInt(8))));
                kind = "TOPK with trailing bytes";
            }
        }
        return gradient(
                kind,
                batch(w.model, "w", s, "w" + rnd.nextInt(2), 1 + rnd.nextInt(4), 0, 1, p)
                        .build(),
                reasons);
    }

    private Hostile unknownTensorOrShard() {
        Workload w = pick();
        float[] g = finite(1 + rnd.nextInt(8));
        return switch (rnd.nextInt(3)) {
            case 0 ->
                gradient(
                        "unknown tensor",
                        batch(w.model, pickOf("zz", "W", "w ", "ww", "\u00fc"), 0, "x" + serial++, 1, 0, 1, fp32(g))
                                .build(),
                        EnumSet.of(RejectReason.UNKNOWN_TENSOR));
            case 1 ->
                gradient(
                        "unknown shard",
                        batch(
                                        w.model,
                                        "w",
                                        pickOf(w.shards(), w.shards() + 1, 99, Integer.MAX_VALUE),
                                        "x" + serial++,
                                        1,
                                        0,
                                        1,
                                        fp32(g))
                                .build(),
                        EnumSet.of(RejectReason.UNKNOWN_SHARD));
            default ->
                gradient(
                        "negative shard",
                        batch(w.model, "w", pickOf(-1, Integer.MIN_VALUE), "x" + serial++, 1, 0, 1, fp32(g))
                                .build(),
                        EnumSet.of(RejectReason.OTHER));
        };
    }

    /** Well-formed records of models that are never created, with any numbers. */
    private Hostile unknownModel() {
        String model = "ghost-" + rnd.nextInt(GHOST_MODELS);
        int shard = rnd.nextInt(3);
        long n = rnd.nextInt(4) == 0 ? rnd.nextLong(1L << 24) - (1L << 23) : 1;
        return gradient(
                "unknown model",
                batch(
                                model,
                                "w",
                                shard,
                                "x" + rnd.nextInt(100),
                                rnd.nextLong(),
                                rnd.nextLong(),
                                n,
                                fp32(finite(1 + rnd.nextInt(16))))
                        .build(),
                GHOST);
    }

    /** Names that are too long, empty or contain '/' or control characters, each under its own matching key. */
    private Hostile badNames() {
        Workload w = pick();
        float[] g = finite(length(w, 0));
        return switch (rnd.nextInt(6)) {
            case 0 ->
                gradient(
                        "long model id",
                        batch(
                                        "g".repeat(257 + rnd.nextInt(rnd.nextBoolean() ? 100 : 100_000)),
                                        "w",
                                        0,
                                        "x",
                                        1,
                                        0,
                                        1,
                                        fp32(g))
                                .build(),
                        EnumSet.of(RejectReason.OTHER));
            case 1 ->
                gradient(
                        "model id with a control character",
                        batch("m\u0000" + serial++, "w", 0, "x", 1, 0, 1, fp32(g))
                                .build(),
                        EnumSet.of(RejectReason.OTHER));
            case 2 ->
                gradient(
                        "tensor with '/'",
                        batch(w.model, "w/0", 0, "x" + serial++, 1, 0, 1, fp32(g))
                                .build(),
                        EnumSet.of(RejectReason.OTHER));
            case 3 ->
                gradient(
                        "empty model id",
                        batch("", "w", 0, "x", 1, 0, 1, fp32(g)).build(),
                        EnumSet.of(RejectReason.OTHER));
            case 4 ->
                gradient(
                        "empty worker id",
                        batch(w.model, "w", 0, "", 1, 0, 1, fp32(g)).build(),
                        EnumSet.of(RejectReason.OTHER));
            default ->
                gradient(
                        "long worker id",
                        batch(w.model, "w", 0, "x".repeat(257 + rnd.nextInt(5000)), 1, 0, 1, fp32(g))
                                .build(),
                        EnumSet.of(RejectReason.OTHER));
        };
    }

    /** INIT values for a model initialised by its rule. */
    private Hostile initForRuleModel() {
        Workload w = pick();
        int s = shard(w);
        return gradient(
                "INIT of a rule-initialised model",
                batch(w.model, "w", s, "x" + serial++, 0, 0, 1, fp32(finite(length(w, s))))
                        .setKind(GradientKind.INIT)
                        .build(),
                EnumSet.of(RejectReason.ALREADY_INITIALIZED));
    }

    // ---- control

    /** One hostile control record of a random kind. */
    Hostile control() {
        int c = rnd.nextInt(100);
        Hostile h;
        int special = rnd.nextInt(10);
        if (compressed != null && special == 0) {
            h = compressionControl();
        } else if (special == 1) {
            h = accountingControl();
        } else if (c < 12) {
            byte[] value = rnd.nextInt(15) == 0 ? null : bytes(rnd.nextInt(rnd.nextBoolean() ? 12 : 300));
            h = new Hostile("random bytes", null, value, CONTROL_REFUSALS);
        } else if (c < 20) {
            byte[] v = COMMANDS.encode(create("c" + serial++, validSpec()));
            // Cut anywhere but one to three bytes short: without its last byte (privacyAccounting = null), two (and
            // compression = null) or three (and workers = null), a CREATE is one written before those fields were
            // appended, which is valid.
            h = new Hostile(
                    rnd.nextBoolean() ? "truncated CREATE" : "CREATE with trailing bytes",
                    null,
                    rnd.nextBoolean()
                            ? Arrays.copyOf(v, rnd.nextInt(v.length - 3))
                            : concat(v, bytes(1 + rnd.nextInt(8))),
                    UNDECODABLE);
        } else if (c < 28) {
            // Flipped bits of a command for a model that does not exist stay a command for no existing model.
            byte[] v = COMMANDS.encode(command(
                    "ghost-" + rnd.nextInt(GHOST_MODELS),
                    pickOf(CommandType.PAUSE, CommandType.DELETE, CommandType.RESUME)));
            for (int i = 0, flips = 1 + rnd.nextInt(3); i < flips; i++) {
                v[rnd.nextInt(v.length)] ^= (byte) (1 << rnd.nextInt(8));
            }
            h = new Hostile("flipped command", null, v, CONTROL_REFUSALS);
        } else if (c < 40) {
            h = corruptedControl();
        } else if (c < 72) {
            h = absurdCreate();
        } else if (c < 84) {
            String model = rnd.nextBoolean() ? "ghost-" + rnd.nextInt(GHOST_MODELS) : "c" + serial++;
            CommandType type = pickOf(
                    CommandType.PAUSE, CommandType.RESUME, CommandType.DELETE, CommandType.UPDATE_HYPERPARAMETERS);
            ControlCommand cmd = command(model, type);
            if (type == CommandType.UPDATE_HYPERPARAMETERS) {
                cmd.setHyperparameters(Map.of("lr", 0.1));
            }
            h = new Hostile(type + " of an unknown model", null, COMMANDS.encode(cmd), INVALID_COMMAND);
        } else if (c < 90) {
            h = invalidUpdate();
        } else if (c < 96) {
            return misfiled();
        } else {
            Workload w = pick();
            ModelSpec other = ModelSpec.newBuilder(spec(w))
                    .setHyperparameters(Map.of("lr", 0.5 + rnd.nextDouble()))
                    .build();
            h = new Hostile(
                    "CREATE of an existing model with another spec",
                    null,
                    COMMANDS.encode(create(w.model, other)),
                    INVALID_COMMAND);
        }
        // Mostly under their model's key, as producers send them; the others are refused whatever key they carry.
        byte[] key = switch (rnd.nextInt(6)) {
            case 0 -> null;
            case 1 -> bytes(1 + rnd.nextInt(20));
            case 2 -> utf8(pick().model);
            default -> modelKey(h.value());
        };
        return new Hostile(h.kind(), key, h.value(), h.reasons());
    }

    /**
     * Control records near the 16 MiB limit whose Avro is well-formed: millions of empty tensors (two bytes each on
     * the wire, about a hundred on the heap once decoded), and one tensor with millions of dimensions. Both have more
     * items than a control record may hold.
     */
    List<Hostile> oversizeControl() {
        List<Hostile> out = new ArrayList<>();
        Wire tensors = new Wire();
        int count = ((16 << 20) - 8192) / 2;
        tensors.string("bomb-" + serial++).varint(0).varint(1).varint(count);
        byte[] empty = new byte[2 * count]; // name "" and shape [] per tensor
        tensors.raw(empty).varint(0);
        tensors.raw(specTail());
        out.add(new Hostile(
                "CREATE of millions of tensors", utf8("bomb"), tensors.toBytes(), EnumSet.of(RejectReason.TOO_LARGE)));
        Wire dims = new Wire();
        int d = (16 << 20) - 8192;
        dims.string("dims-" + serial++)
                .varint(0)
                .varint(1)
                .varint(1)
                .string("w")
                .varint(d);
        byte[] twos = new byte[d];
        Arrays.fill(twos, (byte) 4); // zig-zag 2
        dims.raw(twos).varint(0).varint(0).raw(specTail());
        out.add(new Hostile(
                "CREATE of a tensor with millions of dimensions",
                utf8("dims"),
                dims.toBytes(),
                EnumSet.of(RejectReason.TOO_LARGE)));
        // A valid CREATE whose worker list has millions of entries of three bytes: id "", keyFile and keyEnv null.
        byte[] valid = COMMANDS.encode(create("crowd-" + serial++, validSpec()));
        // All but workers, compression and privacyAccounting = null; then the workers, and the two nulls.
        Wire crowd = new Wire().raw(Arrays.copyOf(valid, valid.length - 3));
        int entries = ((16 << 20) - 8192) / 3;
        crowd.varint(1)
                .varint(entries)
                .raw(new byte[3 * entries])
                .varint(0)
                .varint(0)
                .varint(0);
        out.add(new Hostile(
                "CREATE with millions of workers", utf8("crowd"), crowd.toBytes(), EnumSet.of(RejectReason.TOO_LARGE)));
        return out;
    }

    /** A ModelSpec after its tensors (SGD, lr-less defaults), then the command's remaining fields. */
    private static byte[] specTail() {
        Wire o = new Wire();
        o.varint(4).string("SGD"); // shardSize, optimizer
        o.varint(1).string("lr").varint(0).raw(le(0.1)).varint(0); // hyperparameters {lr: 0.1}
        o.varint(0); // lrSchedule null
        o.varint(0).varint(1).varint(0).varint(0); // aggregation SYNC, 1 worker
        o.varint(0).varint(0).raw(le(0.01)).raw(le(-0.05)).raw(le(0.05)); // init
        o.varint(0).varint(0); // outputEncoding FP32, privacy null
        o.varint(0).varint(0).varint(0); // command: hyperparameters {}, lrSchedule null, issuedAtMs
        return o.toBytes();
    }

    /**
     * Commands about compression that must be refused: a CREATE with an invalid setting, a CREATE of the compressed
     * model with other settings, an UPDATE that carries settings, a SNAPSHOT of a model without a delta stream or of
     * no model.
     */
    private Hostile compressionControl() {
        CompressionSpec.Builder c = CompressionSpec.newBuilder();
        String kind;
        ControlCommand cmd;
        switch (rnd.nextInt(5)) {
            case 0 -> {
                switch (rnd.nextInt(4)) {
                    case 0 -> c.setInputEncodings(List.of());
                    case 1 -> c.setDeltaEncoding(Encoding.FP32);
                    case 2 -> c.setDeltaTopKFraction(pickOf(0.0, -1.0, 1.5, Double.NaN, Double.POSITIVE_INFINITY));
                    default -> c.setSnapshotEvery(pickOf(0, -1, Integer.MIN_VALUE, 1_000_001, Integer.MAX_VALUE));
                }
                cmd = create("c" + serial++, validSpec());
                cmd.setCompression(c.build());
                kind = "CREATE with invalid compression";
            }
            case 1 -> {
                cmd = create(compressed.model, spec(compressed));
                cmd.setCompression(c.setDeltaEncoding(Encoding.INT8_BLOCK).build());
                kind = "CREATE of the compressed model with other settings";
            }
            case 2 -> {
                Workload w = rnd.nextBoolean() ? compressed : pick();
                cmd = command(w.model, CommandType.UPDATE_HYPERPARAMETERS);
                cmd.setCompression(c.setDeltaEncoding(Encoding.TOPK).build());
                kind = "UPDATE with compression";
            }
            case 3 -> {
                cmd = command(pick().model, CommandType.SNAPSHOT);
                kind = "SNAPSHOT of a model without a delta stream";
            }
            default -> {
                cmd = command("ghost-" + rnd.nextInt(GHOST_MODELS), CommandType.SNAPSHOT);
                kind = "SNAPSHOT of an unknown model";
            }
        }
        return new Hostile(kind, null, COMMANDS.encode(cmd), INVALID_COMMAND);
    }

    /**
     * Commands whose privacyAccounting must be refused: settings on a model without privacy, an accountant or
     * mechanism that does not fit (TREE for DP-SGD; DP-FTRL without a restart period in bounds, with a sampled
     * accountant or sample rate, or with another optimizer than SGD), stepsPerRestart for
     * DP-SGD at any value, settings on another command than CREATE, a CREATE of an existing model with other
     * settings, a PRV calibration beyond what a CREATE may cost; and bytes whose privacyAccounting branch, enum index
     * or long is impossible.
     */
    private Hostile accountingControl() {
        PrivacyAccountingSpec.Builder a = PrivacyAccountingSpec.newBuilder();
        ModelSpec.Builder b = ModelSpec.newBuilder(validSpec());
        String model = "c" + serial++;
        ControlCommand cmd;
        String kind;
        switch (rnd.nextInt(7)) {
            case 0 -> {
                cmd = create(model, b.build());
                kind = "privacyAccounting for a model without privacy";
            }
            case 1 -> {
                b.setPrivacy(privacy().setSeedEnv("PATH").build());
                switch (rnd.nextInt(3)) {
                    case 0 -> a.setAccountant(PrivacyAccountant.TREE);
                    case 1 -> {
                        // DP-FTRL settings that do not fit: no or an impossible restart period, a sampled
                        // accountant, a sample rate, an optimizer other than SGD.
                        a.setMechanism(PrivacyMechanism.DP_FTRL).setStepsPerRestart(64L);
                        switch (rnd.nextInt(4)) {
                            case 0 -> a.setStepsPerRestart(pickOf(null, 0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE));
                            case 1 -> a.setAccountant(pickOf(PrivacyAccountant.RDP, PrivacyAccountant.PRV));
                            case 2 ->
                                b.setPrivacy(privacy()
                                        .setSeedEnv("PATH")
                                        .setSampleRate(0.001)
                                        .build());
                            default -> b.setOptimizer("Adam");
                        }
                    }
                    default -> a.setStepsPerRestart(pickOf(0L, -1L, 1L, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 40));
                }
                cmd = create(model, b.build());
                kind = "privacyAccounting that does not fit its mechanism";
            }
            case 2 -> {
                // A PRV calibration for a plan far too long for a CREATE to pay for.
                b.setPrivacy(privacy()
                        .setSeedEnv("PATH")
                        .setNoiseMultiplier(null)
                        .setTargetEpsilon(pickOf(1.0, 8.0, 1e-9, 1e9))
                        .setPlannedSteps(pickOf(10_001L, 1_000_000L, Long.MAX_VALUE))
                        .build());
                a.setAccountant(PrivacyAccountant.PRV);
                cmd = create(model, b.build());
                kind = "PRV calibration of an absurd plan";
            }
            case 3 -> {
                cmd = command(pick().model, pickOf(CommandType.UPDATE_HYPERPARAMETERS, CommandType.PAUSE));
                cmd.setHyperparameters(Map.of("lr", 0.1));
                kind = "privacyAccounting outside a CREATE";
            }
            case 4 -> {
                Workload w = pick();
                cmd = create(w.model, spec(w));
                a.setAccountant(PrivacyAccountant.RDP);
                kind = "CREATE of an existing model with privacyAccounting";
            }
            default -> {
                // A valid CREATE ending in privacyAccounting bytes that no schema allows.
                byte[] valid = COMMANDS.encode(create(model, validSpec()));
                Wire o = new Wire().raw(Arrays.copyOf(valid, valid.length - 1));
                switch (rnd.nextInt(4)) {
                    case 0 -> o.varint(pickOf(2L, -1L, 1L << 40)); // no such union branch
                    case 1 -> o.varint(1).varint(1).varint(pickOf(3L, -1L, 1L << 31)); // accountant: no such symbol
                    case 2 -> o.varint(1).varint(0).varint(pickOf(2L, -2L)); // mechanism: no such symbol
                    default -> o.varint(1).varint(0).varint(0).varint(1).raw(new byte[] {(byte) 0xff, (byte) 0xff});
                }
                return new Hostile("privacyAccounting bytes out of range", null, o.toBytes(), UNDECODABLE);
            }
        }
        cmd.setPrivacyAccounting(a.build());
        return new Hostile(kind, null, COMMANDS.encode(cmd), INVALID_COMMAND);
    }

    /** Hand-written ControlCommands whose lengths, counts, enum or union indexes are impossible. */
    private Hostile corruptedControl() {
        Wire o = new Wire();
        int target = rnd.nextInt(6);
        long bad = hostileLength();
        o.string(target == 0 ? (Long) bad : null, "c" + serial++);
        o.varint(target == 1 ? (rnd.nextBoolean() ? 5 + rnd.nextInt(100) : outOfIntRange()) : 0); // CREATE
        o.varint(target == 2 ? (rnd.nextBoolean() ? 2 + rnd.nextInt(10) : -1) : 1); // spec union
        if (target == 3) {
            if (rnd.nextBoolean()) {
                o.varint(bad); // a block count no record can hold
            } else {
                o.varint(-1 - rnd.nextInt(1 << 30)).varint(bad); // a negative count, then an impossible byte size
            }
            o.raw(bytes(rnd.nextInt(16)));
            return new Hostile("tensor count " + bad, null, o.toBytes(), CONTROL_REFUSALS);
        }
        o.varint(1).string("w").varint(target == 4 ? bad : 1).varint(10).varint(0);
        o.varint(4).string("SGD");
        o.varint(target == 5 ? bad : 0); // hyperparameters map count
        o.raw(bytes(rnd.nextInt(8)));
        return new Hostile("corrupted control " + target, null, o.toBytes(), CONTROL_REFUSALS);
    }

    /** A CREATE of a new model with one defect that every rule must catch before allocating anything. */
    private Hostile absurdCreate() {
        String model = "c" + serial++;
        ModelSpec.Builder b = ModelSpec.newBuilder(validSpec());
        String kind;
        switch (rnd.nextInt(17)) {
            case 0 -> {
                b.setTensors(List.of(tensor(
                        "w",
                        pickOf(
                                List.of(Integer.MAX_VALUE, Integer.MAX_VALUE),
                                List.of(1 << 20, 1 << 20),
                                List.of(Integer.MAX_VALUE)))));
                kind = "absurd element count";
            }
            case 1 -> {
                b.setTensors(List.of(tensor("w", List.of(1 << 20)))).setShardSize(pickOf(1, 2, 15));
                kind = "absurd shard count";
            }
            case 2 -> {
                b.setShardSize(pickOf(0, -1, Integer.MIN_VALUE, Integer.MAX_VALUE, 4177921));
                kind = "absurd shard size";
            }
            case 3 -> {
                b.setTensors(List.of(
                        tensor("w", pickOf(List.of(0), List.of(-3), List.of(4, 0), List.of(Integer.MIN_VALUE)))));
                kind = "non-positive dimension";
            }
            case 4 -> {
                b.setTensors(pickOf(
                        List.of(),
                        List.of(tensor("", List.of(4))),
                        List.of(tensor("a/b", List.of(4))),
                        List.of(tensor("w", List.of(4)), tensor("w", List.of(4))),
                        List.of(tensor("t".repeat(257), List.of(4)))));
                kind = "bad tensors";
            }
            case 5 -> {
                model = pickOf("m".repeat(257), "n".repeat(100_000), "", "x/y", "x\u0001", "a\u007f");
                kind = "bad model id";
            }
            case 6 -> {
                b.setOptimizer(
                        pickOf("Adamm", "", "SGD2", "torch.optim.Adamm", "\u0000")); // names are trimmed, case-blind
                kind = "unknown optimizer";
            }
            case 7 -> {
                Map<String, Object> hp = new HashMap<>();
                switch (rnd.nextInt(6)) {
                    case 0 -> hp.put("lr", pickOf(Double.NaN, Double.POSITIVE_INFINITY, -1.0, -Double.MIN_VALUE));
                    case 1 -> hp.put("lr", "fast");
                    case 2 -> hp.put("lr", List.of(0.1, 0.2));
                    case 3 -> {
                        hp.put("lr", 0.1);
                        hp.put("no_such_hyperparameter", 1.0);
                    }
                    case 4 -> {
                        hp.put("lr", 0.1);
                        hp.put("momentum", pickOf(-1.0, Double.NaN));
                    }
                    default -> {
                        hp.put("lr", 0.1);
                        hp.put("nesterov", true); // nesterov needs momentum > 0 and no dampening
                    }
                }
                b.setHyperparameters(hp);
                kind = "invalid hyperparameters";
            }
            case 8 -> {
                b.setAggregation(pickOf(
                        AggregationSpec.newBuilder()
                                .setMode(AggregationMode.SYNC)
                                .setWorkers(10_001)
                                .build(),
                        AggregationSpec.newBuilder()
                                .setMode(AggregationMode.SYNC)
                                .setWorkers(Integer.MAX_VALUE)
                                .build(),
                        AggregationSpec.newBuilder()
                                .setMode(AggregationMode.SYNC)
                                .setWorkers(0)
                                .build(),
                        AggregationSpec.newBuilder()
                                .setMode(AggregationMode.SYNC)
                                .setWorkers(-1)
                                .build(),
                        AggregationSpec.newBuilder()
                                .setMode(AggregationMode.SYNC)
                                .setTimeoutMs(-1)
                                .build(),
                        AggregationSpec.newBuilder()
                                .setMode(AggregationMode.ASYNC)
                                .setMaxStaleness(-1)
                                .build()));
                kind = "absurd aggregation";
            }
            case 9 -> {
                b.setLrSchedule(pickOf(
                        schedule("WarpLR", Map.of()),
                        schedule("StepLR", Map.of()),
                        schedule("OneCycleLR", Map.of("max_lr", 1.0)),
                        schedule("CosineAnnealingLR", Map.of("T_max", -1.0)),
                        schedule("ExponentialLR", Map.of("gamma", Double.NaN)),
                        ScheduleSpec.newBuilder()
                                .setName("SequentialLR")
                                .setHyperparameters(Map.of("milestones", List.of(5.0, 3.0)))
                                .setChildren(List.of(child("ConstantLR"), child("ConstantLR")))
                                .build()));
                kind = "invalid schedule";
            }
            case 10 -> {
                b.setInit(pickOf(
                        InitSpec.newBuilder()
                                .setRule(InitRule.NORMAL)
                                .setStd(Double.NaN)
                                .build(),
                        InitSpec.newBuilder()
                                .setRule(InitRule.NORMAL)
                                .setStd(-1)
                                .build(),
                        InitSpec.newBuilder()
                                .setRule(InitRule.UNIFORM)
                                .setLow(1)
                                .setHigh(-1)
                                .build(),
                        InitSpec.newBuilder()
                                .setRule(InitRule.UNIFORM)
                                .setLow(Double.NEGATIVE_INFINITY)
                                .build()));
                kind = "invalid init";
            }
            case 11 -> {
                b.setOutputEncoding(Encoding.TOPK);
                kind = "TOPK output";
            }
            case 15 -> {
                ControlCommand c = create(model, b.build());
                c.setWorkers(badWorkerList());
                return new Hostile("invalid worker list", null, COMMANDS.encode(c), INVALID_COMMAND);
            }
            case 12, 13 -> {
                // Private models whose secret cannot be read: devices, a directory, a file longer than a seed, none.
                PrivacySpec.Builder p = privacy();
                switch (rnd.nextInt(9)) {
                    case 0 -> p.setSeedFile("/dev/zero");
                    case 1 -> p.setSeedFile("/dev/urandom");
                    case 2 -> p.setSeedFile("/dev/stdin");
                    case 3 -> p.setSeedFile(System.getProperty("java.io.tmpdir"));
                    case 4 -> p.setSeedFile("/proc/self/pagemap");
                    case 5 -> p.setSeedFile("/nonexistent/gradstream/seed");
                    case 6 -> p.setSeedFile("\u0000");
                    case 7 -> p.setSeedEnv("GRADSTREAM_FUZZ_UNSET_" + serial);
                    default -> p.setSeedFile("/dev/zero").setSeedEnv("PATH");
                }
                b.setPrivacy(p.build());
                kind = "unreadable DP secret";
            }
            case 14 -> {
                PrivacySpec.Builder p = privacy().setSeedFile("/dev/zero");
                switch (rnd.nextInt(4)) {
                    case 0 -> p.setDelta(0.5);
                    case 1 -> p.setClipNorm(pickOf(0.0, -1.0, Double.NaN));
                    case 2 -> p.setNoiseMultiplier(null);
                    default ->
                        b.setAggregation(AggregationSpec.newBuilder()
                                .setMode(AggregationMode.ASYNC)
                                .build());
                }
                b.setPrivacy(p.build());
                kind = "invalid privacy";
            }
            default -> {
                return new Hostile(
                        "CREATE without a spec",
                        null,
                        COMMANDS.encode(ControlCommand.newBuilder()
                                .setModelId(model)
                                .setType(CommandType.CREATE)
                                .build()),
                        INVALID_COMMAND);
            }
        }
        return new Hostile(kind, null, COMMANDS.encode(create(model, b.build())), INVALID_COMMAND);
    }

    /**
     * Commands that would be applied under their own key -- DELETE, PAUSE or UPDATE of a valid model, a valid CREATE
     * -- filed under another model's key, a malformed key or none.
     */
    private Hostile misfiled() {
        Workload w = pick();
        ControlCommand cmd = switch (rnd.nextInt(4)) {
            case 0 -> command(w.model, CommandType.DELETE);
            case 1 -> command(w.model, CommandType.PAUSE);
            case 2 -> {
                ControlCommand u = command(w.model, CommandType.UPDATE_HYPERPARAMETERS);
                u.setHyperparameters(Map.of("lr", 0.5));
                yield u;
            }
            default -> create("k" + serial++, validSpec());
        };
        String model = cmd.getModelId().toString();
        Workload other =
                models.stream().filter(x -> !x.model.equals(model)).findFirst().orElseThrow();
        byte[] key = switch (rnd.nextInt(5)) {
            case 0 -> null;
            case 1 -> new byte[0];
            case 2 -> utf8(other.model);
            case 3 -> utf8(model + " ");
            default -> utf8(model + "/w/0");
        };
        return new Hostile(cmd.getType() + " under another key", key, COMMANDS.encode(cmd), INVALID_COMMAND);
    }

    /** Hyperparameter updates of a valid model that are refused as a whole, so nothing changes. */
    private Hostile invalidUpdate() {
        Workload w = pick();
        ControlCommand cmd = command(w.model, CommandType.UPDATE_HYPERPARAMETERS);
        switch (rnd.nextInt(6)) {
            case 5 -> cmd.setWorkers(badWorkerList());
            case 0 -> cmd.setHyperparameters(Map.of("lr", pickOf(-1.0, Double.NaN, Double.NEGATIVE_INFINITY)));
            case 1 -> cmd.setHyperparameters(Map.of("no_such_hyperparameter", 1.0));
            case 2 -> cmd.setHyperparameters(Map.of("lr", "fast"));
            case 3 -> cmd.setHyperparameters(Map.of("weight_decay", -1.0));
            default -> cmd.setLrSchedule(schedule("WarpLR", Map.of()));
        }
        return new Hostile("invalid UPDATE of a valid model", null, COMMANDS.encode(cmd), INVALID_COMMAND);
    }

    /**
     * A worker list no model may have: more workers than gradstream.limits.sync-workers, an empty or too long worker
     * id, a key reference with neither or both of keyFile and keyEnv, or a path longer than any.
     */
    private Map<String, WorkerKey> badWorkerList() {
        WorkerKey env = WorkerKey.newBuilder().setKeyEnv("GRADSTREAM_FUZZ_KEY").build();
        return switch (rnd.nextInt(6)) {
            case 0 -> {
                Map<String, WorkerKey> many = new HashMap<>();
                for (int i = 0; i <= 10_000; i++) {
                    many.put("w" + i, env);
                }
                yield many;
            }
            case 1 -> Map.of("", env);
            case 2 -> Map.of("w".repeat(257), env);
            case 3 -> Map.of("w0", WorkerKey.newBuilder().build());
            case 4 ->
                Map.of(
                        "w0",
                        WorkerKey.newBuilder()
                                .setKeyEnv("GRADSTREAM_FUZZ_KEY")
                                .setKeyFile("/etc/hostname")
                                .build());
            default ->
                Map.of(
                        "w0",
                        WorkerKey.newBuilder()
                                .setKeyFile("/" + "k".repeat(5000))
                                .build());
        };
    }

    // ---- building blocks

    /** The model id of an encoded command as its key, or none when the bytes are not a command. */
    private static byte[] modelKey(byte[] value) {
        try {
            return utf8(COMMANDS.decode(value).getModelId().toString());
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    private Workload pick() {
        return models.get(rnd.nextInt(models.size()));
    }

    private int shard(Workload w) {
        return rnd.nextInt(w.shards());
    }

    private static int length(Workload w, int shard) {
        return w.expected[shard].length;
    }

    private static ModelSpec spec(Workload w) {
        try {
            return COMMANDS.decode(w.create.value).getSpec();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ModelSpec validSpec() {
        return ModelSpec.newBuilder()
                .setTensors(List.of(tensor("w", List.of(10))))
                .setShardSize(4)
                .setOptimizer("SGD")
                .setHyperparameters(Map.of("lr", 0.1))
                .setAggregation(AggregationSpec.newBuilder()
                        .setMode(AggregationMode.SYNC)
                        .setWorkers(1)
                        .build())
                .setInit(InitSpec.newBuilder().build())
                .setOutputEncoding(Encoding.FP32)
                .build();
    }

    /** Valid privacy settings except for the secret, which the caller sets (or leaves out). */
    private static PrivacySpec.Builder privacy() {
        return PrivacySpec.newBuilder()
                .setClipNorm(1.0)
                .setNoiseMultiplier(1.0)
                .setDelta(1e-5)
                .setExpectedPerStep(1.0)
                .setPopulationSize(1000L);
    }

    private static TensorSpec tensor(String name, List<Integer> shape) {
        return TensorSpec.newBuilder().setName(name).setShape(shape).build();
    }

    private static ScheduleSpec schedule(String name, Map<String, Object> hp) {
        return ScheduleSpec.newBuilder().setName(name).setHyperparameters(hp).build();
    }

    private static ChildSchedule child(String name) {
        return ChildSchedule.newBuilder()
                .setName(name)
                .setHyperparameters(Map.of())
                .build();
    }

    private static ControlCommand create(String model, ModelSpec spec) {
        return ControlCommand.newBuilder()
                .setModelId(model)
                .setType(CommandType.CREATE)
                .setSpec(spec)
                .build();
    }

    private static ControlCommand command(String model, CommandType type) {
        return ControlCommand.newBuilder().setModelId(model).setType(type).build();
    }

    private static GradientBatch.Builder batch(
            String model,
            String tensor,
            int shard,
            String worker,
            long step,
            long base,
            long n,
            TensorPayload payload) {
        return GradientBatch.newBuilder()
                .setModelId(model)
                .setTensor(tensor)
                .setShard(shard)
                .setWorkerId(worker)
                .setWorkerStep(step)
                .setBaseVersion(base)
                .setNumExamples(n)
                .setPayload(payload)
                .setKind(GradientKind.GRADIENT);
    }

    /** A record under the key its value names, so only the value's content decides its fate. */
    private static Hostile gradient(String kind, GradientBatch b, Set<RejectReason> reasons) {
        return new Hostile(kind, key(b.getModelId(), b.getTensor(), b.getShard()), GRADIENTS.encode(b), reasons);
    }

    private static byte[] key(String model, int shard) {
        return key(model, "w", shard);
    }

    private static byte[] key(String model, String tensor, int shard) {
        return utf8(model + "/" + tensor + "/" + shard);
    }

    private byte[] anyKey() {
        return switch (rnd.nextInt(4)) {
            case 0 -> null;
            case 1 -> bytes(1 + rnd.nextInt(30));
            case 2 -> utf8("ghost-" + rnd.nextInt(GHOST_MODELS) + "/w/0");
            default -> {
                Workload w = pick();
                yield key(w.model, shard(w));
            }
        };
    }

    private float[] finite(int n) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) rnd.nextGaussian();
        }
        return g;
    }

    private static TensorPayload fp32(float[] g) {
        return payload(Encoding.FP32, g.length, PayloadCodecs.fp32().encode(g));
    }

    private static TensorPayload payload(Encoding e, int count, byte[] data) {
        return new TensorPayload(e, count, ByteBuffer.wrap(data));
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    /** A declared length no record holds: 2^31 and beyond, negative, or the extremes of a long. */
    private long hostileLength() {
        return pickOf(
                1L << 31,
                (1L << 31) - 1,
                1L << 32,
                -1L,
                (long) Integer.MIN_VALUE,
                Long.MAX_VALUE,
                Long.MIN_VALUE,
                1L << 62,
                100_000_000L);
    }

    private long outOfIntRange() {
        return pickOf(1L << 31, -(1L << 31) - 1, Long.MAX_VALUE, Long.MIN_VALUE);
    }

    @SafeVarargs
    private <T> T pickOf(T... options) {
        return options[rnd.nextInt(options.length)];
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] le(double d) {
        return ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putDouble(d)
                .array();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** Avro binary written by hand, so that a length prefix can claim anything. */
    static final class Wire {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Wire varint(long v) {
            long z = (v << 1) ^ (v >> 63);
            while ((z & ~0x7fL) != 0) {
                out.write((int) ((z & 0x7f) | 0x80));
                z >>>= 7;
            }
            out.write((int) z);
            return this;
        }

        Wire string(String s) {
            return string(null, s);
        }

        /** A string whose length prefix is {@code declared}, or its real length when {@code declared} is null. */
        Wire string(Long declared, String s) {
            return bytes(declared, utf8(s));
        }

        Wire bytes(Long declared, byte[] b) {
            varint(declared == null ? b.length : declared);
            out.writeBytes(b);
            return this;
        }

        Wire raw(byte[] b) {
            out.writeBytes(b);
            return this;
        }

        byte[] toBytes() {
            return out.toByteArray();
        }
    }
}
