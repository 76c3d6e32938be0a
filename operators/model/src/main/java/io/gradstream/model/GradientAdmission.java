package io.gradstream.model;

import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.numeric.FloatScan;
import io.gradstream.core.shard.Contribution;
import io.gradstream.core.shard.RejectCode;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.TensorPayload;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.EnumMap;
import java.util.Map;

/**
 * What a gradient record meets before the optimizer, in two steps: {@link #decode} checks what the record says about
 * itself (size, Avro, key, names, numbers) so that nothing malformed is ever held or waits for its model, and
 * {@link #admit} checks it against its model (authorised worker and signature, tensor, shard, element count, INIT
 * rules, the encodings the model accepts, payload). Each ends in a value: a record to go on with, or a {@link Refused} with the reason and a detail for the
 * rejected topic. Not thread-safe (keeps a decoder and codecs).
 */
public final class GradientAdmission {

    /** The outcome of {@link #decode}. */
    public sealed interface Decoded permits Parsed, Refused {}

    /** The outcome of {@link #admit}. */
    public sealed interface Admission permits Contribute, Initialize, Refused {}

    /** A well-formed record for shard {@code key}, not yet checked against its model. */
    public record Parsed(GradientBatch batch, ShardKey key) implements Decoded {}

    /** A gradient to offer to the shard; {@code payloadBytes} is its encoded size, for metrics. */
    public record Contribute(ShardKey key, TensorLayout layout, Contribution contribution, int payloadBytes)
            implements Admission {}

    /** Explicit initial values of a shard of an EXPLICIT model. */
    public record Initialize(ShardKey key, float[] values) implements Admission {}

    /**
     * What a record's signature covers and what its {@value io.gradstream.core.auth.RecordSignature#HEADER} headers
     * held: the record key and value as they arrived, the header's value (null when there is none) and the number of
     * such headers.
     */
    public record Envelope(byte[] key, byte[] value, byte[] signature, int signatureHeaders) {
        /** A record without a signature. */
        public static Envelope unsigned(byte[] key, byte[] value) {
            return new Envelope(key, value, null, 0);
        }
    }

    /** Refused: why, in words for the rejected topic, and the model it named when it could be read. */
    public record Refused(RejectCode code, String detail, String model) implements Decoded, Admission {}

    private final Limits limits;
    private final AvroRecords<GradientBatch> avro = new AvroRecords<>(GradientBatch.class);
    private final Map<io.gradstream.schemas.Encoding, PayloadCodec> codecs =
            new EnumMap<>(io.gradstream.schemas.Encoding.class);

    public GradientAdmission(Limits limits) {
        this.limits = limits;
    }

    /**
     * Reads a record's value and checks it against its key: the size first (before a byte is decoded), then bounded
     * Avro decoding, then that the key is the value's {@code model/tensor/shard}, valid names within the configured
     * length, and numbers in range.
     */
    public Decoded decode(String key, byte[] value) {
        if (value != null && value.length > limits.recordBytes()) {
            return new Refused(
                    RejectCode.TOO_LARGE,
                    "record of " + value.length + " bytes is above " + "gradstream.limits.record-bytes = "
                            + limits.recordBytes(),
                    null);
        }
        GradientBatch batch;
        try {
            batch = avro.decode(value);
        } catch (IOException e) {
            return new Refused(RejectCode.UNDECODABLE, "not a GradientBatch: " + e.getMessage(), null);
        }
        String model = batch.getModelId();
        String valueKey = model + "/" + batch.getTensor() + "/" + batch.getShard();
        if (!valueKey.equals(key)) {
            return new Refused(
                    RejectCode.OTHER,
                    "record key '" + shorten(key) + "' does not match its value's " + shorten(valueKey),
                    null);
        }
        ShardKey shardKey;
        try {
            limits.requireName("model", model);
            limits.requireName("tensor", batch.getTensor());
            shardKey = new ShardKey(model, batch.getTensor(), batch.getShard());
        } catch (IllegalArgumentException e) {
            return new Refused(RejectCode.OTHER, shorten(e.getMessage()), null);
        }
        String worker = batch.getWorkerId();
        if (worker.isEmpty() || worker.length() > limits.nameLength()) {
            return new Refused(
                    RejectCode.OTHER,
                    "workerId must have 1 to gradstream.limits.name-length = " + limits.nameLength()
                            + " characters, got " + worker.length(),
                    model);
        }
        if (batch.getNumExamples() > limits.examples()) {
            return new Refused(
                    RejectCode.INVALID_EXAMPLE_COUNT,
                    "numExamples " + batch.getNumExamples() + " is above gradstream.limits.examples = "
                            + limits.examples(),
                    model);
        }
        return new Parsed(batch, shardKey);
    }

