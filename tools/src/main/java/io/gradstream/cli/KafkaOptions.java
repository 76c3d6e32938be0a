package io.gradstream.cli;

import io.gradstream.job.GradstreamOptions;
import io.gradstream.job.JobSettings;
import io.gradstream.ops.model.ModelTarget;
import io.gradstream.ops.model.TopicReader;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The options that name a Kafka cluster, the principal to use and the job's topics, shared by {@code model} and
 * {@code export}: no Flink cluster is involved, so they work against any Kafka cluster the job uses.
 */
final class KafkaOptions {

    @Option(
            names = "--bootstrap-servers",
            paramLabel = "HOST:PORT",
            description = "Kafka brokers (default: bootstrap.servers of --kafka-config, else the job configuration's, "
                    + "else 127.0.0.1:9092).")
    String bootstrapServers;

    @Option(
            names = "--kafka-config",
            paramLabel = "FILE",
            description = "A Kafka client .properties file (as Kafka tools' --command-config): security.protocol, "
                    + "sasl.*, ssl.*; its secrets are read from the file where the client starts.")
    Path kafkaConfig;

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "The job's options file ('key: value'), for its topic names (gradstream.topics.*) and limits "
                    + "(gradstream.limits.*).")
    Path config;

    @Option(
            names = "--set",
            paramLabel = "KEY=VALUE",
            mapFallbackValue = "",
            description = "A job option, winning over --config, e.g. --set gradstream.topics.control=control-2.")
    Map<String, String> options = new LinkedHashMap<>();

    @Option(
            names = "--read-timeout",
            defaultValue = "60s",
            paramLabel = "DURATION",
            converter = DoctorCommand.DurationConverter.class,
            description = "Longest time one topic is read (default: 60s).")
    Duration readTimeout;

    @Option(
            names = "--max-records",
            defaultValue = "1000000",
            paramLabel = "N",
            description = "Most records read from one topic (default: ${DEFAULT-VALUE}).")
    long maxRecords;

    TopicReader.Bounds bounds() {
        return new TopicReader.Bounds(maxRecords, readTimeout);
    }

    /**
     * The target of a command: this principal for control, rejected and status, and {@code parametersConfig}'s (or
     * this one's when null) for the parameters topic.
     *
     * @throws IllegalArgumentException naming an invalid option
     */
    ModelTarget target(Path parametersConfig) throws IOException {
        Map<String, String> flags = new LinkedHashMap<>(options);
        if (bootstrapServers != null) {
            flags.put(GradstreamOptions.BOOTSTRAP_SERVERS.key(), bootstrapServers);
        }
        JobSettings s = JobSettings.from(ClusterOptions.layered(config, kafkaConfig, System.getenv(), flags));
        Map<String, Object> parameters = parametersConfig == null
                ? s.kafka().clientConfig()
                : JobSettings.from(ClusterOptions.layered(config, parametersConfig, System.getenv(), flags))
                        .kafka()
                        .clientConfig();
        return new ModelTarget(
                s.kafka().clientConfig(),
                parameters,
                new ModelTarget.Topics(s.controlTopic(), s.parametersTopic(), s.rejectedTopic(), s.statusTopic()),
                s.limits());
    }
}
