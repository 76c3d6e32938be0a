package io.gradstream.job;

import io.gradstream.kafka.EmbeddedKafka;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.Uuid;

/**
 * A single-node KRaft Kafka broker in its own JVM ({@code kafka.Kafka} from the test class path) on fixed loopback
 * ports, which can be stopped and started again on the same ports and log folder, as an operator restarting a broker
 * would.
 */
final class RestartableKafka implements AutoCloseable {
    private final Path dir;
    private final Path config;
    private final int port;
    private ChildJvm jvm;
    private int starts;

    private RestartableKafka(Path dir, Path config, int port) {
        this.dir = dir;
        this.config = config;
        this.port = port;
    }

    /** Writes the broker's configuration and formats its log folder (in this JVM: no second JVM start for it). */
    static RestartableKafka format(Path dir) throws IOException {
        int port = EmbeddedKafka.freePort();
        int controllerPort = EmbeddedKafka.freePort();
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("log.dirs", dir.resolve("logs").toString());
        p.put("num.partitions", "1");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("auto.create.topics.enable", "false");
        p.put("message.max.bytes", String.valueOf(16 << 20));
        Files.createDirectories(dir.resolve("logs"));
        Path config = dir.resolve("server.properties");
        try (var out = Files.newBufferedWriter(config)) {
            p.store(out, "ChaosITCase broker");
        }
        ByteArrayOutputStream formatLog = new ByteArrayOutputStream();
        int rc = kafka.tools.StorageTool.execute(
                new String[] {"format", "-t", Uuid.randomUuid().toString(), "-c", config.toString()},
                new PrintStream(formatLog, true, StandardCharsets.UTF_8));
        if (rc != 0) {
            throw new IOException("formatting the Kafka log folder failed: " + formatLog);
        }
        return new RestartableKafka(dir, config, port);
    }

    String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    /** Starts the broker JVM without waiting for it (see {@link #awaitReady}). */
    void start() throws IOException {
        if (jvm != null && jvm.isAlive()) {
            throw new IllegalStateException("the broker is running");
        }
        starts++;
        // C1 only and the serial collector: the broker lives for a minute on two shared cores.
        jvm = ChildJvm.start(
                "kafka#" + starts,
                dir.resolve("kafka-" + starts + ".log"),
                List.of("-Xmx512m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Djava.io.tmpdir=" + dir),
                "kafka.Kafka",
                List.of(config.toString()));
    }

    /** Waits until the broker answers metadata requests, or fails with its log after {@code timeout}. */
    void awaitReady(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        // The listener first: an admin client created earlier would back off between connection attempts.
        while (!accepts()) {
            if (!jvm.isAlive()) {
                throw new AssertionError(jvm.name + " exited while starting:\n" + jvm.tail(60));
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(jvm.name + " not listening after " + timeout + ":\n" + jvm.tail(60));
            }
            Thread.sleep(100);
        }
        try (Admin admin = Admin.create(Map.of(
                "bootstrap.servers",
                bootstrapServers(),
                "request.timeout.ms",
                "2000",
                "default.api.timeout.ms",
                "3000"))) {
            while (true) {
                if (!jvm.isAlive()) {
                    throw new AssertionError(jvm.name + " exited while starting:\n" + jvm.tail(60));
                }
                try {
                    admin.describeCluster().nodes().get(3, TimeUnit.SECONDS);
                    admin.listTopics().names().get(3, TimeUnit.SECONDS);
                    return;
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError(jvm.name + " not ready after " + timeout + ":\n" + jvm.tail(60), e);
                    }
                    Thread.sleep(200);
                }
            }
        }
    }

    private boolean accepts() {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A clean stop: SIGTERM runs the broker's controlled shutdown (SIGKILL after 30 s). */
    void stop() throws InterruptedException {
        jvm.stop(Duration.ofSeconds(30));
    }

    String logTail(int lines) {
        return jvm == null ? "" : jvm.tail(lines);
    }

    @Override
    public void close() throws InterruptedException {
        if (jvm != null) {
            jvm.close();
        }
    }
}
