package io.gradstream.cli;

import io.gradstream.job.GradstreamOptions;
import io.gradstream.job.JobSettings;
import io.gradstream.ops.audit.Audit;
import io.gradstream.ops.audit.AuditReport;
import io.gradstream.ops.audit.AuditTarget;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gradstream audit}: a security report of a gradstream deployment with an overall PASS, WARN or FAIL. */
@Command(
        name = "audit",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Audits a gradstream deployment, reading only: Kafka (does a client without credentials get in; the "
                    + "listeners' protocols; the authorizer; ACLs open to everyone; what the worker credentials "
                    + "may do with the job's topics), Flink's REST endpoint (TLS, client certificates, bind "
                    + "address), each model's differential privacy (settings, epsilon spent, budget, where its noise "
                    + "key is), where each secret comes from (file permissions, literal secrets in the job "
                    + "configuration) and the SBOM.",
            "Prints PASS, WARN, FAIL or INFO with a reason per finding and an overall verdict (FAIL if any "
                    + "finding fails, WARN if any warns); exits with 1 on FAIL. --json prints the same as JSON.",
            "Credentials are read from files only: Kafka client .properties files as written by "
                    + "'gradstream local --secure' (credentials/admin.properties, credentials/worker.properties); "
                    + "--kafka-config names a principal that may describe the cluster and read the control and "
                    + "parameters topics, e.g. the admin's."
        })
final class AuditCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(
            names = "--bootstrap-servers",
            paramLabel = "HOST:PORT",
            description = "Kafka brokers (default: bootstrap.servers of --kafka-config, else the job configuration's).")
    String bootstrapServers;

    @Mixin
    ClusterOptions cluster;

    @Option(
            names = "--worker-config",
            paramLabel = "FILE",
            description = "A worker's Kafka client settings: the audit checks what it may do with the job's topics.")
    Path workerConfig;

    @Option(
            names = "--sbom",
            paramLabel = "FILE",
            description = "The CycloneDX SBOM to summarise (default: jobs/target/bom.json or bom.json nearby).")
    Path sbom;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        var out = spec.commandLine().getOut();
        AuditTarget target;
        try {
            target = target();
        } catch (IOException | IllegalArgumentException e) {
            spec.commandLine().getErr().println("gradstream audit: " + e.getMessage());
            return 2;
        }
        AuditReport report = Audit.run(target);
        if (json) {
            out.println(report.json());
        } else {
            report.text().forEach(out::println);
        }
        out.flush();
        return report.exitStatus();
    }

    private AuditTarget target() throws IOException {
        Configuration c = cluster.jobConfiguration();
        Map<String, String> kafka = cluster.kafkaConfig == null ? Map.of() : properties(cluster.kafkaConfig);
        Map<String, String> worker = workerConfig == null ? null : properties(workerConfig);
        String bootstrap = bootstrapServers != null
                ? bootstrapServers
                : kafka.getOrDefault("bootstrap.servers", c.get(GradstreamOptions.BOOTSTRAP_SERVERS));
        c.set(GradstreamOptions.BOOTSTRAP_SERVERS, bootstrap);
        List<Path> files = new ArrayList<>();
        for (Path f : new Path[] {cluster.kafkaConfig, workerConfig}) {
            if (f != null) {
                files.add(f);
            }
        }
        return new AuditTarget(
                bootstrap,
                kafka,
                worker,
                JobSettings.from(c),
                new LinkedHashMap<>(cluster.jobConfiguration().toMap()),
                files,
                cluster.flinkUrl,
                sbom);
    }

    /** A Kafka client .properties file as a map. */
    static Map<String, String> properties(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + " is not a file");
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        Map<String, String> m = new LinkedHashMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
        return m;
    }
}
