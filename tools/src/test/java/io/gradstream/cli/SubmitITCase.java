package io.gradstream.cli;

import static io.gradstream.cli.CliRuns.cli;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.job.GradstreamOptions;
import io.gradstream.job.JobSettings;
import io.gradstream.job.TestClusters;
import io.gradstream.job.Workload;
import io.gradstream.kafka.EmbeddedKafka;
import io.gradstream.local.LocalGradstream;
import io.gradstream.operators.Records;
import io.gradstream.ops.FlinkRest;
import io.gradstream.schemas.ParameterUpdate;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobID;
import org.apache.flink.client.program.ClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.InjectClusterClient;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gradstream submit} against a Flink MiniCluster's REST API: the uploaded job reaches RUNNING, reads a CREATE
 * and gradients from Kafka and publishes the parameters the local kernel computes; {@code gradstream doctor} then
 * finds the whole setup healthy. Flink's refusals and an unreachable endpoint come back as one-line errors.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class SubmitITCase {
    /**
     * The module's thin jar: the MiniCluster has the test classpath, so the job's entry class is all it needs. (The
     * shaded cluster jar cannot run here: its kafka-clients, loaded child-first, clash with the test classpath's;
     * ClusterJarITCase runs it on a cluster in its own JVM.)
     */
    private static final Path JAR = Path.of(
            "target", "lib", "gradstream-jobs-" + System.getProperty("gradstream.version", "0.1.0-SNAPSHOT") + ".jar");

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(2)
            .setConfiguration(loopback(TestClusters.keepFilesInTarget()))
            .build());

    private static EmbeddedKafka kafka;

    private static Configuration loopback(Configuration c) {
        c.setString("rest.bind-address", "127.0.0.1");
        c.setString("rest.address", "127.0.0.1");
        c.setString("jobmanager.bind-host", "127.0.0.1");
        c.setString("taskmanager.bind-host", "127.0.0.1");
        return c;
    }

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = EmbeddedKafka.start();
        Configuration c = new Configuration();
        c.set(GradstreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        LocalGradstream.createTopics(JobSettings.from(c), 2);
    }

    @AfterAll
    static void stopKafka() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void submittedJobRunsAndTrainsAndDoctorFindsItHealthyStopsWithASavepointAndRescales(
            @InjectClusterClient ClusterClient<?> client, @TempDir Path savepoints) throws Exception {
        String url = client.getWebInterfaceURL();
        var submit = cli(
                "submit",
                "--flink-url",
                url,
                "--jar",
                JAR.toString(),
                "--parallelism",
                "1",
                "--set",
                "gradstream.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                "--set",
                "gradstream.kafka.group-id=submit-it");
        assertThat(submit.status()).as(submit.out() + submit.err()).isZero();
        String jobId = submit.out()
                .lines()
                .filter(l -> l.startsWith("job id:"))
                .map(l -> l.substring(7).strip())
                .findFirst()
                .orElseThrow(() -> new AssertionError("no job id in:\n" + submit.out()));
        assertThat(submit.out()).contains("Web UI:  " + url + "/#/job/running/" + jobId + "/overview");

        FlinkRest rest = new FlinkRest(url);
        long deadline = System.currentTimeMillis() + 60_000;
        String state = rest.jobState(jobId);
        while (!state.equals("RUNNING") && System.currentTimeMillis() < deadline) {
            assertThat(state).as("job state").isNotIn("FAILED", "CANCELED", "FINISHED");
            Thread.sleep(200);
            state = rest.jobState(jobId);
        }
        assertThat(state).isEqualTo("RUNNING");
        assertThat(rest.get("jobs/" + jobId).path("name").asText()).isEqualTo("gradstream");

        Workload work = new Workload("Adam", Map.of("lr", 0.01), true, 40, 16, 2, 3, 11);
        TestClusters.publish(kafka.bootstrapServers(), work);
        Map<Integer, ParameterUpdate> latest = TestClusters.latestParameters(kafka.bootstrapServers(), work);
        assertThat(latest).as("newest update per shard").hasSize(work.shards());
        for (int s = 0; s < work.shards(); s++) {
            assertThat(latest.get(s).getVersion()).isEqualTo(work.steps);
            assertThat(Records.values(latest.get(s))).as("shard %d", s).containsExactly(work.expected[s]);
        }

        var doctor = cli("doctor", "--flink-url", url, "--bootstrap-servers", kafka.bootstrapServers());
        assertThat(doctor.out())
                .as(doctor.out())
                .contains("OK    flink ")
                .contains("1 job(s) running")
                .contains("OK    kafka topics")
                .contains("0 FAIL");
        assertThat(doctor.status()).as(doctor.out()).isZero();

        // Stop with a savepoint and continue from it at parallelism 2: the model goes on where it stopped.
        var stop = cli("stop", "--flink-url", url, "--savepoint", savepoints.toString());
        assertThat(stop.status()).as(stop.out() + stop.err()).isZero();
        String savepoint = stop.out()
                .lines()
                .filter(l -> l.startsWith("savepoint:"))
                .map(l -> l.substring(10).strip())
                .findFirst()
                .orElseThrow(() -> new AssertionError("no savepoint in:\n" + stop.out()));
        assertThat(Path.of(java.net.URI.create(savepoint)).resolve("_metadata")).exists();
        // The REST API caches job details for a few seconds: the stopped job shows as FINISHED a little later.
        long stopDeadline = System.currentTimeMillis() + 30_000;
        while (!rest.jobState(jobId).equals("FINISHED") && System.currentTimeMillis() < stopDeadline) {
            Thread.sleep(200);
        }
        assertThat(rest.jobState(jobId)).isEqualTo("FINISHED");
        var none = cli("stop", "--flink-url", url, "--savepoint", savepoints.toString());
        assertThat(none.status()).isEqualTo(1);
        assertThat(none.err()).contains("no running job named 'gradstream'");

        var resume = cli(
                "submit",
                "--flink-url",
                url,
                "--jar",
                JAR.toString(),
                "--parallelism",
                "2",
                "--savepoint",
                savepoint,
                "--set",
                "gradstream.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                "--set",
                "gradstream.kafka.group-id=submit-it");
        assertThat(resume.status()).as(resume.out() + resume.err()).isZero();
        Workload more = new Workload("Adam", Map.of("lr", 0.01), true, 40, 16, 2, 5, 11);
        var producer = new org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]>(
                Map.of("bootstrap.servers", kafka.bootstrapServers()),
                new org.apache.kafka.common.serialization.ByteArraySerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer());
        try (producer) {
            // Steps 4 and 5 of the same training (its first 3 steps' records are the ones already sent).
            for (var r : more.gradients.subList(work.gradients.size(), more.gradients.size())) {
                producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>("gradients", r.key, r.value));
            }
        }
        Map<Integer, ParameterUpdate> resumed = TestClusters.latestParameters(kafka.bootstrapServers(), more);
        for (int s = 0; s < more.shards(); s++) {
            assertThat(resumed.get(s).getVersion()).isEqualTo(more.steps);
            assertThat(Records.values(resumed.get(s)))
                    .as("shard %d after the restore at p = 2", s)
                    .containsExactly(more.expected[s]);
        }
        String resumedId = resume.out()
                .lines()
                .filter(l -> l.startsWith("job id:"))
                .map(l -> l.substring(7).strip())
                .findFirst()
                .orElseThrow();
        client.cancel(JobID.fromHexString(resumedId)).get(30, TimeUnit.SECONDS);
    }

    @Test
    void flinksRefusalAndAnUnreachableClusterAreReportedInOneLine(@InjectClusterClient ClusterClient<?> client)
            throws Exception {
        int jobsBefore = client.listJobs().get(10, TimeUnit.SECONDS).size();
        var wrongClass = cli(
                "submit",
                "--flink-url",
                client.getWebInterfaceURL(),
                "--jar",
                JAR.toString(),
                "--entry-class",
                "io.gradstream.NoSuchMain");
        assertThat(wrongClass.status()).isEqualTo(1);
        assertThat(wrongClass.err())
                .contains("gradstream submit: Flink refused POST jars/")
                .contains("io.gradstream.NoSuchMain")
                .doesNotContain("\tat ");

        int closed = io.gradstream.ops.Sockets.freePort();
        var unreachable = cli("submit", "--flink-url", "http://127.0.0.1:" + closed, "--jar", JAR.toString());
        assertThat(unreachable.status()).isEqualTo(1);
        assertThat(unreachable.err())
                .contains("cannot reach Flink's REST API at http://127.0.0.1:" + closed + "/ (connection refused)");

        var invalid = cli(
                "submit",
                "--flink-url",
                client.getWebInterfaceURL(),
                "--jar",
                JAR.toString(),
                "--set",
                "gradstream.delivery=SOMETIMES");
        assertThat(invalid.status()).as("refused before upload").isEqualTo(2);
        assertThat(invalid.err()).contains("Invalid gradstream.delivery: 'SOMETIMES'");
        assertThat(client.listJobs().get(10, TimeUnit.SECONDS))
                .as("no job was started")
                .hasSize(jobsBefore);
    }
}
