package io.gradstream.client;

import io.gradstream.core.auth.RecordSignature;
import io.gradstream.core.codec.ErrorFeedback;
import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.model.Encodings;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.TensorPayload;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntToLongFunction;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * A worker's side of the gradients topic: cuts a tensor's gradient into the model's shards, encodes each payload (in
 * any {@link GradientEncoding}; a lossy one with error feedback keeps a residual per shard, which the worker saves and
 * restores with its checkpoint), and publishes one {@link GradientBatch} per shard under the key
 * {@code model/tensor/shard}, so every shard's contributions stay in one partition and in order. With a signing key, every record carries the worker's
 * {@value RecordSignature#HEADER} header, which a model that names its workers requires. Not thread-safe (one per
 * worker thread).
 */
public final class GradientPublisher {
    private final Producer<byte[], byte[]> producer;
    private final String topic;
    private final String modelId;
    private final Map<String, TensorLayout> layouts;
    private final String workerId;
    private final GradientEncoding encoding;
    /** Codecs by shard length (TOPK's k depends on it). */
    private final Map<Integer, PayloadCodec> codecs = new HashMap<>();
    /** Dense codec of INIT values (FP32 for a TOPK publisher: initial values are never sparse). */
    private final PayloadCodec initCodec;

    private final AvroRecords<GradientBatch> avro = new AvroRecords<>(GradientBatch.class);
    private final RecordSignature signer;
    private final ErrorFeedback feedback = new ErrorFeedback();
    /** Where records go: the producer, or for tests a list. */
    private java.util.function.Consumer<ProducerRecord<byte[], byte[]>> sink;
    /** With error feedback: each tensor's residual per shard (null until the shard's first gradient). */
    private final Map<String, float[][]> residuals = new HashMap<>();
    /** A shard's gradient, copied out of its tensor, by shard length (error feedback works on whole arrays). */
    private final Map<Integer, float[]> slices = new HashMap<>();

    /**
     * An unsigned publisher, for models that admit any worker.
     *
     * @param encoding how payloads are encoded (FP32, FP16, BF16, INT8_BLOCK; INT8_BLOCK with error feedback); the
     *     service decodes any of them. TOPK: use {@link GradientEncoding#topK}.
     */
    public GradientPublisher(
            Producer<byte[], byte[]> producer,
            String topic,
            String modelId,
            Map<String, TensorLayout> layouts,
            String workerId,
            Encoding encoding) {
        this(producer, topic, modelId, layouts, workerId, GradientEncoding.of(encoding), null);
    }

    /** As above, with a dense encoding and a signing key (see the canonical constructor). */
    public GradientPublisher(
            Producer<byte[], byte[]> producer,
            String topic,
            String modelId,
            Map<String, TensorLayout> layouts,
            String workerId,
            Encoding encoding,
            byte[] signingKey) {
        this(producer, topic, modelId, layouts, workerId, GradientEncoding.of(encoding), signingKey);
    }

    /**
     * A publisher in any encoding, TOPK included, that signs every record with the worker's key when it has one.
     *
     * @param encoding the payload encoding and whether error feedback keeps what it loses for the next step
     * @param signingKey the content of the worker's key file (the one the model's worker list names for
     *     {@code workerId}); trailing whitespace is ignored, as the job ignores it; null: unsigned
     * @throws IllegalArgumentException when the key is shorter than 16 or longer than 1024 bytes
     */
    public GradientPublisher(
            Producer<byte[], byte[]> producer,
            String topic,
            String modelId,
            Map<String, TensorLayout> layouts,
            String workerId,
            GradientEncoding encoding,
            byte[] signingKey) {
        this.producer = producer;
        this.sink = r -> this.producer.send(r);
        this.topic = topic;
        this.modelId = modelId;
        this.layouts = layouts;
        this.workerId = workerId;
        this.encoding = encoding;
        this.initCodec = encoding.encoding() == Encoding.TOPK
                ? PayloadCodecs.fp32()
                : io.gradstream.model.Encodings.encoder(encoding.encoding());
        if (signingKey == null) {
            this.signer = null;
        } else {
            byte[] key = RecordSignature.keyFromText(signingKey);
            try {
                this.signer = new RecordSignature(key);
            } finally {
                Arrays.fill(key, (byte) 0);
            }
        }
    }

    /**
     * Publishes the gradient of {@code tensor} (flattened row-major) computed at {@code workerStep}.
     *
     * @param baseVersion the parameter version each shard's gradient was computed on
     * @param loss the training loss of this batch, or NaN
     */
    public void publish(
            String tensor,
            float[] gradient,
            long workerStep,
            IntToLongFunction baseVersion,
            long numExamples,
            double loss) {
        TensorLayout layout = layout(tensor, gradient.length);
        long now = System.currentTimeMillis();
        for (int s = 0; s < layout.shardCount(); s++) {
            GradientBatch b = GradientBatch.newBuilder()
                    .setModelId(modelId)
                    .setTensor(tensor)
                    .setShard(s)
                    .setWorkerId(workerId)
                    .setWorkerStep(workerStep)
                    .setBaseVersion(baseVersion.applyAsLong(s))
                    .setNumExamples(numExamples)
                    .setPayload(gradientPayload(tensor, layout, s, gradient))
                    .setLoss(Double.isNaN(loss) ? null : loss)
                    .setKind(GradientKind.GRADIENT)
                    .setPublishedAtMs(now)
                    .build();
            send(b);
        }
    }

