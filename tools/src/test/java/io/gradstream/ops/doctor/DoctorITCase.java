package io.gradstream.ops.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.cli.GradstreamCli;
import io.gradstream.job.GradstreamJob;
import io.gradstream.job.GradstreamOptions;
import io.gradstream.job.JobConfig;
import io.gradstream.job.JobSettings;
import io.gradstream.kafka.EmbeddedKafka;
import io.gradstream.local.LocalGradstream;
import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import io.gradstream.ops.FlinkRest;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.client.program.ClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectClusterClient;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code gradstream doctor} against a real Kafka broker and a real gradstream job on a Flink MiniCluster: the Kafka
 * topic check fails with the reason until the topics are right, and the job checks report a healthy job OK, turn WARN
 * and FAIL at lowered thresholds, and report a restart caused by an injected failure with its exception.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DoctorITCase {
    /** Set to make the job's next gradient fail its task once. */
    static final AtomicBoolean ARMED = new AtomicBoolean();

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(2)
            .setConfiguration(clusterConfig())
            .build());

    private static Configuration clusterConfig() {
        Path dir = Path.of("target", "minicluster").toAbsolutePath();
        Configuration c = new Configuration();
        c.setString("web.upload.dir", dir.resolve("web-upload").toString());
        c.setString("io.tmp.dirs", dir.resolve("io-tmp").toString());
        c.setString("rest.bind-address", "127.0.0.1");
        c.setString("rest.address", "127.0.0.1");
        c.setString("jobmanager.bind-host", "127.0.0.1");
        c.setString("taskmanager.bind-host", "127.0.0.1");
        // The REST API serves metrics from a store it refreshes at most this often (default 10 s).
        c.setString("metrics.fetcher.update-interval", "300 ms");
        // ... and job details, checkpoints and exceptions from a cache of the execution graph (default 3 s).
        c.setString("web.refresh-interval", "300 ms");
        return c;
    }

    private static String doctor(int expectedStatus, String... args) {
        StringWriter out = new StringWriter();
        String[] all = new String[args.length + 1];
        all[0] = "doctor";
        System.arraycopy(args, 0, all, 1, args.length);
        int rc = GradstreamCli.execute(new PrintWriter(out, true), new PrintWriter(new StringWriter()), all);
        assertThat(rc).as(out.toString()).isEqualTo(expectedStatus);
        return out.toString();
    }

    @Test
    void topicCheckFailsUntilTheParametersTopicIsCompacted() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start();
                Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            String bs = kafka.bootstrapServers();
            // No job runs against this broker: the checks that ask Flink for it are left out.
            String skip = "flink,job restarts,checkpoint";
            admin.createTopics(List.of(
                            new NewTopic("control", 1, (short) 1),
                            new NewTopic("gradients", 2, (short) 1),
                            new NewTopic("parameters", 2, (short) 1).configs(Map.of("cleanup.policy", "delete"))))
                    .all()
                    .get(30, TimeUnit.SECONDS);

            String missing = doctor(1, "--skip", skip, "--bootstrap-servers", bs);
            assertThat(missing)
                    .contains("OK    kafka         " + bs + ": cluster ")
                    .contains("FAIL  kafka topics  missing topic(s) rejected, status")
                    .contains("FAIL  rejections    not checked: a topic is missing (see kafka topics)");

            admin.createTopics(List.of(new NewTopic("rejected", 1, (short) 1), new NewTopic("status", 1, (short) 1)))
                    .all()
                    .get(30, TimeUnit.SECONDS);
            String notCompacted = doctor(1, "--skip", skip, "--bootstrap-servers", bs);
            assertThat(notCompacted)
                    .contains("FAIL  kafka topics  control, gradients, parameters, rejected, status "
                            + "exist; parameters has cleanup.policy=delete, must be compact")
                    .endsWith("1 FAIL\n");

            ConfigResource params = new ConfigResource(ConfigResource.Type.TOPIC, "parameters");
            admin.incrementalAlterConfigs(Map.of(
                            params,
                            List.of(new AlterConfigOp(
                                    new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.SET))))
                    .all()
                    .get(30, TimeUnit.SECONDS);
            String fixed = doctor(0, "--skip", skip, "--bootstrap-servers", bs);
            assertThat(fixed)
                    .contains("OK    kafka topics  control, gradients, parameters, rejected, status "
                            + "exist; parameters has cleanup.policy=compact")
                    .contains("0 FAIL")
                    .contains("OK    consumer lag  group gradstream is 0 record(s) behind")
                    .contains("OK    rejections    no records on gradients or control in the last 5 min");

            // Topic names come from the job configuration.
            String renamed = doctor(
                    1, "--skip", skip, "--bootstrap-servers", bs, "--set", "gradstream.topics.parameters=params-v2");
            assertThat(renamed).contains("FAIL  kafka topics  missing topic(s) params-v2");
        }
    }

    /** Passes records on, and throws once for the first record after {@link #ARMED} was set. */
    static final class FailWhenArmed implements MapFunction<RawRecord, RawRecord> {
        @Override
        public RawRecord map(RawRecord r) {
            if (ARMED.getAndSet(false)) {
                throw new IllegalStateException("injected failure");
            }
            return r;
        }
    }

    @Test
    void jobChecksReportTheRunningJob(@InjectClusterClient ClusterClient<?> client) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start();
                Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            String bs = kafka.bootstrapServers();
            String url = client.getWebInterfaceURL();
            Configuration conf = new Configuration();
            conf.set(GradstreamOptions.BOOTSTRAP_SERVERS, bs);
            conf.set(GradstreamOptions.GROUP_ID, "doctor-it");
            conf.setString("execution.checkpointing.interval", "200 ms");
            conf.setString("restart-strategy.type", "fixed-delay");
            conf.setString("restart-strategy.fixed-delay.attempts", "3");
            conf.setString("restart-strategy.fixed-delay.delay", "200 ms");
            JobSettings settings = JobSettings.from(conf);
            LocalGradstream.createTopics(settings, 2);

            // A model with 2 shards, 40 gradients for it and one undecodable record: 1 rejection for 42 inputs.
            List<RawRecord> control =
                    List.of(Records.create("m", Records.spec("SGD", Map.of("lr", 0.1), 4, Records.async(1000), 8)));
            List<RawRecord> gradients = new ArrayList<>();
            for (int step = 1; step <= 20; step++) {
                for (int shard = 0; shard < 2; shard++) {
                    gradients.add(Records.gradient("m", shard, "w0", step, 0, 1, new float[] {.5f, .5f, .5f, .5f}));
                }
            }
            gradients.add(new RawRecord("m/w/0".getBytes(), new byte[] {42}, "gradients", 0, 0));
            publish(bs, "control", control);
            publish(bs, "gradients", gradients);

            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.getExecutionEnvironment(JobConfig.withDefaults(conf));
            env.setParallelism(1);
            JobClient job = GradstreamJob.kafka(settings)
                    .withGradientTap(s -> s.map(new FailWhenArmed()).name("failure injection"))
                    .start(env, Doctor.DEFAULT_JOB_NAME);
            String id = job.getJobID().toHexString();
            try {
                awaitCaughtUp(admin, "doctor-it", List.of("gradients", "control"));
                String[] flags = {
                    "--flink-url", url, "--bootstrap-servers", bs, "--set", "gradstream.kafka.group-id=doctor-it"
                };

                String healthy = doctor(0, flags);
                assertThat(healthy)
                        .contains("OK    job restarts  job " + id + " RUNNING, 0 restart(s) since it " + "started ")
                        .containsPattern("OK    checkpoint    checkpoint \\d+ completed \\d+ ms ago")
                        .contains("OK    consumer lag  group doctor-it is 0 record(s) behind (gradients 0, control 0;")
                        .contains("OK    rejections    1 record(s) to rejected for 42 on gradients and control in the "
                                + "last 5 min: 2.4 %, 0.2/min")
                        .contains("0 FAIL");

                String strict = doctor(
                        1,
                        concat(
                                flags,
                                "--max-restarts",
                                "0",
                                "--checkpoint-fail",
                                "0",
                                "--lag-warn",
                                "0",
                                "--rejection-warn",
                                "1"));
                assertThat(strict)
                        .contains("FAIL  job restarts  job " + id + " RUNNING, 0 restart(s)")
                        .contains("(FAIL from 0, --max-restarts)")
                        .containsPattern("FAIL  checkpoint    checkpoint \\d+ completed .* \\(FAIL from 0 ms, "
                                + "--checkpoint-fail\\)")
                        .contains("WARN  consumer lag  group doctor-it is 0 record(s) behind")
                        .contains("(WARN from 0, --lag-warn)")
                        .contains("WARN  rejections    1 record(s) to rejected")
                        .contains("(WARN from 1 %, " + "--rejection-warn)")
                        .contains("2 FAIL");

                String otherName = doctor(0, concat(flags, "--job-name", "nope", "--skip", "consumer lag,rejections"));
                assertThat(otherName)
                        .contains("WARN  job restarts  no job named 'nope' on " + url)
                        .contains("WARN  checkpoint    not checked: no job named 'nope'");

                ARMED.set(true);
                publish(bs, "gradients", List.of(Records.gradient("m", 0, "w0", 21, 0, 1, new float[4])));
                awaitRestarted(new FlinkRest(url), id);
                String restarted = doctor(0, flags);
                assertThat(restarted)
                        .contains("WARN  job restarts  job " + id + " RUNNING, 1 restart(s) since it " + "started ")
                        .contains("; last failure: java.lang.IllegalStateException: injected failure");
            } finally {
                job.cancel().get(30, TimeUnit.SECONDS);
            }
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private static void publish(String bootstrap, String topic, List<RawRecord> records) throws Exception {
        try (var producer = new KafkaProducer<>(
                Map.<String, Object>of("bootstrap.servers", bootstrap),
                new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (RawRecord r : records) {
                producer.send(new ProducerRecord<>(topic, r.key, r.value));
            }
            producer.flush();
        }
    }

    /** Until the group's committed offsets (Flink commits them at checkpoints) reach the end of every partition. */
    private static void awaitCaughtUp(Admin admin, String group, List<String> topics) throws Exception {
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        admin.describeTopics(topics)
                .allTopicNames()
                .get(30, TimeUnit.SECONDS)
                .forEach((t, d) -> d.partitions()
                        .forEach(p -> latest.put(new TopicPartition(t, p.partition()), OffsetSpec.latest())));
        long deadline = System.currentTimeMillis() + 60_000;
        Map<TopicPartition, Long> behind = new HashMap<>();
        do {
            Thread.sleep(200);
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS);
            behind.clear();
            admin.listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
                    .all()
                    .get(30, TimeUnit.SECONDS)
                    .forEach((tp, end) -> {
                        long at = committed.containsKey(tp) ? committed.get(tp).offset() : 0;
                        if (at < end.offset()) {
                            behind.put(tp, end.offset() - at);
                        }
                    });
        } while (!behind.isEmpty() && System.currentTimeMillis() < deadline);
        assertThat(behind).as("records the job's group has not committed yet").isEmpty();
    }

    /** Until Flink reports the job RUNNING again after its first restart, with the failure in its history. */
    private static void awaitRestarted(FlinkRest rest, String id) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        String seen = "";
        while (System.currentTimeMillis() < deadline) {
            String restarts = "";
            for (var m : rest.get("jobs/" + id + "/metrics?get=numRestarts")) {
                restarts = m.path("value").asText();
            }
            String state = rest.jobState(id);
            int failures = rest.get("jobs/" + id + "/exceptions")
                    .path("exceptionHistory")
                    .path("entries")
                    .size();
            seen = state + ", numRestarts " + restarts + ", " + failures + " exception(s)";
            if (restarts.equals("1") && state.equals("RUNNING") && failures > 0) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the job did not restart once: " + seen);
    }
}