    /** Checks an unsigned record against its model; a model with a worker list refuses it (UNAUTHORIZED). */
    public Admission admit(Parsed parsed, ModelConfig config) {
        return admit(parsed, config, Envelope.unsigned(null, null));
    }

    /**
     * Checks a parsed record against its model and decodes its payload. A model with a worker list admits only its
     * workers' records with a valid signature, checked first, so a refused record learns nothing of the model and
     * touches no state (not even its worker's step watermark).
     */
    public Admission admit(Parsed parsed, ModelConfig config, Envelope envelope) {
        GradientBatch batch = parsed.batch();
        ShardKey key = parsed.key();
        String model = key.model();
        AuthorisedWorkers workers = config.workers();
        if (workers != null) {
            String refusal = workers.refusal(
                    batch.getWorkerId(),
                    envelope.key(),
                    envelope.value(),
                    envelope.signature(),
                    envelope.signatureHeaders());
            if (refusal != null) {
                return new Refused(RejectCode.UNAUTHORIZED, "model " + model + ": " + refusal, model);
            }
        }
        TensorLayout layout = config.tensors().get(key.tensor());
        if (layout == null) {
            return new Refused(
                    RejectCode.UNKNOWN_TENSOR,
                    "model " + model + " has no tensor '" + key.tensor() + "'; it has "
                            + shorten(config.tensors().keySet().toString()),
                    model);
        }
        if (key.shard() >= layout.shardCount()) {
            return new Refused(
                    RejectCode.UNKNOWN_SHARD,
                    "tensor " + key.tensor() + " has shards 0.." + (layout.shardCount() - 1) + ", not " + key.shard(),
                    model);
        }
        int length = layout.shardLength(key.shard());
        TensorPayload payload = batch.getPayload();
        if (payload.getElementCount() != length) {
            return new Refused(
                    RejectCode.WRONG_ELEMENT_COUNT,
                    "payload has " + payload.getElementCount() + " elements, shard " + key + " has " + length,
                    model);
        }
        boolean init = batch.getKind() == GradientKind.INIT;
        if (init && !config.explicitInit()) {
            return new Refused(
                    RejectCode.ALREADY_INITIALIZED,
                    "model " + model + " initialises its shards by its " + "rule ("
                            + config.spec().getInit().getRule() + "); INIT records are for EXPLICIT models only",
                    model);
        }
        if (!init && !config.compression().accepts(payload.getEncoding())) {
            return new Refused(
                    RejectCode.ENCODING_NOT_ALLOWED,
                    "model " + model + " accepts gradients in "
                            + config.compression().inputEncodings() + ", not " + payload.getEncoding(),
                    model);
        }
        float[] values;
        try {
            values = decodePayload(payload, length);
        } catch (RuntimeException e) {
            // A codec reads lengths and indices from the payload; whatever it trips on, the record is malformed.
            return new Refused(RejectCode.UNDECODABLE, "payload: " + shorten(String.valueOf(e.getMessage())), model);
        }
        if (init) {
            int bad = FloatScan.firstNonFinite(values);
            if (bad >= 0) {
                return new Refused(RejectCode.NON_FINITE, "INIT element " + bad + " is " + values[bad], model);
            }
            return new Initialize(key, values);
        }
        Contribution c = new Contribution(
                batch.getWorkerId(),
                batch.getWorkerStep(),
                batch.getBaseVersion(),
                batch.getNumExamples(),
                values,
                batch.getLoss() == null ? Double.NaN : batch.getLoss(),
                batch.getPublishedAtMs());
        return new Contribute(key, layout, c, payload.getData().remaining());
    }

    private float[] decodePayload(TensorPayload payload, int length) {
        PayloadCodec codec = codecs.computeIfAbsent(payload.getEncoding(), Encodings::decoder);
        ByteBuffer data = payload.getData().duplicate();
        float[] values = new float[length];
        codec.decode(data, values, 0, length);
        if (data.hasRemaining()) {
            throw new IllegalArgumentException(data.remaining() + " trailing bytes after " + length + " elements");
        }
        return values;
    }

    /** At most 200 characters of a text that came from a record, so a detail never grows with the input. */
    static String shorten(String s) {
        if (s == null) {
            return "(none)";
        }
        return s.length() <= 200 ? s : s.substring(0, 200) + "... (" + s.length() + " characters)";
    }
}
