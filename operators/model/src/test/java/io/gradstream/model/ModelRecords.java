package io.gradstream.model;

import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.schemas.AggregationMode;
import io.gradstream.schemas.AggregationSpec;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.InitSpec;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.TensorPayload;
import io.gradstream.schemas.TensorSpec;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Records of the model module's tests in their wire form, and small limits that make every bound easy to reach. */
final class ModelRecords {
    private static final AvroRecords<GradientBatch> GRADIENTS = new AvroRecords<>(GradientBatch.class);
    private static final AvroRecords<ControlCommand> COMMANDS = new AvroRecords<>(ControlCommand.class);

    /**
     * Small bounds: records of 4 KiB, shards of 64 elements, 16 shards and 1024 elements per model, 4 models, 100
     * examples, names of 16 characters.
     */
    static final Limits SMALL = new Limits(4096, 1024, 64, 16, 1024, 4, 8, 100, 1000, 16, 1 << 16, 1 << 20);

    private ModelRecords() {}

    /** The limits of {@code base} with other model bounds. */
    static Limits withModelBounds(Limits base, int shardElements, int modelShards, long modelElements) {
        return new Limits(
                base.recordBytes(),
                base.rejectedValueBytes(),
                shardElements,
                modelShards,
                modelElements,
                base.models(),
                base.syncWorkers(),
                base.examples(),
                base.workerStepWindow(),
                base.nameLength(),
                base.waitingBytesPerShard(),
                base.waitingBytes());
    }

    static TensorSpec tensor(String name, int... shape) {
        return TensorSpec.newBuilder()
                .setName(name)
                .setShape(Arrays.stream(shape).boxed().toList())
                .build();
    }

    /** An SGD model (lr 0.1, weight_decay 0.01) with SYNC aggregation of one worker and FP32 output. */
    static ModelSpec spec(InitRule init, int shardSize, TensorSpec... tensors) {
        Map<String, Object> hp = new LinkedHashMap<>();
        hp.put("lr", 0.1);
        hp.put("weight_decay", 0.01);
        return ModelSpec.newBuilder()
                .setTensors(List.of(tensors))
                .setShardSize(shardSize)
                .setOptimizer("SGD")
                .setHyperparameters(hp)
                .setAggregation(AggregationSpec.newBuilder()
                        .setMode(AggregationMode.SYNC)
                        .setWorkers(1)
                        .build())
                .setInit(InitSpec.newBuilder().setRule(init).build())
                .setOutputEncoding(Encoding.FP32)
                .build();
    }

    static GradientBatch.Builder gradient(String model, String tensor, int shard, TensorPayload payload) {
        return GradientBatch.newBuilder()
                .setModelId(model)
                .setTensor(tensor)
                .setShard(shard)
                .setWorkerId("worker-1")
                .setWorkerStep(7)
                .setBaseVersion(3)
                .setNumExamples(5)
                .setLoss(0.25)
                .setPublishedAtMs(1234)
                .setKind(GradientKind.GRADIENT)
                .setPayload(payload);
    }

    static TensorPayload fp32(float... values) {
        return new TensorPayload(
                Encoding.FP32,
                values.length,
                ByteBuffer.wrap(PayloadCodecs.fp32().encode(values)));
    }

    static TensorPayload payload(Encoding encoding, int elementCount, byte[] data) {
        return new TensorPayload(encoding, elementCount, ByteBuffer.wrap(data));
    }

    static String key(GradientBatch b) {
        return b.getModelId() + "/" + b.getTensor() + "/" + b.getShard();
    }

    static byte[] bytes(GradientBatch b) {
        return GRADIENTS.encode(b);
    }

    static byte[] bytes(ControlCommand c) {
        return COMMANDS.encode(c);
    }

    static byte[] create(String model, ModelSpec spec) {
        return bytes(ControlCommand.newBuilder()
                .setModelId(model)
                .setType(CommandType.CREATE)
                .setSpec(spec)
                .build());
    }

    static byte[] command(String model, CommandType type) {
        return bytes(ControlCommand.newBuilder().setModelId(model).setType(type).build());
    }

    /** Avro's zig-zag varint of {@code v}. */
    static byte[] varint(long v) {
        long z = (v << 1) ^ (v >> 63);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((z & ~0x7FL) != 0) {
            out.write((int) ((z & 0x7F) | 0x80));
            z >>>= 7;
        }
        out.write((int) z);
        return out.toByteArray();
    }

    static float[] range(int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (i - n / 2) * scale;
        }
        return v;
    }
}
