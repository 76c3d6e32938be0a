package io.gradstream.operators;

import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.schemas.AggregationMode;
import io.gradstream.schemas.AggregationSpec;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.InitSpec;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.TensorPayload;
import io.gradstream.schemas.TensorSpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Test records in their wire form: what producers put on the control and gradients topics. */
public final class Records {
    private static final AvroRecords<ControlCommand> COMMANDS = new AvroRecords<>(ControlCommand.class);
    private static final AvroRecords<GradientBatch> GRADIENTS = new AvroRecords<>(GradientBatch.class);
    private static long offset;

    private Records() {}

    public static ModelSpec spec(
            String optimizer, Map<String, Object> hp, int shardSize, AggregationSpec aggregation, int... shape) {
        return ModelSpec.newBuilder()
                .setTensors(List.of(TensorSpec.newBuilder()
                        .setName("w")
                        .setShape(java.util.Arrays.stream(shape).boxed().toList())
                        .build()))
                .setShardSize(shardSize)
                .setOptimizer(optimizer)
                .setHyperparameters(hp)
                .setAggregation(aggregation)
                .setInit(InitSpec.newBuilder().build())
                .setOutputEncoding(Encoding.FP32)
                .build();
    }

    public static AggregationSpec sync(int workers) {
        return AggregationSpec.newBuilder()
                .setMode(AggregationMode.SYNC)
                .setWorkers(workers)
                .build();
    }

    public static AggregationSpec async(int maxStaleness) {
        return AggregationSpec.newBuilder()
                .setMode(AggregationMode.ASYNC)
                .setMaxStaleness(maxStaleness)
                .build();
    }

    public static RawRecord create(String model, ModelSpec spec) {
        return command(ControlCommand.newBuilder()
                .setModelId(model)
                .setType(CommandType.CREATE)
                .setSpec(spec)
                .build());
    }

    public static RawRecord command(ControlCommand c) {
        return new RawRecord(
                c.getModelId().getBytes(StandardCharsets.UTF_8), COMMANDS.encode(c), "control", 0, offset++);
    }

    /** A CREATE with compression settings (null: none). */
    public static RawRecord create(String model, ModelSpec spec, CompressionSpec compression) {
        return command(ControlCommand.newBuilder()
                .setModelId(model)
                .setType(CommandType.CREATE)
                .setSpec(spec)
                .setCompression(compression)
                .build());
    }

    /** A command without arguments (PAUSE, RESUME, DELETE, SNAPSHOT). */
    public static RawRecord command(String model, CommandType type) {
        return command(
                ControlCommand.newBuilder().setModelId(model).setType(type).build());
    }

    public static RawRecord gradient(String model, int shard, String worker, long step, long base, long n, float[] g) {
        return gradient(model, shard, worker, step, base, n, payload(g));
    }

    /** A gradient with an already encoded payload. */
    public static RawRecord gradient(
            String model, int shard, String worker, long step, long base, long n, TensorPayload payload) {
        return batch(GradientBatch.newBuilder()
                .setModelId(model)
                .setTensor("w")
                .setShard(shard)
                .setWorkerId(worker)
                .setWorkerStep(step)
                .setBaseVersion(base)
                .setNumExamples(n)
                .setPayload(payload)
                .setKind(GradientKind.GRADIENT)
                .build());
    }

    public static RawRecord batch(GradientBatch b) {
        String key = b.getModelId() + "/" + b.getTensor() + "/" + b.getShard();
        return new RawRecord(key.getBytes(StandardCharsets.UTF_8), GRADIENTS.encode(b), "gradients", 0, offset++);
    }

    public static TensorPayload payload(float[] values) {
        return new TensorPayload(
                Encoding.FP32,
                values.length,
                ByteBuffer.wrap(PayloadCodecs.fp32().encode(values)));
    }

    /** The decoded payload of {@code u}: the parameters of a FULL update, the change of a DELTA. */
    public static float[] values(ParameterUpdate u) {
        ByteBuffer data = u.getPayload().getData().duplicate();
        byte[] bytes = new byte[data.remaining()];
        data.get(bytes);
        return io.gradstream.model.Encodings.decoder(u.getPayload().getEncoding())
                .decode(bytes, u.getPayload().getElementCount());
    }
}
