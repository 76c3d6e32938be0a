package io.gradstream.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobSettingsTest {

    @Test
    void defaultsAreUsable() {
        JobSettings s = JobSettings.from(new Configuration());
        assertThat(s.bootstrapServers()).isEqualTo("127.0.0.1:9092");
        assertThat(s.delivery()).isEqualTo(DeliveryGuarantee.AT_LEAST_ONCE);
        assertThat(s.parametersTopic()).isEqualTo("parameters");
        assertThat(s.transactionTimeout()).isEqualTo(Duration.ofMinutes(10));
    }

    @Test
    void theShardOptimizersMaxParallelismIsPinnedWhateverTheParallelism() {
        for (int p : new int[] {1, 3, 100}) {
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
            env.setParallelism(p);
            GradstreamJob.kafka(JobSettings.from(new Configuration())).build(env);
            // Flink would derive 128 up to p = 85 and more above: pinned, every parallelism restores the same groups.
            assertThat(env.getStreamGraph().getJobGraph().getVertices())
                    .filteredOn(v -> v.getName().contains("shard optimizer"))
                    .singleElement()
                    .satisfies(v ->
                            assertThat(v.getMaxParallelism()).as("p = %d", p).isEqualTo(128));
        }
        Configuration c = new Configuration();
        c.set(GradstreamOptions.MAX_PARALLELISM, 0);
        assertThatThrownBy(() -> JobSettings.from(c)).hasMessageContaining("gradstream.max-parallelism");
    }

    @Test
    void theBackendIsReadWithItsBatchingAndResidentSlots() {
        assertThat(JobSettings.from(new Configuration()).backend())
                .isEqualTo(new io.gradstream.operators.BackendSettings(
                        io.gradstream.operators.BackendSettings.Kind.CPU,
                        java.util.Map.of(
                                "breaker.failures", "3", "breaker.window-ms", "60000", "breaker.cool-down-ms", "30000"),
                        1,
                        2,
                        0));
        Configuration c = new Configuration();
        c.setString("gradstream.backend", "OpenCL");
        c.setString("gradstream.backend.opencl.device-type", "gpu");
        c.setString("gradstream.backend.opencl.resident-state", "8 gb");
        var b = JobSettings.from(c).backend();
        assertThat(b.kind()).isEqualTo(io.gradstream.operators.BackendSettings.Kind.OPENCL);
        assertThat(b.batchShards()).isEqualTo(64);
        assertThat(b.residentBytes()).isEqualTo(8L << 30);
        assertThat(b.opencl()).containsEntry("device-type", "gpu");
        Configuration bad = new Configuration();
        bad.setString("gradstream.backend.opencl.resident-state", "lots");
        assertThatThrownBy(() -> JobSettings.from(bad)).hasMessageContaining("resident-state");
        Configuration breaker = new Configuration();
        breaker.setString("gradstream.backend.opencl.breaker.failures", "5");
        breaker.setString("gradstream.backend.opencl.breaker.cool-down", "2 min");
        assertThat(JobSettings.from(breaker).backend().opencl())
                .containsEntry("breaker.failures", "5")
                .containsEntry("breaker.cool-down-ms", "120000");
        breaker.setString("gradstream.backend.opencl.breaker.failures", "0");
        assertThatThrownBy(() -> JobSettings.from(breaker)).hasMessageContaining("breaker.failures");
    }

    @Test
    void theLimitsAreReadAndCheckedWithTheirKeys() {
        assertThat(JobSettings.from(new Configuration()).limits()).isEqualTo(io.gradstream.model.Limits.DEFAULT);
        Configuration c = new Configuration();
        c.setString("gradstream.limits.record-bytes", "2 mb");
        c.setString("gradstream.limits.models", "7");
        var limits = JobSettings.from(c).limits();
        assertThat(limits.recordBytes()).isEqualTo(2 << 20);
        assertThat(limits.models()).isEqualTo(7);
        Configuration tooBig = new Configuration();
        tooBig.setString(
                "gradstream.limits.shard-elements", String.valueOf(io.gradstream.model.Limits.MAX_SHARD_ELEMENTS + 1));
        assertThatThrownBy(() -> JobSettings.from(tooBig)).hasMessageContaining("gradstream.limits.shard-elements");
    }

    @Test
    void invalidValuesNameTheKeyAndValue() {
        Configuration c = new Configuration();
        c.setString("gradstream.topics.gradients", "bad topic!");
        assertThatThrownBy(() -> JobSettings.from(c))
                .hasMessageContaining("gradstream.topics.gradients")
                .hasMessageContaining("bad topic!");
        Configuration same = new Configuration();
        same.setString("gradstream.topics.rejected", "parameters");
        assertThatThrownBy(() -> JobSettings.from(same)).hasMessageContaining("must be different");
        Configuration timeout = new Configuration();
        timeout.setString("gradstream.kafka.transaction-timeout", "1 h");
        assertThatThrownBy(() -> JobSettings.from(timeout))
                .hasMessageContaining("transaction-timeout")
                .hasMessageContaining("15 min");
        Configuration delivery = new Configuration();
        delivery.setString("gradstream.delivery", "SOMETIMES");
        assertThatThrownBy(() -> JobSettings.from(delivery))
                .hasMessageContaining("SOMETIMES")
                .hasMessageContaining("AT_LEAST_ONCE or EXACTLY_ONCE");
        Configuration dashed = new Configuration();
        dashed.setString("gradstream.delivery", "exactly-once");
        assertThat(JobSettings.from(dashed).delivery()).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
    }

    @Test
    void flagsAndFilesBecomeConfiguration(@TempDir Path dir) throws Exception {
        Configuration args = JobConfig.fromArgs(
                new String[] {"--gradstream.delivery", "EXACTLY_ONCE", "-Dstate.backend.type=rocksdb"});
        assertThat(JobSettings.from(args).delivery()).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
        assertThat(args.getString("state.backend.type", "")).isEqualTo("rocksdb");
        assertThatThrownBy(() -> JobConfig.fromArgs(new String[] {"oops"})).hasMessageContaining("'oops'");

        Path file = dir.resolve("gradstream.yaml");
        Files.writeString(
                file,
                "# settings\ngradstream.topics.control: commands  # comment\n"
                        + "gradstream.unknown-model-grace: \"5 s\"\n\nexecution.checkpointing.interval=2 s\n");
        Configuration c = JobConfig.fromFile(file);
        JobSettings s = JobSettings.from(c);
        assertThat(s.controlTopic()).isEqualTo("commands");
        assertThat(s.unknownModelGrace()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.getString("execution.checkpointing.interval", "")).isEqualTo("2 s");
        Files.writeString(file, "gradstream:\n  delivery: EXACTLY_ONCE\n");
        assertThatThrownBy(() -> JobConfig.fromFile(file)).hasMessageContaining("line 1");

        Configuration d = JobConfig.withDefaults(new Configuration());
        assertThat(d.getString("state.backend.type", "")).isEqualTo("hashmap");
    }

    @Test
    void theDefaultCheckpointIntervalFollowsTheDelivery() {
        // At-least-once: checkpoints only bound replay; exactly-once: the interval is the updates' latency.
        assertThat(JobConfig.withDefaults(new Configuration())
                        .get(org.apache.flink.configuration.CheckpointingOptions.CHECKPOINTING_INTERVAL))
                .isEqualTo(Duration.ofSeconds(10));
        Configuration exactlyOnce = new Configuration();
        exactlyOnce.setString("gradstream.delivery", "exactly-once");
        assertThat(JobConfig.withDefaults(exactlyOnce)
                        .get(org.apache.flink.configuration.CheckpointingOptions.CHECKPOINTING_INTERVAL))
                .isEqualTo(Duration.ofSeconds(1));
        Configuration cluster = new Configuration();
        cluster.setString("gradstream.delivery", "EXACTLY_ONCE");
        assertThat(JobConfig.withDefaults(new Configuration(), cluster)
                        .get(org.apache.flink.configuration.CheckpointingOptions.CHECKPOINTING_INTERVAL))
                .isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void defaultsLeaveWhatTheClusterConfiguresAlone() {
        Configuration cluster = new Configuration();
        cluster.setString("state.backend.type", "rocksdb");
        cluster.setString("execution.checkpointing.interval", "5 s");
        Configuration job = JobConfig.withDefaults(new Configuration(), cluster);
        // Unset in the job's configuration, so the cluster's values apply (the job's would override them).
        assertThat(job.containsKey("state.backend.type")).isFalse();
        assertThat(job.containsKey("execution.checkpointing.interval")).isFalse();
        assertThat(job.getString("execution.buffer-timeout.interval", "")).isEqualTo("0 ms");
        Configuration given = new Configuration();
        given.setString("state.backend.type", "hashmap");
        assertThat(JobConfig.withDefaults(given, cluster).getString("state.backend.type", ""))
                .isEqualTo("hashmap");
    }
}
