package io.gradstream.bench;

import io.gradstream.job.JobSettings;
import io.gradstream.kafka.EmbeddedKafka;
import io.gradstream.local.LocalGradstream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.configuration.Configuration;

/**
 * The embedded broker, the job and the work folder of one benchmark run, stopped and removed when the run ends or the
 * JVM is stopped (Ctrl-C or SIGTERM mid-run), whichever comes first.
 */
final class BenchServices implements AutoCloseable {
    private final Path dir;
    private final AtomicReference<EmbeddedKafka> kafka = new AtomicReference<>();
    private final AtomicReference<LocalGradstream> local = new AtomicReference<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread hook;

    private BenchServices(Path dir, String name) {
        this.dir = dir;
        this.hook = new Thread(this::stop, name + "-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** A fresh work folder named after {@code name}, and the hook that cleans up after a stopped JVM. */
    static BenchServices open(String name) throws IOException {
        return new BenchServices(Files.createTempDirectory("gradstream-" + name + "-"), name);
    }

    Path dir() {
        return dir;
    }

    EmbeddedKafka kafka(EmbeddedKafka started) {
        kafka.set(started);
        return started;
    }

    EmbeddedKafka kafka() {
        return kafka.get();
    }

    LocalGradstream local(LocalGradstream started) {
        local.set(started);
        return started;
    }

    LocalGradstream local() {
        return local.get();
    }

    /**
     * Starts an embedded broker in the work folder, the job's topics with {@code partitions} partitions, and the job
     * as {@code gradstream local} runs it (p = 1, Web UI on a free port) against it; returns the job's settings.
     */
    JobSettings startBrokerAndJob(Configuration base, int partitions) throws Exception {
        kafka(EmbeddedKafka.start(dir.resolve("kafka"), 0, false, Map.of()));
        Configuration flink = new Configuration(base);
        flink.setString("gradstream.kafka.bootstrap-servers", kafka().bootstrapServers());
        JobSettings s = JobSettings.from(flink);
        LocalGradstream.createTopics(s, partitions);
        local(LocalGradstream.start(
                new LocalGradstream.Options(s.bootstrapServers(), 0, 0, 1, partitions, dir.resolve("job"), flink)));
        return s;
    }

    /** Stops the job (the broker stays), e.g. before the next job of the same run starts. */
    void closeJob() throws Exception {
        LocalGradstream l = local.getAndSet(null);
        if (l != null) {
            l.close();
        }
    }

    private void stop() {
        if (closed.compareAndSet(false, true)) {
            try {
                closeJob();
                EmbeddedKafka k = kafka.get();
                if (k != null) {
                    k.close();
                }
                LocalGradstream.delete(dir);
            } catch (Exception e) {
                // best effort while the JVM exits
            }
        }
    }

    @Override
    public void close() {
        stop();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is already running
        }
    }
}
