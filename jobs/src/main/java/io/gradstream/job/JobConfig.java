package io.gradstream.job;

import java.time.Duration;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;

/** Turns command-line arguments into a Flink {@link Configuration} and fills in gradstream's Flink defaults. */
public final class JobConfig {
    private JobConfig() {}

    /**
     * Reads a flat {@code key: value} file (the style of Flink's {@code config.yaml}, one key per line; {@code #}
     * starts a comment; {@code key=value} lines are accepted too).
     *
     * @throws IllegalArgumentException naming the file and line for anything else
     */
    public static Configuration fromFile(java.nio.file.Path file) throws java.io.IOException {
        Configuration c = new Configuration();
        java.util.List<String> lines = java.nio.file.Files.readAllLines(file);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int hash = line.indexOf(" #");
            String text = (line.startsWith("#") ? "" : hash >= 0 ? line.substring(0, hash) : line).strip();
            if (text.isEmpty()) {
                continue;
            }
            int colon = text.indexOf(": ");
            int eq = text.indexOf('=');
            int sep = colon > 0 ? colon : text.endsWith(":") ? -1 : eq;
            if (sep <= 0 || Character.isWhitespace(line.charAt(0))) {
                throw new IllegalArgumentException(file + " line " + (i + 1) + ": expected 'key: value' (flat keys "
                        + "such as gradstream.delivery: EXACTLY_ONCE), got '" + line.strip() + "'");
            }
            String value = text.substring(sep + 1).strip();
            if (value.length() >= 2
                    && (value.startsWith("\"") && value.endsWith("\"")
                            || value.startsWith("'") && value.endsWith("'"))) {
                value = value.substring(1, value.length() - 1);
            }
            c.setString(text.substring(0, sep).strip(), value);
        }
        return c;
    }

    /**
     * The configuration the job's environment starts from: on a cluster (flink run, application mode, the Kubernetes
     * operator) the cluster's {@code config.yaml} with the client's settings, locally Flink's defaults.
     */
    public static Configuration cluster() {
        org.apache.flink.configuration.ReadableConfig c =
                org.apache.flink.streaming.api.environment.StreamExecutionEnvironment.getExecutionEnvironment()
                        .getConfiguration();
        return c instanceof Configuration conf ? new Configuration(conf) : Configuration.fromMap(c.toMap());
    }

    /** Prefix of the environment variables {@link #fromEnvironment} reads as Kafka client properties. */
    public static final String KAFKA_ENV_PREFIX = "GRADSTREAM_KAFKA_";

    /**
     * gradstream settings from environment variables: {@code GRADSTREAM_<KEY>} for each of gradstream's options (the
     * key without {@code gradstream.}, upper case, '.' and '-' as '_': {@code GRADSTREAM_KAFKA_BOOTSTRAP_SERVERS} is
     * {@code gradstream.kafka.bootstrap-servers}, {@code GRADSTREAM_DELIVERY} is {@code gradstream.delivery}), and
     * {@code GRADSTREAM_KAFKA_<PROPERTY>} for any other Kafka client property (lower case, '_' as '.':
     * {@code GRADSTREAM_KAFKA_SASL_JAAS_CONFIG} is {@code gradstream.kafka.sasl.jaas.config}). Other variables are
     * ignored. Between the configuration files and the command line's flags in precedence.
     */
    public static Configuration fromEnvironment(java.util.Map<String, String> env) {
        java.util.Map<String, String> own = new java.util.HashMap<>();
        for (var option : GradstreamOptions.ALL) {
            own.put(
                    "GRADSTREAM_"
                            + io.gradstream.kafka.KafkaClients.environmentName(
                                    option.key().substring("gradstream.".length())),
                    option.key());
        }
        Configuration c = new Configuration();
        new java.util.TreeMap<>(env).forEach((name, value) -> {
            String key = own.get(name);
            if (key == null && name.startsWith(KAFKA_ENV_PREFIX) && name.length() > KAFKA_ENV_PREFIX.length()) {
                key = io.gradstream.kafka.KafkaClients.PREFIX
                        + name.substring(KAFKA_ENV_PREFIX.length())
                                .toLowerCase(java.util.Locale.ROOT)
                                .replace('_', '.');
            }
            if (key != null) {
                c.setString(key, value);
            }
        });
        return c;
    }

    /** {@code --key value} and {@code -Dkey=value} pairs. */
    public static Configuration fromArgs(String[] args) {
        Configuration c = new Configuration();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.startsWith("-D") && a.contains("=")) {
                int eq = a.indexOf('=');
                c.setString(a.substring(2, eq), a.substring(eq + 1));
            } else if (a.startsWith("--") && i + 1 < args.length) {
                c.setString(a.substring(2), args[++i]);
            } else {
                throw new IllegalArgumentException("unexpected argument '" + a + "': use --key value or -Dkey=value");
            }
        }
        return c;
    }

    /**
     * Checkpointing on (the optimizer state must survive failures): every second with exactly-once delivery, every
     * 10 s with at-least-once (see {@link #defaultCheckpointInterval}); the hashmap state backend; network buffers
     * flushed after every record; no Kryo fallback — each unless configured otherwise.
     */
    public static Configuration withDefaults(Configuration given) {
        return withDefaults(given, new Configuration());
    }

    /**
     * As {@link #withDefaults(Configuration)}, leaving alone what the cluster's configuration already sets: the job's
     * configuration overrides the cluster's, so a default filled in here would silently replace a cluster's
     * {@code state.backend.type: rocksdb}.
     */
    public static Configuration withDefaults(Configuration given, Configuration cluster) {
        Configuration c = new Configuration(given);
        if (!c.contains(CheckpointingOptions.CHECKPOINTING_INTERVAL)
                && !cluster.contains(CheckpointingOptions.CHECKPOINTING_INTERVAL)) {
            c.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, defaultCheckpointInterval(given, cluster));
        }
        if (!c.contains(StateBackendOptions.STATE_BACKEND) && !cluster.contains(StateBackendOptions.STATE_BACKEND)) {
            c.set(StateBackendOptions.STATE_BACKEND, "hashmap");
        }
        // Network buffers flush after every record instead of Flink's 100 ms: a worker waits for every step's
        // parameters, so latency, not batching, bounds training speed, and a shard's record (up to 256 KiB) fills
        // several 32 KiB buffers anyway; only its last, partial buffer would wait. Measured with gradstream bench
        // pipeline (docs/benchmarks.md): p99 74 -> 35 ms at half load with 5 ms -> 0 ms, same throughput.
        if (!c.containsKey("execution.buffer-timeout.interval")
                && !cluster.containsKey("execution.buffer-timeout.interval")) {
            c.setString("execution.buffer-timeout.interval", "0 ms");
        }
        c.setString(
                "pipeline.generic-types",
                c.getString("pipeline.generic-types", cluster.getString("pipeline.generic-types", "false")));
        return c;
    }

    /**
     * Exactly-once: updates become visible when the checkpoint after them commits their transaction, so the interval
     * is their latency: 1 s. At-least-once: a checkpoint only bounds what is replayed after a failure (replayed
     * updates carry versions consumers already hold), and each one stalls the shard operator while the Kafka sink
     * flushes its producer; measured with gradstream bench pipeline (docs/benchmarks.md), p99 latency at half load
     * 59 ms with 1 s and 31 ms with 10 s: 10 s.
     */
    static Duration defaultCheckpointInterval(Configuration given, Configuration cluster) {
        String delivery = given.getOptional(GradstreamOptions.DELIVERY).orElse(cluster.get(GradstreamOptions.DELIVERY));
        try {
            return JobSettings.delivery(delivery) == DeliveryGuarantee.AT_LEAST_ONCE
                    ? Duration.ofSeconds(10)
                    : Duration.ofSeconds(1);
        } catch (IllegalArgumentException invalid) {
            return Duration.ofSeconds(1); // JobSettings reports the invalid value
        }
    }
}
