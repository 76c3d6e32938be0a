package io.gradstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.kafka.EmbeddedKafka;
import io.gradstream.kafka.KafkaIo;
import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.RejectedRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Kafka -> Flink -> Kafka with exactly-once delivery and a failure injected mid-stream, after a checkpoint: the job
 * restores, and the read_committed output holds every version 0..T of every shard exactly once, with final
 * parameters bit-identical to the failure-free local computation; bad records land in the rejected topic.
 */
class KafkaRecoveryITCase {
    static final AtomicBoolean FAILED = new AtomicBoolean();
    private static EmbeddedKafka kafka;

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(2)
            .setConfiguration(TestClusters.keepFilesInTarget())
            .build());

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = EmbeddedKafka.start();
    }

    /** Fresh topics per run, so parameterized runs never see each other's records. */
    private static void createTopics(String suffix) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(
                            new NewTopic("control" + suffix, 1, (short) 1),
                            new NewTopic("gradients" + suffix, 2, (short) 1),
                            new NewTopic("parameters" + suffix, 1, (short) 1).configs(KafkaIo.parametersTopicConfig()),
                            new NewTopic("rejected" + suffix, 1, (short) 1)))
                    .all()
                    .get();
        }
    }

    @AfterAll
    static void stopKafka() throws Exception {
        kafka.close();
    }

    /** Passes records on slowly and throws once, at the first record after a completed checkpoint. */
    static final class FailOnceAfterCheckpoint extends RichMapFunction<RawRecord, RawRecord>
            implements CheckpointListener {
        private transient boolean checkpointed;
        private transient int seen;

        @Override
        public void open(OpenContext c) {
            checkpointed = false;
            seen = 0;
        }

        @Override
        public RawRecord map(RawRecord r) throws Exception {
            Thread.sleep(60);
            if (++seen > 5 && checkpointed && !FAILED.getAndSet(true)) {
                throw new IllegalStateException("injected failure");
            }
            return r;
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            checkpointed = true;
        }
    }

    /**
     * {@code *-opencl}: the steps on the OpenCL device with the optimizer slots resident there between checkpoints,
     * so the result is only right if every checkpoint holds the slots written back from the device (with RocksDB,
     * every read of a shard's state is a fresh copy, so the write-back must go through the keyed state).
     */
    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb", "hashmap-opencl", "rocksdb-opencl", "rocksdb-topk", "hashmap-int8"})
    void exactlyOnceOutputSurvivesAFailure(String variant) throws Exception {
        boolean opencl = variant.endsWith("-opencl");
        if (opencl) {
            requireCorrectlyRoundedOpenCl();
        }
        String stateBackend = variant.split("-")[0];
        FAILED.set(false);
        String sfx = "-" + variant;
        createTopics(sfx);
        // *-topk, *-int8: that encoding with the workers' error feedback in, a delta stream of it out (the server's
        // residual in keyed state, a snapshot every 3 versions); every update must be as without the failure.
        String compressed = variant.endsWith("-topk") ? "topk:0.25" : variant.endsWith("-int8") ? "int8" : null;
        Workload work = compressed == null
                ? new Workload("Adam", Map.of("lr", 0.01), true, 90, 40, 2, 8, 5)
                : new Workload(
                        "m", "Adam", Map.of("lr", 0.01), true, 90, 40, 2, 8, 5, compressed, deltaStream(compressed, 3));
        Properties pp = new Properties();
        pp.put("bootstrap.servers", kafka.bootstrapServers());
        try (var producer =
                new KafkaProducer<byte[], byte[]>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>("control" + sfx, work.create.key, work.create.value))
                    .get();
            for (RawRecord r : work.gradients) {
                producer.send(new ProducerRecord<>("gradients" + sfx, r.key, r.value));
            }
            producer.send(new ProducerRecord<>("gradients" + sfx, "m/w/0".getBytes(), new byte[] {42}));
            producer.send(new ProducerRecord<>(
                    "gradients" + sfx,
                    "x/w/0".getBytes(),
                    Records.gradient("x", 0, "a", 1, 0, 1, new float[] {1f}).value));
            if (compressed != null) {
                producer.send(new ProducerRecord<>(
                        "gradients" + sfx,
                        "m/w/0".getBytes(),
                        Records.gradient("m", 0, "w9", 1, 0, 1, new float[40]).value));
            }
            producer.flush();
        }

        Configuration conf = new Configuration();
        conf.set(GradstreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(GradstreamOptions.DELIVERY, "EXACTLY_ONCE");
        conf.set(GradstreamOptions.UNKNOWN_MODEL_GRACE, Duration.ofSeconds(1));
        conf.setString("execution.checkpointing.interval", "200 ms");
        conf.setString("state.backend.type", stateBackend);
        conf.setString("execution.checkpointing.incremental", "true");
        conf.set(GradstreamOptions.GROUP_ID, "recovery-" + variant);
        conf.set(GradstreamOptions.CONTROL_TOPIC, "control" + sfx);
        conf.set(GradstreamOptions.GRADIENTS_TOPIC, "gradients" + sfx);
        conf.set(GradstreamOptions.PARAMETERS_TOPIC, "parameters" + sfx);
        conf.set(GradstreamOptions.REJECTED_TOPIC, "rejected" + sfx);
        conf.set(GradstreamOptions.TRANSACTIONAL_ID_PREFIX, "recovery-" + variant);
        if (opencl) {
            conf.set(GradstreamOptions.BACKEND, "opencl");
            conf.setString(GradstreamOptions.OPENCL_RESIDENT_STATE.key(), "64 mb");
        }
        conf.setString("restart-strategy.type", "fixed-delay");
        conf.setString("restart-strategy.fixed-delay.attempts", "3");
        conf.setString("restart-strategy.fixed-delay.delay", "200 ms");
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(JobConfig.withDefaults(conf));
        env.setParallelism(2);
        JobClient job = GradstreamJob.kafka(JobSettings.from(conf))
                .withGradientTap(s -> s.map(new FailOnceAfterCheckpoint()).name("failure injection"))
                .start(env, "recovery test");
        try {
            Map<Integer, List<ParameterUpdate>> byShard = readCommitted(
                    TestClusters.readCommitted(kafka.bootstrapServers(), "parameters" + sfx),
                    work.shards(),
                    work.steps);
            List<RejectedRecord> rejected = TestClusters.readAll(
                    kafka.bootstrapServers(), "rejected" + sfx, RejectedRecord.class, compressed == null ? 2 : 3);
            assertThat(FAILED).as("the failure was injected").isTrue();
            if (compressed == null) {
                assertEveryVersionOnceAndBitIdentical(byShard, work);
                assertThat(rejected)
                        .extracting(RejectedRecord::getReason)
                        .containsExactlyInAnyOrder(RejectReason.UNDECODABLE, RejectReason.UNKNOWN_MODEL);
            } else {
                PipelineEquivalenceITCase.assertEveryUpdateAsComputed(byShard, work);
                assertThat(rejected)
                        .extracting(RejectedRecord::getReason)
                        .containsExactlyInAnyOrder(
                                RejectReason.UNDECODABLE,
                                RejectReason.UNKNOWN_MODEL,
                                RejectReason.ENCODING_NOT_ALLOWED);
            }
        } finally {
            job.cancel().get();
        }
    }

    /** Gradients only in the encoding of {@code gradients}, and a delta stream in it with a snapshot every K. */
    static CompressionSpec deltaStream(String gradients, int snapshotEvery) {
        Encoding e = gradients.startsWith("topk") ? Encoding.TOPK : Encoding.INT8_BLOCK;
        return CompressionSpec.newBuilder()
                .setInputEncodings(List.of(e))
                .setDeltaEncoding(e)
                .setDeltaTopKFraction(0.1)
                .setSnapshotEvery(snapshotEvery)
                .build();
    }

    /**
     * A model with TOPK gradients (workers' error feedback) and a TOPK delta stream (the server's residual in keyed
     * state) stops with a savepoint at parallelism 1 and goes on from it at parallelism 2: the residuals move with
     * their shards' key groups, and every update of both runs is bit-identical to the uninterrupted local computation.
     */
    @org.junit.jupiter.api.Test
    void aCompressedModelRestoresAtAnotherParallelismBitForBit(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        String sfx = "-rescale";
        createTopics(sfx);
        Workload work = new Workload(
                "m", "Adam", Map.of("lr", 0.01), true, 90, 40, 2, 8, 21, "topk:0.25", deltaStream("topk", 5));
        int half = work.gradients.size() / 2; // steps 1..4 of every shard
        Properties pp = new Properties();
        pp.put("bootstrap.servers", kafka.bootstrapServers());
        try (var producer =
                new KafkaProducer<byte[], byte[]>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>("control" + sfx, work.create.key, work.create.value))
                    .get();
            for (RawRecord r : work.gradients.subList(0, half)) {
                producer.send(new ProducerRecord<>("gradients" + sfx, r.key, r.value));
            }
            producer.flush();
        }
        JobClient first = startRescaleJob(sfx, 1, null);
        String savepoint;
        try {
            readCommitted(
                    TestClusters.readCommitted(
                            kafka.bootstrapServers(), Map.of(), "rescale-phase1", "parameters" + sfx),
                    work.shards(),
                    4);
            savepoint = first.stopWithSavepoint(
                            false,
                            dir.toUri().toString(),
                            org.apache.flink.core.execution.SavepointFormatType.CANONICAL)
                    .get(2, java.util.concurrent.TimeUnit.MINUTES);
        } finally {
            SavepointFixture.cancelQuietly(first);
        }
        try (var producer =
                new KafkaProducer<byte[], byte[]>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (RawRecord r : work.gradients.subList(half, work.gradients.size())) {
                producer.send(new ProducerRecord<>("gradients" + sfx, r.key, r.value));
            }
            producer.flush();
        }
        JobClient second = startRescaleJob(sfx, 2, savepoint);
        try {
            Map<Integer, List<ParameterUpdate>> byShard = readCommitted(
                    TestClusters.readCommitted(kafka.bootstrapServers(), "parameters" + sfx),
                    work.shards(),
                    work.steps);
            PipelineEquivalenceITCase.assertEveryUpdateAsComputed(byShard, work);
        } finally {
            SavepointFixture.cancelQuietly(second);
        }
    }

    private static JobClient startRescaleJob(String sfx, int parallelism, String savepoint) throws Exception {
        Configuration conf = new Configuration();
        conf.set(GradstreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(GradstreamOptions.DELIVERY, "EXACTLY_ONCE");
        conf.set(GradstreamOptions.UNKNOWN_MODEL_GRACE, Duration.ofSeconds(30));
        conf.setString("execution.checkpointing.interval", "200 ms");
        conf.setString("state.backend.type", "rocksdb");
        conf.set(GradstreamOptions.GROUP_ID, "rescale");
        conf.set(GradstreamOptions.CONTROL_TOPIC, "control" + sfx);
        conf.set(GradstreamOptions.GRADIENTS_TOPIC, "gradients" + sfx);
        conf.set(GradstreamOptions.PARAMETERS_TOPIC, "parameters" + sfx);
        conf.set(GradstreamOptions.REJECTED_TOPIC, "rejected" + sfx);
        conf.set(GradstreamOptions.TRANSACTIONAL_ID_PREFIX, "rescale-p" + parallelism);
        conf.setString("restart-strategy.type", "none");
        if (savepoint != null) {
            conf.setString("execution.state-recovery.path", savepoint);
        }
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(JobConfig.withDefaults(conf));
        env.setParallelism(parallelism);
        return GradstreamJob.kafka(JobSettings.from(conf)).start(env, "rescale p" + parallelism);
    }

    /**
     * Every version 0..T of every shard exactly once, the last one bit-identical to the failure-free computation.
     * Order across versions is not promised: version 0 comes from the CREATE handler on subtask 0, later ones from
     * the shard's own subtask (consumers keep the highest).
     */
    static void assertEveryVersionOnceAndBitIdentical(Map<Integer, List<ParameterUpdate>> byShard, Workload work) {
        for (int s = 0; s < work.shards(); s++) {
            List<Long> versions = byShard.get(s).stream()
                    .map(ParameterUpdate::getVersion)
                    .sorted()
                    .toList();
            List<Long> expectedVersions = new ArrayList<>();
            for (long v = 0; v <= work.steps; v++) {
                expectedVersions.add(v);
            }
            assertThat(versions).as("versions of shard %d, each once", s).containsExactlyElementsOf(expectedVersions);
            ParameterUpdate last = byShard.get(s).stream()
                    .max(java.util.Comparator.comparingLong(ParameterUpdate::getVersion))
                    .orElseThrow();
            assertThat(Records.values(last)).as("shard %d", s).containsExactly(work.expected[s]);
        }
    }

    /** Bit-identity with the CPU needs correctly rounded division and sqrt (POCL has them; some GPUs do not). */
    private static void requireCorrectlyRoundedOpenCl() {
        var config = io.gradstream.opencl.ClConfig.defaults();
        var reason = io.gradstream.opencl.ClContext.unavailableReason(config);
        String missing = reason.map(r -> "no OpenCL device (" + r + ")").orElse(null);
        if (missing == null) {
            try (var ctx = io.gradstream.opencl.ClContext.open(config)) {
                if (!ctx.device().correctlyRoundedDivideSqrt()) {
                    org.junit.jupiter.api.Assumptions.abort(
                            "SKIPPED: " + ctx.device().name() + " does not round "
                                    + "division and sqrt correctly, so its steps are not bit-identical to the CPU's");
                }
            }
            return;
        }
        if ("1".equals(System.getenv("GRADSTREAM_REQUIRE_TOOLS"))) {
            throw new AssertionError("GRADSTREAM_REQUIRE_TOOLS=1 but " + missing);
        }
        org.junit.jupiter.api.Assumptions.abort("SKIPPED: " + missing);
    }

    /** The updates {@code consumer} reads until every shard reached {@code lastVersion}, and a poll after; closes it. */
    static Map<Integer, List<ParameterUpdate>> readCommitted(
            org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]> consumer, int shards, long lastVersion)
            throws Exception {
        AvroRecords<ParameterUpdate> avro = new AvroRecords<>(ParameterUpdate.class);
        Map<Integer, List<ParameterUpdate>> byShard = new HashMap<>();
        long deadline = System.currentTimeMillis() + 90_000;
        try (var c = consumer) {
            while (System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    ParameterUpdate u = avro.decode(r.value());
                    byShard.computeIfAbsent(u.getShard(), k -> new ArrayList<>())
                            .add(u);
                }
                TreeSet<Long> done = new TreeSet<>();
                byShard.values()
                        .forEach(l -> done.add(l.stream()
                                .mapToLong(ParameterUpdate::getVersion)
                                .max()
                                .orElse(-1)));
                if (byShard.size() == shards && done.first() == lastVersion) {
                    // One more poll: a duplicate after the last version would show up now.
                    Thread.sleep(1500);
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                        ParameterUpdate u = avro.decode(r.value());
                        byShard.computeIfAbsent(u.getShard(), k -> new ArrayList<>())
                                .add(u);
                    }
                    return byShard;
                }
            }
        }
        throw new AssertionError("parameters did not reach version " + lastVersion + ": " + byShard.keySet());
    }
}
