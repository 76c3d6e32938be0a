package io.gradstream.local;

import io.gradstream.job.GradstreamJob;
import io.gradstream.job.JobConfig;
import io.gradstream.job.JobSettings;
import io.gradstream.kafka.EmbeddedKafka;
import io.gradstream.kafka.Folders;
import io.gradstream.kafka.KafkaClients;
import io.gradstream.kafka.KafkaIo;
import io.gradstream.kafka.SecureKafka;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
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

    /**
     * What to start.
     *
     * @param prometheusPort port of the Prometheus endpoint on 127.0.0.1, or 0 for none
     * @param secure the embedded broker as {@link SecureKafka} (SASL_SSL, ACLs), the job as its principal {@code job}
     */
    public record Options(
            String bootstrapServers,
            int kafkaPort,
            int webPort,
            int parallelism,
            int partitions,
            Path workDir,
            Configuration flink,
            int prometheusPort,
            boolean secure) {

        /** Without security. */
        public Options(
                String bootstrapServers,
                int kafkaPort,
                int webPort,
                int parallelism,
                int partitions,
                Path workDir,
                Configuration flink,
                int prometheusPort) {
            this(bootstrapServers, kafkaPort, webPort, parallelism, partitions, workDir, flink, prometheusPort, false);
        }

        /** Without a Prometheus endpoint. */
        public Options(
                String bootstrapServers,
                int kafkaPort,
                int webPort,
                int parallelism,
                int partitions,
                Path workDir,
                Configuration flink) {
            this(bootstrapServers, kafkaPort, webPort, parallelism, partitions, workDir, flink, 0);
        }
    }

    /** Name of the Prometheus reporter in the Flink configuration ({@code metrics.reporter.prom.*}). */
    public static final String PROMETHEUS_REPORTER = "prom";

    private final Path workDir;
    private final boolean ownWorkDir;
    private final AutoCloseable kafka;
    private final SecureKafka secure;
    private final JobClient job;
    private final JobSettings settings;
    private final String webUrl;
    private final String prometheusUrl;

    private LocalGradstream(
            Path workDir,
            boolean ownWorkDir,
            AutoCloseable kafka,
            SecureKafka secure,
            JobClient job,
            JobSettings settings,
            String webUrl,
            String prometheusUrl) {
        this.workDir = workDir;
        this.ownWorkDir = ownWorkDir;
        this.kafka = kafka;
        this.secure = secure;
        this.job = job;
        this.settings = settings;
        this.webUrl = webUrl;
        this.prometheusUrl = prometheusUrl;
    }

    public static LocalGradstream start(Options o) throws Exception {
        boolean own = o.workDir() == null;
        Path dir = own ? Files.createTempDirectory("gradstream-local-") : o.workDir();
        Files.createDirectories(dir);
        AutoCloseable kafka = null;
        SecureKafka secure = null;
        try {
            Configuration conf = new Configuration(o.flink());
            String bootstrap = o.bootstrapServers();
            Map<String, Object> adminClient = null;
            if (o.secure()) {
                if (bootstrap != null) {
                    throw new IllegalArgumentException("--secure secures the embedded broker; for an existing "
                            + "cluster give its client settings with --kafka-config FILE instead");
                }
                secure = SecureKafka.start(
                        dir, SecureKafka.Names.of(JobSettings.from(conf).kafka()), o.kafkaPort());
                kafka = secure;
                bootstrap = secure.bootstrapServers();
                // The job as principal 'job', its secrets as references to its credential file: the configuration,
                // and so the job graph and the Flink UI, hold the file's path only.
                conf.addAll(Configuration.fromMap(KafkaClients.fileReferences(secure.clientConfig(SecureKafka.JOB))));
                // Only the admin creates topics.
                adminClient = KafkaClients.config(bootstrap, secure.clientProperties(SecureKafka.ADMIN));
            } else if (bootstrap == null) {
                kafka = EmbeddedKafka.start(dir.resolve("kafka"), o.kafkaPort(), false);
                bootstrap = ((EmbeddedKafka) kafka).bootstrapServers();
            }
            conf.setString("gradstream.kafka.bootstrap-servers", bootstrap);
            JobSettings settings = JobSettings.from(conf);
            createTopics(
                    settings,
                    o.partitions(),
                    adminClient != null ? adminClient : settings.kafka().clientConfig());

            // Loopback only, and every temporary file of Flink under the work folder.
            conf.setString("rest.bind-address", "127.0.0.1");
            conf.setString("rest.address", "127.0.0.1");
            // Port 0 means any free port; pick it here so the address printed is the one that serves.
            int webPort = o.webPort() == 0 ? EmbeddedKafka.freePort() : o.webPort();
            conf.setString("rest.port", String.valueOf(webPort));
            conf.setString("jobmanager.bind-host", "127.0.0.1");
            conf.setString("jobmanager.rpc.address", "127.0.0.1");
            conf.setString("taskmanager.bind-host", "127.0.0.1");
            conf.setString("taskmanager.host", "127.0.0.1");
            conf.setString("io.tmp.dirs", dir.resolve("tmp").toString());
            conf.setString("web.upload.dir", dir.resolve("web-upload").toString());
            Files.createDirectories(dir.resolve("tmp"));
            if (!conf.containsKey("execution.checkpointing.dir")) {
                conf.setString(
                        "execution.checkpointing.dir",
                        dir.resolve("checkpoints").toUri().toString());
            }
            conf.setString("taskmanager.numberOfTaskSlots", String.valueOf(o.parallelism()));
            conf.setString("parallelism.default", String.valueOf(o.parallelism()));
            String prometheusUrl = o.prometheusPort() > 0 ? enablePrometheus(conf, o.prometheusPort()) : null;
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(JobConfig.withDefaults(conf));
            JobClient job = GradstreamJob.kafka(settings).start(env, "gradstream");
            return new LocalGradstream(
                    dir, own, kafka, secure, job, settings, "http://127.0.0.1:" + webPort, prometheusUrl);
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

    /**
     * Adds the loopback Prometheus reporter unless the configuration names its own, and returns the endpoint's URL.
     * The port is checked first because Flink only logs a reporter that fails to start, which would leave the user
     * with a silently missing endpoint.
     */
    private static String enablePrometheus(Configuration conf, int port) throws IOException {
        String prefix = "metrics.reporter." + PROMETHEUS_REPORTER + ".";
        if (conf.containsKey(prefix + "factory.class")) {
            return null;
        }
        try {
            // Bound and released at once: only whether the port is free matters here.
            new java.net.ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress()).close();
        } catch (IOException e) {
            throw new IOException("the Prometheus port 127.0.0.1:" + port + " is in use", e);
        }
        conf.setString(
                prefix + "factory.class",
                org.apache.flink.metrics.prometheus.LoopbackPrometheusReporterFactory.class.getName());
        conf.setString(prefix + "host", "127.0.0.1");
        conf.setString(prefix + "port", String.valueOf(port));
        return "http://127.0.0.1:" + port + "/metrics";
    }

    /** Creates whichever of the job's topics are missing, the parameters topic compacted. */
    public static void createTopics(JobSettings s, int partitions) throws Exception {
        createTopics(s, partitions, s.kafka().clientConfig());
    }

    /** As {@link #createTopics(JobSettings, int)}, as the client {@code adminClient} configures (a principal's). */
    public static void createTopics(JobSettings s, int partitions, Map<String, Object> adminClient) throws Exception {
        try (Admin admin = Admin.create(adminClient)) {
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

    /** The Prometheus endpoint, or {@code null} when this run has none. */
    public String prometheusUrl() {
        return prometheusUrl;
    }

    public Path workDir() {
        return workDir;
    }

    /** The secured broker, with its principals' credential files; null unless started with {@code secure}. */
    public SecureKafka secure() {
        return secure;
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

    /** Removes {@code dir} and everything in it; nothing if it does not exist. */
    public static void delete(Path dir) throws IOException {
        Folders.deleteTree(dir);
    }
}