    /** Publishes explicit initial values of {@code tensor} (for models with init rule EXPLICIT). */
    public void publishInitialValues(String tensor, float[] values) {
        TensorLayout layout = layout(tensor, values.length);
        for (int s = 0; s < layout.shardCount(); s++) {
            send(GradientBatch.newBuilder()
                    .setModelId(modelId)
                    .setTensor(tensor)
                    .setShard(s)
                    .setWorkerId(workerId)
                    .setWorkerStep(0)
                    .setBaseVersion(0)
                    .setNumExamples(1)
                    .setPayload(initPayload(values, (int) layout.shardOffset(s), layout.shardLength(s)))
                    .setKind(GradientKind.INIT)
                    .build());
        }
    }

    public void flush() {
        producer.flush();
    }

    private TensorLayout layout(String tensor, int length) {
        TensorLayout layout = layouts.get(tensor);
        if (layout == null) {
            throw new IllegalArgumentException(
                    "model " + modelId + " has no tensor '" + tensor + "'; it has " + layouts.keySet());
        }
        if (layout.elements() != length) {
            throw new IllegalArgumentException(
                    "tensor " + tensor + " has " + layout.elements() + " elements, got " + length);
        }
        return layout;
    }

    private TensorPayload initPayload(float[] values, int offset, int length) {
        byte[] bytes = new byte[initCodec.maxEncodedSize(length)];
        int n = initCodec.encode(values, offset, length, ByteBuffer.wrap(bytes));
        return new TensorPayload(Encodings.avro(initCodec.encoding()), length, ByteBuffer.wrap(bytes, 0, n));
    }

    /**
     * Shard {@code s} of a gradient in the publisher's encoding; with error feedback, the shard's residual is added
     * first and keeps what the encoding left out.
     */
    private TensorPayload gradientPayload(String tensor, TensorLayout layout, int s, float[] gradient) {
        int offset = (int) layout.shardOffset(s);
        int length = layout.shardLength(s);
        PayloadCodec codec = codecs.computeIfAbsent(length, encoding::codec);
        byte[] bytes = new byte[codec.maxEncodedSize(length)];
        int n;
        if (encoding.errorFeedback()) {
            float[][] perShard = residuals.computeIfAbsent(tensor, t -> new float[layout.shardCount()][]);
            if (perShard[s] == null) {
                perShard[s] = new float[length];
            }
            float[] slice = slices.computeIfAbsent(length, float[]::new);
            System.arraycopy(gradient, offset, slice, 0, length);
            n = feedback.compress(slice, perShard[s], codec, ByteBuffer.wrap(bytes));
        } else {
            n = codec.encode(gradient, offset, length, ByteBuffer.wrap(bytes));
        }
        return new TensorPayload(encoding.encoding(), length, ByteBuffer.wrap(bytes, 0, n));
    }

    /** How this publisher encodes gradients. */
    public GradientEncoding encoding() {
        return encoding;
    }

    /**
     * The error-feedback residual of {@code tensor}'s shard {@code shard} (a live view), or null before its first
     * gradient or without error feedback.
     */
    public float[] residual(String tensor, int shard) {
        float[][] perShard = residuals.get(tensor);
        return perShard == null ? null : perShard[shard];
    }

    /**
     * Writes the error-feedback residuals to {@code out}, to be saved with the worker's own checkpoint (its model,
     * optimizer step and data position): a worker restored without them would lose what its encoding held back.
     * Format: see {@link ResidualFile}.
     */
    public void saveResiduals(OutputStream out) throws IOException {
        ResidualFile.write(out, modelId, layouts, residuals);
    }

    /** {@link #saveResiduals} as bytes. */
    public byte[] saveResiduals() {
        var out = new java.io.ByteArrayOutputStream();
        try {
            saveResiduals(out);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * Replaces the residuals by those {@link #saveResiduals} wrote (with the worker's checkpoint it restores).
     *
     * @throws IOException when {@code in} is not such a file, or is one of another model or layout (nothing changes)
     */
    public void restoreResiduals(InputStream in) throws IOException {
        Map<String, float[][]> read = ResidualFile.read(in, modelId, layouts);
        residuals.clear();
        residuals.putAll(read);
    }

    /** {@link #restoreResiduals(InputStream)} from bytes. */
    public void restoreResiduals(byte[] saved) throws IOException {
        var in = new java.io.ByteArrayInputStream(saved);
        Map<String, float[][]> read = ResidualFile.read(in, modelId, layouts);
        if (in.available() > 0) {
            throw new IOException(in.available() + " bytes after the residuals");
        }
        residuals.clear();
        residuals.putAll(read);
    }

    private void send(GradientBatch b) {
        sink.accept(record(b));
    }

    /** Sends every record to {@code to} instead of the producer (tests look at what would be sent). */
    GradientPublisher sendTo(java.util.function.Consumer<ProducerRecord<byte[], byte[]>> to) {
        this.sink = to;
        return this;
    }

    /** The Kafka record of {@code b}: its shard key, its Avro value and, when signing, its signature header. */
    ProducerRecord<byte[], byte[]> record(GradientBatch b) {
        byte[] key = (modelId + "/" + b.getTensor() + "/" + b.getShard()).getBytes(StandardCharsets.UTF_8);
        byte[] value = avro.encode(b);
        if (signer == null) {
            return new ProducerRecord<>(topic, key, value);
        }
        Header signature = new RecordHeader(RecordSignature.HEADER, signer.sign(key, value));
        return new ProducerRecord<>(topic, null, key, value, List.of(signature));
    }
}
