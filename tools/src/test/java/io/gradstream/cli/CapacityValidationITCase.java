package io.gradstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.client.GradientPublisher;
import io.gradstream.client.ParameterSubscriber;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.job.JobSettings;
import io.gradstream.local.LocalGradstream;
import io.gradstream.model.ModelLayouts;
import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import io.gradstream.ops.FlinkRest;
import io.gradstream.ops.capacity.CapacityModel;
import io.gradstream.ops.capacity.CapacityModel.Deployment;
import io.gradstream.ops.capacity.CapacityModel.Plan;
import io.gradstream.ops.capacity.CapacityModel.Workload;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.ModelSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The capacity model's state prediction against a real job: an Adam model of 4 Mi parameters trains one step on
 * every shard at parallelism 1 and 2, and the checkpoint Flink completes afterwards holds the bytes the model
 * predicts (docs/scaling.md, "Validation"); the checkpoint's write rate is printed for the model's input.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CapacityValidationITCase {
    private static final int PARAMETERS = 4 << 20;
    private static final int SHARD = 65_536;

    @ParameterizedTest(name = "p = {0}")
    @ValueSource(ints = {1, 2})
    void theCheckpointedStateIsWhatTheModelPredicts(int parallelism, @TempDir Path dir) throws Exception {
        Configuration flink = new Configuration();
        flink.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofSeconds(1));
        try (LocalGradstream local = LocalGradstream.start(
                new LocalGradstream.Options(null, 0, 0, parallelism, 2, dir.resolve("work"), flink))) {
            JobSettings s = local.settings();
            ModelSpec spec = Records.spec("Adam", Map.of("lr", 0.001), SHARD, Records.sync(1), PARAMETERS);
            Map<String, TensorLayout> layouts = ModelLayouts.of(spec);
            try (var producer = new KafkaProducer<>(
                            s.kafka().clientConfig(), new ByteArraySerializer(), new ByteArraySerializer());
                    var consumer = ModelCliITCase.parametersConsumer(s)) {
                RawRecord create = Records.create("cap", spec);
                producer.send(new ProducerRecord<>(s.controlTopic(), create.key, create.value));
                producer.flush();
                var params = new ParameterSubscriber(consumer, "cap", layouts);
                assertThat(params.awaitVersion(0, Duration.ofSeconds(60))).isTrue();
                var worker = new GradientPublisher(producer, s.gradientsTopic(), "cap", layouts, "w0", Encoding.FP32);
                float[] gradient = new float[PARAMETERS];
                java.util.Arrays.fill(gradient, 0.5f);
                worker.publish("w", gradient, 1, shard -> 0, 32, Double.NaN);
                worker.flush();
                assertThat(params.awaitVersion(1, Duration.ofSeconds(60)))
                        .as("every shard stepped once (Adam's slots exist)")
                        .isTrue();
            }
            long after = System.currentTimeMillis();
            JsonNode completed = awaitCheckpointAfter(
                    new FlinkRest(local.webUrl()), local.job().getJobID().toString(), after);
            long measured = completed.path("state_size").asLong();
            long durationMs = completed.path("end_to_end_duration").asLong();

            Plan plan = new CapacityModel(io.gradstream.ops.capacity.Rates.measured())
                    .plan(Workload.plain(PARAMETERS, 1, "Adam"), Deployment.standard());
            System.out.printf(
                    "p = %d: checkpointed %,d B, predicted %,.0f B (%.3f); %d ms end to end (%.0f MB/s)%n",
                    parallelism,
                    measured,
                    plan.stateBytes(),
                    measured / plan.stateBytes(),
                    durationMs,
                    measured / 1e3 / Math.max(1, durationMs));
            assertThat(measured / plan.stateBytes())
                    .as("checkpointed state over the predicted %.0f B", plan.stateBytes())
                    .isBetween(0.95, 1.10);
        }
    }

    private static JsonNode awaitCheckpointAfter(FlinkRest rest, String job, long afterMs) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            JsonNode latest =
                    rest.get("jobs/" + job + "/checkpoints").path("latest").path("completed");
            if (latest.isObject() && latest.path("trigger_timestamp").asLong() > afterMs) {
                return latest;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no checkpoint completed after the step within 60 s");
    }
}
