package io.gradstream.local;

import io.gradstream.job.GradstreamJob;
import io.gradstream.job.JobConfig;
import io.gradstream.job.JobSettings;
import io.gradstream.kafka.KafkaIo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;

/**
 * gradstream on one machine: an embedded Kafka broker (or an existing cluster), the topics, and the job on a Flink
 * MiniCluster with its Web UI -- everything bound to 127.0.0.1, everything under one work folder that
 * {@link #close()} removes when it created it.
 */
public final class LocalGradstream implements AutoCloseable {

    /** What to start. */
    public record Options(String bootstrapServers, int kafkaPort, int webPort, int parallelism, int partitions,
            Path workDir, Configuration flink) {
    }

    private final Path workDir;
    private final boolean ownWorkDir;
    private final EmbeddedKafka kafka;
    private final JobClient job;
    private final JobSettings settings;
    private final String webUrl;

    private LocalGradstream(Path workDir, boolean ownWorkDir, EmbeddedKafka kafka, JobClient job,
            JobSettings settings, String webUrl) {
        this.workDir = workDir;
        this.ownWorkDir = ownWorkDir;
        this.kafka = kafka;
        this.job = job;
        this.settings = settings;
        this.webUrl = webUrl;
    }

    public static LocalGradstream start(Options o) throws Exception {
        boolean own = o.workDir() == null;
        Path dir = own ? Files.createTempDirectory("gradstream-local-") : o.workDir();
        Files.createDirectories(dir);
        EmbeddedKafka kafka = null;
        try {
            Configuration conf = new Configuration(o.flink());
            String bootstrap = o.bootstrapServers();
            if (bootstrap == null) {
                kafka = EmbeddedKafka.start(dir.resolve("kafka"), o.kafkaPort(), false);
                bootstrap = kafka.bootstrapServers();
            }
            conf.setString("gradstream.kafka.bootstrap-servers", bootstrap);
            JobSettings settings = JobSettings.from(conf);
            createTopics(settings, o.partitions());

            // Loopback only, and every temporary file of Flink under the work folder.
            conf.setString("rest.bind-address", "127.0.0.1");
            conf.setString("rest.address", "127.0.0.1");
            conf.setString("rest.port", String.valueOf(o.webPort()));
            conf.setString("jobmanager.bind-host", "127.0.0.1");
            conf.setString("jobmanager.rpc.address", "127.0.0.1");
            conf.setString("taskmanager.bind-host", "127.0.0.1");
            conf.setString("taskmanager.host", "127.0.0.1");
            conf.setString("io.tmp.dirs", dir.resolve("tmp").toString());
            conf.setString("web.upload.dir", dir.resolve("web-upload").toString());
            Files.createDirectories(dir.resolve("tmp"));
            if (!conf.containsKey("execution.checkpointing.dir")) {
                conf.setString("execution.checkpointing.dir", dir.resolve("checkpoints").toUri().toString());
            }
            conf.setString("taskmanager.numberOfTaskSlots", String.valueOf(o.parallelism()));
            conf.setString("parallelism.default", String.valueOf(o.parallelism()));
            StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(
                    JobConfig.withDefaults(conf));
            JobClient job = GradstreamJob.kafka(settings).start(env, "gradstream");
            return new LocalGradstream(dir, own, kafka, job, settings,
                    "http://127.0.0.1:" + o.webPort());
        } catch (Exception e) {
            if (kafka != null) {
                kafka.close();
            }
            if (own) {
                delete(dir);
            }
            throw e;
        }
    }

    static void createTopics(JobSettings s, int partitions) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", s.bootstrapServers()))) {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> missing = new ArrayList<>();
            if (!existing.contains(s.controlTopic())) {
                missing.add(new NewTopic(s.controlTopic(), 1, (short) 1));
            }
            if (!existing.contains(s.gradientsTopic())) {
                missing.add(new NewTopic(s.gradientsTopic(), partitions, (short) 1)
                        .configs(Map.of("max.message.bytes", String.valueOf(16 << 20))));
            }
            if (!existing.contains(s.parametersTopic())) {
                missing.add(new NewTopic(s.parametersTopic(), partitions, (short) 1)
                        .configs(KafkaIo.parametersTopicConfig()));
            }
            if (!existing.contains(s.rejectedTopic())) {
                missing.add(new NewTopic(s.rejectedTopic(), 1, (short) 1)
                        .configs(Map.of("max.message.bytes", String.valueOf(16 << 20))));
            }
            if (!existing.contains(s.statusTopic())) {
                missing.add(new NewTopic(s.statusTopic(), 1, (short) 1));
            }
            if (!missing.isEmpty()) {
                admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
            }
        }
    }

    public JobSettings settings() {
        return settings;
    }

    public String webUrl() {
        return webUrl;
    }

    public Path workDir() {
        return workDir;
    }

    public JobClient job() {
        return job;
    }

    /** Cancels the job, stops the broker and removes the work folder if this created it. */
    @Override
    public void close() throws Exception {
        try {
            job.cancel().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            // Already finished or failed: nothing left to cancel.
        }
        try {
            job.getJobExecutionResult().get(30, TimeUnit.SECONDS);
        } catch (Exception expected) {
            // A cancelled job completes exceptionally.
        }
        if (kafka != null) {
            kafka.close();
        }
        if (ownWorkDir) {
            delete(workDir);
        }
    }

    static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
