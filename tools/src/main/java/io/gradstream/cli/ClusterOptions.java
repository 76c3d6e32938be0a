package io.gradstream.cli;

import io.gradstream.job.JobConfig;
import io.gradstream.kafka.KafkaClients;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Option;

/** The options that name a Flink cluster and the job's configuration, shared by {@code submit} and {@code doctor}. */
final class ClusterOptions {

    @Option(
            names = "--flink-url",
            defaultValue = "http://127.0.0.1:8081",
            paramLabel = "URL",
            description = "Flink's REST API (default: ${DEFAULT-VALUE}).")
    String flinkUrl;

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "A flat 'key: value' file of job options (gradstream.* keys, see README, or Flink keys).")
    Path config;

    @Option(
            names = "--set",
            paramLabel = "KEY=VALUE",
            mapFallbackValue = "",
            description = "A job option, winning over --config, e.g. --set "
                    + "gradstream.kafka.bootstrap-servers=kafka:9092.")
    Map<String, String> options = new LinkedHashMap<>();

    @Option(
            names = "--kafka-config",
            paramLabel = "FILE",
            description = "A Kafka client .properties file (as Kafka tools' --command-config): security.protocol, "
                    + "sasl.*, ssl.*. Its secrets reach the job as references to this file "
                    + "(${file:FILE:property}, Kafka's FileConfigProvider), never as values, so the job must find "
                    + "the file at the same path.")
    Path kafkaConfig;

    /** --config, --kafka-config, the environment (GRADSTREAM_*), then --set on top. */
    Configuration jobConfiguration() throws IOException {
        return layered(config, kafkaConfig, System.getenv(), options);
    }

    /**
     * The job configuration of a command, lowest precedence first: the {@code --config} file, the
     * {@code --kafka-config} file as {@code gradstream.kafka.*} keys with its secrets as references, the environment
     * ({@link JobConfig#fromEnvironment}), and the command line's flags.
     */
    static Configuration layered(Path config, Path kafkaConfig, Map<String, String> env, Map<String, String> flags)
            throws IOException {
        Configuration c = config == null ? new Configuration() : JobConfig.fromFile(config);
        if (kafkaConfig != null) {
            c.addAll(Configuration.fromMap(KafkaClients.fileReferences(kafkaConfig)));
        }
        c.addAll(JobConfig.fromEnvironment(env));
        flags.forEach(c::setString);
        return c;
    }
}
