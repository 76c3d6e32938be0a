package io.gradstream.client;

import io.gradstream.core.auth.RecordSignature;
import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.TensorPayload;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.IntToLongFunction;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * A worker's side of the gradients topic: cuts a tensor's gradient into the model's shards, encodes each payload,
 * and publishes one {@link GradientBatch} per shard under the key {@code model/tensor/shard}, so every shard's
 * contributions stay in one partition and in order. With a signing key, every record carries the worker's
 * {@value RecordSignature#HEADER} header, which a model that names its workers requires. Not thread-safe (one per
 * worker thread).
 */
public final class GradientPublisher {
    private final Producer<byte[], byte[]> producer;
    private final String topic;
    private final String modelId;
    private final Map<String, TensorLayout> layouts;
    private final String workerId;
    private final Encoding encoding;
    private final PayloadCodec codec;
    private final AvroRecords<GradientBatch> avro = new AvroRecords<>(GradientBatch.class);
    private final RecordSignature signer;

    /**
     * An unsigned publisher, for models that admit any worker.
     *
     * @param encoding how payloads are encoded (FP32, FP16, BF16, INT8_BLOCK); the service decodes any of them
     */
    public GradientPublisher(
            Producer<byte[], byte[]> producer,
            String topic,
            String modelId,
            Map<String, TensorLayout> layouts,
            String workerId,
            Encoding encoding) {
        this(producer, topic, modelId, layouts, workerId, encoding, null);
    }

    /**
     * A publisher that signs every record with the worker's key.
     *
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
            Encoding encoding,
            byte[] signingKey) {
        if (encoding == Encoding.TOPK) {
            throw new IllegalArgumentException(
                    "use a TOPK codec with error feedback explicitly; the publisher " + "encodes dense payloads");
        }
        this.producer = producer;
        this.topic = topic;
        this.modelId = modelId;
        this.layouts = layouts;
        this.workerId = workerId;
        this.encoding = encoding;
        this.codec = io.gradstream.model.Encodings.encoder(encoding);
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
                    .setPayload(payload(gradient, (int) layout.shardOffset(s), layout.shardLength(s)))
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
                    .setPayload(payload(values, (int) layout.shardOffset(s), layout.shardLength(s)))
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

    private TensorPayload payload(float[] values, int offset, int length) {
        byte[] bytes = new byte[codec.maxEncodedSize(length)];
        int n = codec.encode(values, offset, length, ByteBuffer.wrap(bytes));
        return new TensorPayload(encoding, length, ByteBuffer.wrap(bytes, 0, n));
    }

    private void send(GradientBatch b) {
        producer.send(record(b));
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
