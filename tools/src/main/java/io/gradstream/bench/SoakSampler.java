package io.gradstream.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.job.JobSettings;
import io.gradstream.ops.FlinkRest;
import io.gradstream.ops.FlinkRestException;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Takes the soak's samples: heap used after a full GC of this JVM (broker, job and load share it), the latest
 * checkpoint's size and duration and the restarts from Flink's REST API, the job's consumer lag as Kafka sees it
 * (committed at checkpoints), rejections and applied updates.
 */
final class SoakSampler implements AutoCloseable {

    private final FlinkRest rest;
    private final String jobId;
    private final JobSettings settings;
    private final LongSupplier rejected;
    private final Admin admin;
    private final KafkaConsumer<byte[], byte[]> offsets;
    private final List<TopicPartition> gradients;
    private final List<TopicPartition> parameters;
    private long start = System.nanoTime();
    private double lastSeconds = -1;
    private long lastUpdates;

    SoakSampler(FlinkRest rest, String jobId, JobSettings settings, LongSupplier rejected) {
        this.rest = rest;
        this.jobId = jobId;
        this.settings = settings;
        this.rejected = rejected;
        this.admin = Admin.create(settings.kafka().clientConfig());
        Properties p = new Properties();
        p.putAll(settings.kafka().clientConfig());
        this.offsets = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.gradients = partitions(settings.gradientsTopic());
        this.parameters = partitions(settings.parametersTopic());
    }

    private List<TopicPartition> partitions(String topic) {
        return offsets.partitionsFor(topic).stream()
                .map(i -> new TopicPartition(topic, i.partition()))
                .toList();
    }

    /** Records on the parameters topic so far: updates and initial values (a cheap progress counter). */
    long updates() {
        return offsets.endOffsets(parameters).values().stream()
                .mapToLong(Long::longValue)
                .sum();
    }

    /** Samples count their seconds from here: the start of the steady phase. */
    void startClock() {
        start = System.nanoTime();
        lastSeconds = 0;
        lastUpdates = updates();
    }

    SoakAnalysis.Sample sample() throws Exception {
        double heap = heapAfterGcMiB();
        double seconds = (System.nanoTime() - start) / 1e9;
        JsonNode cp = rest.get("jobs/" + jobId + "/checkpoints");
        JsonNode latest = cp.path("latest").path("completed");
        long id = latest.isObject() ? latest.path("id").asLong(-1) : -1;
        long state = latest.isObject() ? latest.path("state_size").asLong(0) : 0;
        long millis = latest.isObject() ? latest.path("end_to_end_duration").asLong(0) : 0;
        long updates = updates();
        double rate = lastSeconds < 0 ? 0 : (updates - lastUpdates) / Math.max(1e-3, seconds - lastSeconds);
        lastSeconds = seconds;
        lastUpdates = updates;
        return new SoakAnalysis.Sample(
                seconds,
                heap,
                state,
                id,
                millis,
                cp.path("counts").path("completed").asLong(),
                cp.path("counts").path("failed").asLong(),
                restarts(),
                lag(),
                rejected.getAsLong(),
                updates,
                rate);
    }

    /** Flink's job-level {@code numRestarts}; a job that is no longer RUNNING counts as restarted too. */
    private long restarts() throws FlinkRestException {
        long n = 0;
        for (JsonNode m : rest.get("jobs/" + jobId + "/metrics?get=numRestarts")) {
            n = Math.max(n, m.path("value").asLong(0));
        }
        String state = rest.jobState(jobId);
        return "RUNNING".equals(state) ? n : Math.max(1, n);
    }

    /** Gradient records not yet covered by the job's committed offsets (it commits when a checkpoint completes). */
    private long lag() throws Exception {
        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(settings.groupId())
                .partitionsToOffsetAndMetadata()
                .get(10, TimeUnit.SECONDS);
        long lag = 0;
        for (var e : offsets.endOffsets(gradients).entrySet()) {
            OffsetAndMetadata c = committed.get(e.getKey());
            lag += e.getValue() - (c == null ? 0 : c.offset());
        }
        return lag;
    }

