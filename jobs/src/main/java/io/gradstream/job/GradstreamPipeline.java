package io.gradstream.job;

import io.gradstream.core.privacy.SamplingDrift;
import io.gradstream.model.Limits;
import io.gradstream.operators.BackendSettings;
import io.gradstream.operators.PlacementMode;
import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Rejections;
import io.gradstream.operators.ShardOptimizerOperator;
import io.gradstream.operators.ShardRouter;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.StatusEvent;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * The data flow of gradstream, independent of where records come from and go to: gradients keyed by shard meet the
 * broadcast control commands in the shard optimizer, which emits parameter updates and, on side outputs, every
 * refused input and model status events. {@code GradstreamJob} attaches Kafka; tests attach in-memory streams.
 */
public final class GradstreamPipeline {
    /** How many gradients of models not created yet a router subtask holds at most. */
    static final int MAX_HELD = 1 << 16;

    /** The outputs of the pipeline: parameter updates, refused inputs and model status events. */
    public record Outputs(
            DataStream<ParameterUpdate> parameters,
            DataStream<RejectedRecord> rejected,
            DataStream<StatusEvent> status) {}

    /**
     * @param unknownModelGraceMs how long gradients for a model that does not exist (yet) wait before rejection
     */
    public static Outputs build(
            DataStream<RawRecord> gradients,
            DataStream<RawRecord> control,
            long unknownModelGraceMs,
            int maxWaitingPerShard) {
        return build(gradients, control, unknownModelGraceMs, maxWaitingPerShard, BackendSettings.cpu());
    }

    /** As {@link #build(DataStream, DataStream, long, int)} with the backend that runs the optimizer loops. */
    public static Outputs build(
            DataStream<RawRecord> gradients,
            DataStream<RawRecord> control,
            long unknownModelGraceMs,
            int maxWaitingPerShard,
            BackendSettings backend) {
        return build(gradients, control, unknownModelGraceMs, maxWaitingPerShard, backend, Limits.DEFAULT);
    }

    /** As {@link #build(DataStream, DataStream, long, int, BackendSettings)} within {@code limits}. */
    public static Outputs build(
            DataStream<RawRecord> gradients,
            DataStream<RawRecord> control,
            long unknownModelGraceMs,
            int maxWaitingPerShard,
            BackendSettings backend,
            Limits limits) {
        return build(
                gradients,
                control,
                unknownModelGraceMs,
                maxWaitingPerShard,
                backend,
                limits,
                SamplingDrift.DEFAULT_FACTOR);
    }

    /**
     * As above; {@code driftFactor}: how far a private model's contributions per step may drift from what its
     * accountant assumes before a status event says so.
     */
    public static Outputs build(
            DataStream<RawRecord> gradients,
            DataStream<RawRecord> commands,
            long unknownModelGraceMs,
            int maxWaitingPerShard,
            BackendSettings backend,
            Limits limits,
            double driftFactor) {
        // The router gives each shard of a known model its placed key, which spreads a model's shards evenly over
        // the subtasks; the gradients' key is then the shard, and every subtask sees every command (the operator keeps
        // them in broadcast state).
        DataStream<RawRecord> control = commands.broadcast();
        // Chained to the gradients' source, whose state tells whether this job predates placement.
        SingleOutputStreamOperator<RawRecord> marked = gradients
                .transform("placement mode", TypeInformation.of(RawRecord.class), new PlacementMode())
                .uid("placement-mode");
        if (gradients.getParallelism() > 0) {
            marked.setParallelism(gradients.getParallelism());
        }
        // Each shard's gradients pass one router subtask (as a Kafka partition's do), so that what the router holds
        // for a model not created yet leaves in the order it came, whatever the upstream partitioning.
        SingleOutputStreamOperator<RawRecord> routed = marked.partitionCustom(
                        (key, n) -> Math.floorMod(key.hashCode(), n), RawRecord::keyString)
                .connect(control)
                .transform(
                        "shard router",
                        TypeInformation.of(RawRecord.class),
                        new ShardRouter(unknownModelGraceMs, maxWaitingPerShard == 0 ? 0 : MAX_HELD, limits))
                .uid("shard-router");
        SingleOutputStreamOperator<ParameterUpdate> parameters = routed.keyBy(RawRecord::routeKey)
                .connect(control)
                .transform(
                        "shard optimizer",
                        new AvroTypeInfo<>(ParameterUpdate.class),
                        new ShardOptimizerOperator(unknownModelGraceMs, maxWaitingPerShard, backend, limits)
                                .driftFactor(driftFactor))
                .uid("shard-optimizer");
        return new Outputs(
                parameters,
                parameters.getSideOutput(Rejections.TAG).union(routed.getSideOutput(Rejections.TAG)),
                parameters.getSideOutput(ShardOptimizerOperator.STATUS));
    }

    private GradstreamPipeline() {}
}
