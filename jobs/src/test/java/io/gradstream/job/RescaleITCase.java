package io.gradstream.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.core.privacy.RdpAccountant;
import io.gradstream.kafka.EmbeddedKafka;
import io.gradstream.kafka.KafkaIo;
import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.RejectedRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rescaling through savepoints: SYNC models train at parallelism 1, are stopped with a savepoint, continue at 2,
 * are stopped again and finish at 1. Parameters, Adam's slots, a private model's ledger, a half-gathered step, the
 * workers' de-duplication watermarks and gradients waiting for a model not created yet all cross both rescales; the
 * read_committed output holds every version once, bit-identical to the unscaled computation, with the same ε.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RescaleITCase {
    private static final int WORKERS = 2;
    private static final int STEPS = 9;
    /** ChaosITCase.Training's length: the private model's budget is spent at its last step. */
    private static final int DP_STEPS = 16;

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(2)
            .setConfiguration(TestClusters.keepFilesInTarget())
            .build());

    @Test
    void aModelContinuesBitIdenticallyAcrossScaleOutAndScaleIn(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            String bootstrap = kafka.bootstrapServers();
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
                admin.createTopics(List.of(
                                new NewTopic("control", 1, (short) 1),
                                new NewTopic("gradients", 2, (short) 1),
                                new NewTopic("parameters", 1, (short) 1).configs(KafkaIo.parametersTopicConfig()),
                                new NewTopic("rejected", 1, (short) 1),
                                new NewTopic("status", 1, (short) 1)))
                        .all()
                        .get(30, TimeUnit.SECONDS);
            }
            // m trains across all three runs; n's first step arrives before its CREATE and waits across a rescale.
            Workload m = new Workload("a", "Adam", Map.of("lr", 0.01), true, 130, 20, WORKERS, STEPS, 17);
            Workload n = new Workload("n", "SGD", Map.of("lr", 0.05, "momentum", 0.9), true, 50, 20, 2, 3, 23);
            // m: a private model (DP-SGD, Adam) whose ledger and noise stream must carry on across the rescales;
            // its expected bits and ε per version come from the core stepper (ChaosITCase's failure-free run).
            Path seedFile = Files.writeString(dir.resolve("dp-seed"), "rescale-test-noise-secret\n");
            ModelSpec dpSpec = ModelSpec.newBuilder(Records.spec("Adam", Map.of("lr", 0.01), 40, Records.sync(2), 210))
                    .setPrivacy(PrivacySpec.newBuilder()
                            .setClipNorm(2.0)
                            .setNoiseMultiplier(1.1)
                            .setDelta(1e-5)
                            .setExpectedPerStep(2.0)
                            .setPopulationSize(1000L)
                            .setTargetEpsilon(RdpAccountant.epsilon(
                                            1.1, 2.0 / 1000, DP_STEPS, 1e-5, RdpAccountant.Conversion.OPACUS)
                                    .epsilon())
                            .setSeedFile(seedFile.toString())
                            .build())
                    .build();
            ChaosITCase.Training dp = new ChaosITCase.Training(dpSpec, 5);
            int dpShards = dp.expected.length;
            Output out = new Output(bootstrap);
            Properties pp = new Properties();
            pp.put("bootstrap.servers", bootstrap);
            try (var producer =
                    new KafkaProducer<byte[], byte[]>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
                // Run 1 at p = 1: steps 1-3, and w0's half of step 4 (gathered, waiting for w1); m's steps 1-5.
                // m's CREATE is the first control record: its incarnation, and so its noise, is the expected run's.
                send(producer, "control", Records.create("m", dpSpec));
                sendDp(producer, dp, 1, 5);
                send(producer, "control", m.create);
                sendSteps(producer, m, 1, 3);
                sendWorker(producer, m, 4, 0);
                JobClient job = start(bootstrap, 1, null);
                out.await(
                        () -> out.minVersion("a", m.shards()) >= 3 && out.minVersion("m", dpShards) >= 5,
                        "a at version 3, m at 5 (p = 1)");
                Path savepoint1 = stop(job, dir);

                // The savepoint cannot be restored with another max parallelism: why it is pinned (docs/operations.md).
                JobClient other = start(bootstrap, 2, savepoint1, 64);
                assertThatThrownBy(() -> other.getJobExecutionResult().get(60, TimeUnit.SECONDS))
                        .as("restoring 128 key groups into 64")
                        .hasStackTraceContaining("Max parallelism mismatch")
                        .hasStackTraceContaining("with max parallelism 128 to new program with max parallelism 64");

                // Run 2 at p = 2: w1's half of step 4, steps 5-6; w0 resends step 2 (its watermark must refuse it);
                // n's step 1 arrives before n exists and waits.
                JobClient job2 = start(bootstrap, 2, savepoint1);
                sendWorker(producer, m, 4, 1);
                sendSteps(producer, m, 5, 6);
                sendWorker(producer, m, 7, 0);
                send(producer, "gradients", gradient(m, 2, 0, 0));
                sendSteps(producer, n, 1, 1);
                sendDp(producer, dp, 6, 11);
                out.await(
                        () -> out.minVersion("a", m.shards()) >= 6 && out.minVersion("m", dpShards) >= 11,
                        "a at version 6, m at 11 (p = 2)");
                out.await(() -> out.rejected.size() >= 1, "the resent gradient rejected (p = 2)");
                Path savepoint2 = stop(job2, dir);
                assertThat(out.versions("n")).as("n does not exist yet").isEmpty();

                // Run 3 at p = 1: the rest of m, and n's CREATE, which releases its waiting step 1.
                JobClient job3 = start(bootstrap, 1, savepoint2);
                try {
                    sendWorker(producer, m, 7, 1);
                    sendSteps(producer, m, 8, STEPS);
                    send(producer, "control", n.create);
                    sendSteps(producer, n, 2, 3);
                    sendDp(producer, dp, 12, DP_STEPS);
                    out.await(
                            () -> out.minVersion("a", m.shards()) >= STEPS
                                    && out.minVersion("n", n.shards()) >= n.steps
                                    && out.minVersion("m", dpShards) >= DP_STEPS,
                            "a at version " + STEPS + ", n at " + n.steps + ", m at " + DP_STEPS + " (p = 1)");
                    // A duplicate would be committed with one of the next checkpoints.
                    Thread.sleep(1500);
                    out.poll();
                } finally {
                    job3.cancel().get(30, TimeUnit.SECONDS);
                }
            }
            out.close();
            assertEveryVersionOnceAndBitIdentical(out, m);
            assertEveryVersionOnceAndBitIdentical(out, n);
            Map<Integer, List<ParameterUpdate>> privateModel = out.byShard("m");
            assertThat(privateModel).as("shards of m").hasSize(dpShards);
            for (int s = 0; s < dpShards; s++) {
                List<Long> versions = new ArrayList<>();
                for (ParameterUpdate u : privateModel.get(s)) {
                    versions.add(u.getVersion());
                    int v = (int) u.getVersion();
                    assertThat(Records.values(u))
                            .as("m shard %d version %d, bit for bit", s, v)
                            .containsExactly(dp.expected[s][v]);
                    assertThat(u.getEpsilonSpent())
                            .as("ε of m shard %d version %d: the ledger carried", s, v)
                            .isEqualTo(dp.epsilon[v]);
                }
                assertThat(versions.stream().sorted().toList())
                        .as("versions of m shard %d, each once", s)
                        .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(0, DP_STEPS)
                                .boxed()
                                .toList());
            }
            assertThat(out.rejected)
                    .as("only the resent gradient is refused, by w0's watermark carried from p = 1")
                    .singleElement()
                    .satisfies(r -> {
                        assertThat(r.getReason()).isEqualTo(RejectReason.DUPLICATE);
                        assertThat(r.getDetail().toString()).contains("not after its last accepted step");
                    });
        }
    }

    private static JobClient start(String bootstrap, int parallelism, Path savepoint) throws Exception {
        return start(bootstrap, parallelism, savepoint, GradstreamOptions.MAX_PARALLELISM.defaultValue());
    }

    private static JobClient start(String bootstrap, int parallelism, Path savepoint, int maxParallelism)
            throws Exception {
        Configuration conf = new Configuration();
        conf.set(GradstreamOptions.MAX_PARALLELISM, maxParallelism);
        conf.set(GradstreamOptions.BOOTSTRAP_SERVERS, bootstrap);
        conf.set(GradstreamOptions.DELIVERY, "EXACTLY_ONCE");
        conf.set(GradstreamOptions.GROUP_ID, "rescale");
        conf.set(GradstreamOptions.TRANSACTIONAL_ID_PREFIX, "rescale");
        // n's gradients must outlive the run they arrive in.
        conf.set(GradstreamOptions.UNKNOWN_MODEL_GRACE, Duration.ofMinutes(10));
        conf.setString("state.backend.type", "rocksdb");
        conf.setString("execution.checkpointing.interval", "300 ms");
        if (savepoint != null) {
            conf.setString("execution.state-recovery.path", savepoint.toUri().toString());
        }
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(JobConfig.withDefaults(conf));
        env.setParallelism(parallelism);
        return GradstreamJob.kafka(JobSettings.from(conf)).start(env, "rescale p=" + parallelism);
    }

    /** Stop-with-savepoint (no drain, as {@code gradstream stop --savepoint}); returns the savepoint's folder. */
    private static Path stop(JobClient job, Path dir) throws Exception {
        String path = job.stopWithSavepoint(
                        false, dir.resolve("savepoints").toUri().toString(), SavepointFormatType.CANONICAL)
                .get(60, TimeUnit.SECONDS);
        return Path.of(java.net.URI.create(path.startsWith("file:") ? path : "file:" + path));
    }

    private static void assertEveryVersionOnceAndBitIdentical(Output out, Workload w) {
        Map<Integer, List<ParameterUpdate>> byShard = out.byShard(w.model);
        assertThat(byShard).as("shards of %s", w.model).hasSize(w.shards());
        List<Long> all = new ArrayList<>();
        for (long v = 0; v <= w.steps; v++) {
            all.add(v);
        }
        for (int s = 0; s < w.shards(); s++) {
            List<ParameterUpdate> updates = byShard.get(s);
            assertThat(updates.stream()
                            .map(ParameterUpdate::getVersion)
                            .sorted()
                            .toList())
                    .as("versions of %s shard %d, each once across three runs", w.model, s)
                    .containsExactlyElementsOf(all);
            ParameterUpdate last = updates.stream()
                    .max(Comparator.comparingLong(ParameterUpdate::getVersion))
                    .orElseThrow();
            assertThat(Records.values(last))
                    .as("%s shard %d, bit-identical to the unscaled computation", w.model, s)
                    .containsExactly(w.expected[s]);
        }
    }

    /** Workload gradients are ordered by step, shard, worker. */
    private static RawRecord gradient(Workload w, int step, int shard, int worker) {
        return w.gradients.get(((step - 1) * w.shards() + shard) * WORKERS + worker);
    }

    private static void sendDp(KafkaProducer<byte[], byte[]> p, ChaosITCase.Training dp, int from, int to)
            throws Exception {
        for (int t = from; t <= to; t++) {
            for (RawRecord r : dp.step(t)) {
                send(p, "gradients", r);
            }
        }
    }

    private static void sendSteps(KafkaProducer<byte[], byte[]> p, Workload w, int from, int to) throws Exception {
        for (int t = from; t <= to; t++) {
            for (int k = 0; k < WORKERS; k++) {
                sendWorker(p, w, t, k);
            }
        }
    }

    private static void sendWorker(KafkaProducer<byte[], byte[]> p, Workload w, int step, int worker) throws Exception {
        for (int s = 0; s < w.shards(); s++) {
            send(p, "gradients", gradient(w, step, s, worker));
        }
    }

    private static void send(KafkaProducer<byte[], byte[]> p, String topic, RawRecord r) throws Exception {
        p.send(new ProducerRecord<>(topic, r.key, r.value)).get(30, TimeUnit.SECONDS);
    }

    /** The read_committed parameters and rejections of all three runs, read by one consumer from the beginning. */
    private static final class Output implements AutoCloseable {
        final List<ParameterUpdate> parameters = new ArrayList<>();
        final List<RejectedRecord> rejected = new ArrayList<>();
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final AvroRecords<ParameterUpdate> updates = new AvroRecords<>(ParameterUpdate.class);
        private final AvroRecords<RejectedRecord> rejections = new AvroRecords<>(RejectedRecord.class);

        Output(String bootstrap) {
            consumer = TestClusters.readCommitted(bootstrap, "parameters");
            consumer.subscribe(List.of("parameters", "rejected"));
        }

        void poll() throws Exception {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                if (r.topic().equals("parameters")) {
                    parameters.add(updates.decode(r.value()));
                } else {
                    rejected.add(rejections.decode(r.value()));
                }
            }
        }

        void await(BooleanSupplier done, String what) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!done.getAsBoolean()) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("not reached within 60 s: " + what + "; newest versions " + newest("m")
                            + " / " + newest("n") + "; rejected " + rejected);
                }
                poll();
            }
        }

        Map<Integer, List<ParameterUpdate>> byShard(String model) {
            Map<Integer, List<ParameterUpdate>> out = new HashMap<>();
            for (ParameterUpdate u : parameters) {
                if (u.getModelId().toString().equals(model)) {
                    out.computeIfAbsent(u.getShard(), k -> new ArrayList<>()).add(u);
                }
            }
            return out;
        }

        List<Long> versions(String model) {
            return byShard(model).values().stream()
                    .flatMap(l -> l.stream().map(ParameterUpdate::getVersion))
                    .toList();
        }

        Map<Integer, Long> newest(String model) {
            Map<Integer, Long> newest = new HashMap<>();
            byShard(model)
                    .forEach((s, l) -> newest.put(
                            s,
                            l.stream()
                                    .mapToLong(ParameterUpdate::getVersion)
                                    .max()
                                    .orElse(-1)));
            return newest;
        }

        long minVersion(String model, int shards) {
            Map<Integer, Long> newest = newest(model);
            return newest.size() < shards
                    ? -1
                    : newest.values().stream().mapToLong(Long::longValue).min().orElse(-1);
        }

        @Override
        public void close() {
            consumer.close();
        }
    }
}
