package io.gradstream.job;

import java.time.Duration;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;

/** Turns command-line arguments into a Flink {@link Configuration} and fills in gradstream's Flink defaults. */
public final class JobConfig {
    private JobConfig() {
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
     * Checkpointing every second (exactly-once) with the hashmap state backend unless configured otherwise (the
     * optimizer state must survive failures, so checkpointing is on by default), a 5 ms network buffer timeout, and
     * no Kryo fallback.
     */
    public static Configuration withDefaults(Configuration given) {
        Configuration c = new Configuration(given);
        if (!c.contains(CheckpointingOptions.CHECKPOINTING_INTERVAL)) {
            c.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofSeconds(1));
        }
        if (!c.contains(StateBackendOptions.STATE_BACKEND)) {
            c.set(StateBackendOptions.STATE_BACKEND, "hashmap");
        }
        // Network buffers flush after at most 5 ms instead of Flink's 100 ms: a worker waits for every step's
        // parameters, so latency, not batching, bounds training speed.
        if (!c.containsKey("execution.buffer-timeout.interval")) {
            c.setString("execution.buffer-timeout.interval", "5 ms");
        }
        c.setString("pipeline.generic-types", c.getString("pipeline.generic-types", "false"));
        return c;
    }
}