    /**
     * Heap used right after a full collection. {@code System.gc()} is a stop-the-world full GC on G1 and Parallel
     * (unless -XX:+ExplicitGCInvokesConcurrent); the collector's own after-GC figure excludes what other threads
     * allocate between the collection and this read.
     */
    static double heapAfterGcMiB() {
        List<GarbageCollectorMXBean> gcs = ManagementFactory.getGarbageCollectorMXBeans();
        List<Long> before = new ArrayList<>();
        for (GarbageCollectorMXBean b : gcs) {
            before.add(b.getCollectionCount());
        }
        System.gc();
        long best = -1;
        long bestEnd = -1;
        for (int i = 0; i < gcs.size(); i++) {
            if (gcs.get(i) instanceof com.sun.management.GarbageCollectorMXBean b
                    && b.getCollectionCount() > before.get(i)
                    && b.getLastGcInfo() != null
                    && b.getLastGcInfo().getEndTime() > bestEnd) {
                var info = b.getLastGcInfo();
                bestEnd = info.getEndTime();
                best = 0;
                for (var pool : ManagementFactory.getMemoryPoolMXBeans()) {
                    MemoryUsage u = info.getMemoryUsageAfterGc().get(pool.getName());
                    if (pool.getType() == MemoryType.HEAP && u != null) {
                        best += u.getUsed();
                    }
                }
            }
        }
        if (best < 0) {
            best = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        }
        return best / (1024.0 * 1024.0);
    }

    static final String CSV_HEADER = "seconds,heap_after_gc_mib,state_bytes,checkpoint_id,checkpoint_ms,"
            + "checkpoints_completed,checkpoints_failed,restarts,lag_records,rejected,updates,updates_per_s";

    static void writeCsv(Path file, List<SoakAnalysis.Sample> samples) throws IOException {
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(file))) {
            w.println(CSV_HEADER);
            for (SoakAnalysis.Sample s : samples) {
                w.printf(
                        Locale.ROOT,
                        "%.1f,%.3f,%d,%d,%d,%d,%d,%d,%d,%d,%d,%.1f%n",
                        s.seconds(),
                        s.heapAfterGcMiB(),
                        s.stateBytes(),
                        s.checkpointId(),
                        s.checkpointMillis(),
                        s.checkpointsCompleted(),
                        s.checkpointsFailed(),
                        s.restarts(),
                        s.lag(),
                        s.rejected(),
                        s.updates(),
                        s.updatesPerSecond());
            }
        }
    }

    /** The soak's panels; the heap panel carries the fitted line over the second half. */
    static void writePng(Path file, String title, List<SoakAnalysis.Sample> samples, SoakAnalysis.Verdict v)
            throws IOException {
        double[] t = samples.stream().mapToDouble(s -> s.seconds() / 60).toArray();
        List<SoakAnalysis.Sample> second = samples.stream()
                .filter(s -> s.seconds() >= v.secondHalfFromSeconds())
                .toList();
        List<PngPlot.Panel> panels = List.of(
                new PngPlot.Panel(
                        String.format(
                                Locale.ROOT,
                                "heap used after full GC, MiB (fit over the second " + "half: %+.3f MiB/min ± %.3f)",
                                v.heap().slope(),
                                v.heap().slopeError()),
                        t,
                        samples.stream()
                                .mapToDouble(SoakAnalysis.Sample::heapAfterGcMiB)
                                .toArray(),
                        v.secondHalfFromSeconds() / 60,
                        v.heap().slope(),
                        v.heap().intercept()),
                // The warm-up's step would flatten a slow trend in the full-range panel: the judged half on its own.
                new PngPlot.Panel(
                        "the same over the second half only (the judged samples), MiB",
                        second.stream().mapToDouble(s -> s.seconds() / 60).toArray(),
                        second.stream()
                                .mapToDouble(SoakAnalysis.Sample::heapAfterGcMiB)
                                .toArray(),
                        v.secondHalfFromSeconds() / 60,
                        v.heap().slope(),
                        v.heap().intercept()),
                new PngPlot.Panel(
                        "checkpointed state size, MiB",
                        t,
                        samples.stream()
                                .mapToDouble(s -> s.stateBytes() / 1048576.0)
                                .toArray()),
                new PngPlot.Panel(
                        "duration of the latest completed checkpoint, ms",
                        t,
                        samples.stream()
                                .mapToDouble(SoakAnalysis.Sample::checkpointMillis)
                                .toArray()),
                new PngPlot.Panel(
                        "consumer lag of the job (gradients not yet committed), records",
                        t,
                        samples.stream().mapToDouble(SoakAnalysis.Sample::lag).toArray()),
                new PngPlot.Panel(
                        "parameter updates per second",
                        t,
                        samples.stream()
                                .mapToDouble(SoakAnalysis.Sample::updatesPerSecond)
                                .toArray()),
                new PngPlot.Panel(
                        "rejected records, total (restarts of the job: " + v.restarts() + ")",
                        t,
                        samples.stream()
                                .mapToDouble(SoakAnalysis.Sample::rejected)
                                .toArray()));
        PngPlot.write(file, title, "min", panels);
    }

    @Override
    public void close() {
        offsets.close();
        admin.close();
    }
}
