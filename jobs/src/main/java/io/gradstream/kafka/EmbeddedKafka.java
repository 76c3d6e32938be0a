package io.gradstream.kafka;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

/**
 * A single-node Kafka 4 broker in KRaft mode inside this JVM, listening on 127.0.0.1 only, with its log in a folder
 * that {@link #close()} deletes. For {@code gradstream local} and the integration tests.
 */
public final class EmbeddedKafka implements AutoCloseable {
    /** How often the embedded broker writes its log to disk (its {@code log.flush.interval.ms}). */
    public static final long FLUSH_INTERVAL_MS = 500;

    /** The embedded broker's log cleaner's read plus write rate (its {@code log.cleaner.io.max.bytes.per.second}). */
    public static final long CLEANER_BYTES_PER_SECOND = 50L << 20;

    private final KafkaRaftServer server;
    private final Path dir;
    private final int port;
    private final boolean deleteDir;

    private EmbeddedKafka(KafkaRaftServer server, Path dir, int port, boolean deleteDir) {
        this.server = server;
        this.dir = dir;
        this.port = port;
        this.deleteDir = deleteDir;
    }

    /** Starts a broker on free loopback ports with its data in a new temporary folder. */
    public static EmbeddedKafka start() throws IOException {
        return start(Files.createTempDirectory("gradstream-kafka-"), 0, true);
    }

    /**
     * @param port the client port, or 0 for a free one
     * @param deleteDir whether {@link #close()} removes {@code dir}
     */
    public static EmbeddedKafka start(Path dir, int port, boolean deleteDir) throws IOException {
        return start(dir, port, deleteDir, java.util.Map.of());
    }

    /** As {@link #start(Path, int, boolean)}, with broker properties added or replaced by {@code overrides}. */
    public static EmbeddedKafka start(Path dir, int port, boolean deleteDir, java.util.Map<String, String> overrides)
            throws IOException {
        return start(dir, port, deleteDir, overrides, List.of());
    }

    /**
     * As {@link #start(Path, int, boolean, java.util.Map)}, with {@code formatArgs} added to the storage format
     * command, e.g. {@code --add-scram SCRAM-SHA-512=[name=admin,password=...]} for credentials that must exist before
     * the broker first starts. The broker's configuration file is readable by its owner only, since overrides may
     * hold passwords; with format arguments, a failed format's output goes to a file of the same kind instead of the
     * exception message, since it may echo them.
     */
    public static EmbeddedKafka start(
            Path dir, int port, boolean deleteDir, java.util.Map<String, String> overrides, List<String> formatArgs)
            throws IOException {
        int clientPort = port == 0 ? freePort() : port;
        int controllerPort = freePort();
        Path logs = dir.resolve("logs");
        Files.createDirectories(logs);
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + clientPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + clientPort);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("log.dirs", logs.toString());
        p.put("num.partitions", "1");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("auto.create.topics.enable", "false");
        // gradstream's records are shards of up to a few MiB.
        p.put("message.max.bytes", String.valueOf(16 << 20));
        p.put("replica.fetch.max.bytes", String.valueOf(16 << 20));
        // Write the log to disk every half second instead of leaving it to the kernel. This broker shares its machine
        // with the job; at ~100 MB/s the kernel lets a gigabyte or more of it sit dirty in the page cache and then
        // writes it back at once, and updates published during such a write-back arrived in bursts 60-500 ms late
        // (docs/benchmarks.md, "Page-cache write-back"). Kafka's own flusher, on a thread of its own and outside the
        // log's lock, keeps what is dirty to about half a second of traffic.
        p.put("log.flush.interval.ms", String.valueOf(FLUSH_INTERVAL_MS));
        p.put("log.flush.scheduler.interval.ms", String.valueOf(FLUSH_INTERVAL_MS / 5));
        // Compact the parameters topic at a steady pace rather than in bursts of a whole vCPU: unthrottled, the log
        // cleaner was among the busiest threads at the bursts of late updates that remained (same section). A cleaner
        // that falls behind costs disk space until it catches up; readers see the latest value of every key either way.
        p.put("log.cleaner.io.max.bytes.per.second", String.valueOf(CLEANER_BYTES_PER_SECOND));
        p.putAll(overrides);
        Path config = ownerOnlyFile(dir.resolve("server.properties"));
        try (var out = Files.newBufferedWriter(config)) {
            p.store(out, "gradstream embedded broker");
        }
        List<String> format =
                new ArrayList<>(List.of("format", "-t", Uuid.randomUuid().toString(), "-c"));
        format.add(config.toString());
        format.addAll(formatArgs);
        ByteArrayOutputStream formatLog = new ByteArrayOutputStream();
        int rc = StorageTool.execute(
                format.toArray(String[]::new), new PrintStream(formatLog, true, StandardCharsets.UTF_8));
        if (rc != 0) {
            if (formatArgs.isEmpty()) {
                throw new IOException("formatting the Kafka log folder failed: " + formatLog);
            }
            Path log = ownerOnlyFile(dir.resolve("format.log"));
            Files.write(log, formatLog.toByteArray());
            throw new IOException("formatting the Kafka log folder failed; see " + log);
        }
        KafkaRaftServer server = new KafkaRaftServer(new KafkaConfig(p, false), Time.SYSTEM);
        server.startup();
        return new EmbeddedKafka(server, dir, clientPort, deleteDir);
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    @Override
    public void close() throws IOException {
        server.shutdown();
        server.awaitShutdown();
        if (deleteDir) {
            Folders.deleteTree(dir);
        }
    }

    /**
     * Creates {@code file} (or empties it) readable and writable by its owner only, before anything is written to it,
     * on file systems with POSIX permissions (elsewhere the folder's own permissions apply).
     */
    public static Path ownerOnlyFile(Path file) throws IOException {
        Files.deleteIfExists(file);
        try {
            return Files.createFile(
                    file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException notPosix) {
            return Files.createFile(file);
        }
    }

    /** Creates {@code dir} (and its parents) with only its owner allowed in, where POSIX permissions exist. */
    public static Path ownerOnlyDirectory(Path dir) throws IOException {
        Files.createDirectories(dir);
        try {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        } catch (UnsupportedOperationException notPosix) {
            // The parent folder's permissions apply.
        }
        return dir;
    }

    /** A free TCP port on 127.0.0.1 (free when asked; another process may take it before it is bound). */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
