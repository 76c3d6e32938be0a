package io.gradstream.job;

import io.gradstream.kafka.KafkaIo;
import io.gradstream.kafka.KafkaSettings;
import io.gradstream.operators.RawRecord;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.StatusEvent;
import java.util.function.UnaryOperator;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The gradstream Flink job: gradients and control commands in; parameter updates, rejections and status events out. It takes its
 * sources and sinks as arguments ({@link #kafka} picks the production ones), so the same wiring runs on a cluster, in
 * {@code gradstream local} and in tests.
 */
public final class GradstreamJob {
    private final Source<RawRecord, ?, ?> gradients;
    private final Source<RawRecord, ?, ?> control;
    private final Sink<ParameterUpdate> parameters;
    private final Sink<RejectedRecord> rejected;
    private final Sink<StatusEvent> status;
    private final JobSettings settings;
    private UnaryOperator<DataStream<RawRecord>> gradientTap = UnaryOperator.identity();

    public GradstreamJob(
            Source<RawRecord, ?, ?> gradients,
            Source<RawRecord, ?, ?> control,
            Sink<ParameterUpdate> parameters,
            Sink<RejectedRecord> rejected,
            Sink<StatusEvent> status,
            JobSettings settings) {
        this.gradients = gradients;
        this.control = control;
        this.parameters = parameters;
        this.rejected = rejected;
        this.status = status;
        this.settings = settings;
    }

    /** The job on the Kafka topics of {@code settings}. */
    public static GradstreamJob kafka(JobSettings settings) {
        KafkaSettings kafka = settings.kafka();
        return new GradstreamJob(
                KafkaIo.source(kafka, kafka.gradientsTopic()),
                KafkaIo.source(kafka, kafka.controlTopic()),
                KafkaIo.parameterSink(kafka),
                KafkaIo.rejectedSink(kafka),
                KafkaIo.statusSink(kafka),
                settings);
    }

    /** Inserts {@code tap} after the gradient source (tests use it to inject failures). */
    public GradstreamJob withGradientTap(UnaryOperator<DataStream<RawRecord>> tap) {
        this.gradientTap = tap;
        return this;
    }

    /** Builds the data flow on {@code env}: sources -> shard optimizer -> sinks. */
    public void build(StreamExecutionEnvironment env) {
        DataStream<RawRecord> grads =
                gradientTap.apply(env.fromSource(gradients, WatermarkStrategy.noWatermarks(), "gradients")
                        .uid("gradients-source"));
        DataStream<RawRecord> commands = env.fromSource(control, WatermarkStrategy.noWatermarks(), "control")
                .uid("control-source")
                .setParallelism(1);
        GradstreamPipeline.Outputs out = GradstreamPipeline.build(
                grads,
                commands,
                settings.unknownModelGrace().toMillis(),
                settings.maxWaitingPerShard(),
                settings.backend(),
                settings.limits(),
                settings.driftFactor());
        // Pinned, not derived from the parallelism: the keyed state of a savepoint is cut into this many key groups,
        // and Flink restores it at another parallelism only if the number is the same (see docs/operations.md).
        // Pipeline.build returns the optimizer itself as the parameters stream.
        ((SingleOutputStreamOperator<ParameterUpdate>) out.parameters()).setMaxParallelism(settings.maxParallelism());
        out.parameters().sinkTo(parameters).name("parameters").uid("parameters-sink");
        out.rejected().sinkTo(rejected).name("rejected").uid("rejected-sink");
        out.status().sinkTo(status).name("status").uid("status-sink");
    }

    public JobClient start(StreamExecutionEnvironment env, String name) throws Exception {
        build(env);
        return env.executeAsync(name);
    }

    /**
     * Entry point on a Flink cluster: {@code --gradstream.kafka.bootstrap-servers host:9092 ...}. gradstream.* keys
     * come from the cluster's config.yaml, then the environment ({@link JobConfig#fromEnvironment}), then the
     * arguments (which win); gradstream's Flink defaults apply only to what none sets.
     */
    public static void main(String[] args) throws Exception {
        Configuration conf = JobConfig.fromEnvironment(System.getenv());
        conf.addAll(JobConfig.fromArgs(args));
        Configuration cluster = JobConfig.cluster();
        Configuration settings = new Configuration(cluster);
        settings.addAll(conf);
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(JobConfig.withDefaults(conf, cluster));
        kafka(JobSettings.from(settings)).build(env);
        env.execute("gradstream");
    }
}
