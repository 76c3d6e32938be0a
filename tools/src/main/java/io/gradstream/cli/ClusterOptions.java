package io.gradstream.cli;

import io.gradstream.job.JobConfig;
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

    /** --config, then --set on top. */
    Configuration jobConfiguration() throws IOException {
        Configuration c = config == null ? new Configuration() : JobConfig.fromFile(config);
        options.forEach(c::setString);
        return c;
    }
}
