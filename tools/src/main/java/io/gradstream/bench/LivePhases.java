package io.gradstream.bench;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;

/**
 * Phases 2 and 3 of a pipeline benchmark run, on the FP32 job: live publishers as fast as the job takes their
 * gradients, with a reader of the updates (live MB/s in and out), then publishers paced at half that rate for the
 * latency window (p50, p99, and the updates slower than the p99 target with their arrival times).
 */
final class LivePhases {

    /**
     * What the two phases measured.
     *
     * @param pacedPerSecond the latency phase's publishing rate, half of {@code updatesPerSecond}
     * @param latencies publish-to-visibility latency of every update of the latency phase, in µs, sorted
     * @param beforeSplit the part of each of those latencies up to the update record's timestamp (the job's send, or
     *     the broker's append: {@link LatencySplit}), in µs, sorted
     */
    record Result(
            double updatesPerSecond,
            double inputMBps,
            double outputMBps,
            double pacedPerSecond,
            long[] latencies,
            long[] beforeSplit) {}

    private LivePhases() {}

    static Result run(
            Map<String, Object> client,
            String gradientsTopic,
            String parametersTopic,
            String model,
            PipelineBenchmark.Options o,
            byte[][] payloads,
            int recordBytes,
            PrintWriter out)
            throws Exception {
        if (o.split() == LatencySplit.APPEND) {
            stampOnAppend(client, parametersTopic);
        }
        // 2. Live: publishers as fast as the job takes them and a reader of the updates, all on the same
        // machine.
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> publishers = BenchLoad.startPublishers(client, gradientsTopic, model, o, payloads, stop, 0);
        ParameterCounter counter =
                new ParameterCounter(client, parametersTopic, model, o.split().timestampType());
        counter.start();
        Thread.sleep(o.warmup().toMillis());
        long n0 = counter.updates.sum();
        long b0 = counter.bytes.sum();
        long t0 = System.nanoTime();
        Thread.sleep(o.measure().toMillis());
        long n1 = counter.updates.sum();
        long b1 = counter.bytes.sum();
        double seconds = (System.nanoTime() - t0) / 1e9;
        stop.set(true);
        for (Thread t : publishers) {
            t.join();
        }
        double updatesPerSecond = (n1 - n0) / seconds;
        double inputMBps = updatesPerSecond * recordBytes / 1e6;
        double outputMBps = (b1 - b0) / seconds / 1e6;
        out.printf(
                Locale.ROOT,
                "live: %.0f steps/s, input %.1f MB/s, output %.1f MB/s%n",
                updatesPerSecond,
                inputMBps,
                outputMBps);
        out.flush();
        // Let the backlog drain before measuring latency.
        counter.awaitQuiet(Duration.ofSeconds(2), Duration.ofMinutes(3));

        // 3. Latency at half the live load.
        double rate = updatesPerSecond / 2;
        stop.set(false);
        counter.clearLatencies();
        counter.slowMicros = (long) (PipelineReport.P99_TARGET_MS * 1000);
        counter.recordLatency = true;
        List<Thread> paced = BenchLoad.startPublishers(client, gradientsTopic, model, o, payloads, stop, rate);
        Thread.sleep(o.latency().toMillis());
        stop.set(true);
        for (Thread t : paced) {
            t.join();
        }
        counter.close();
        long[] lat = counter.latencySnapshot();
        long[] beforeSplit = counter.beforeSplitSnapshot();
        out.printf(
                Locale.ROOT,
                "latency at %.0f steps/s over %d s: p50 %.1f ms, p99 %.1f ms (%d updates); up to %s: p50 %.1f ms,"
                        + " p99 %.1f ms%n",
                rate,
                o.latency().toSeconds(),
                percentile(lat, 0.50) / 1000.0,
                percentile(lat, 0.99) / 1000.0,
                lat.length,
                o.split().point(),
                percentile(beforeSplit, 0.50) / 1000.0,
                percentile(beforeSplit, 0.99) / 1000.0);
        long unsplit = counter.unsplit.sum();
        if (unsplit > 0) {
            // The split is then over the other updates only: say so rather than let it pass for all of them.
            out.printf(
                    Locale.ROOT,
                    "%d updates not split: their record timestamp is not %s's%n",
                    unsplit,
                    o.split().point());
        }
        printSlowBursts(out, counter.slow, o.split());
        out.flush();
        return new Result(updatesPerSecond, inputMBps, outputMBps, rate, lat, beforeSplit);
    }

    /**
     * Switches {@code topic} to LogAppendTime: the broker then stamps each record with the time of its append, so that
     * a reader can tell the time before the broker stored an update from the time after it.
     */
    private static void stampOnAppend(Map<String, Object> client, String topic) throws Exception {
        try (Admin admin = Admin.create(client)) {
            admin.incrementalAlterConfigs(Map.of(
                            new ConfigResource(ConfigResource.Type.TOPIC, topic),
                            List.of(new AlterConfigOp(
                                    new ConfigEntry(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, "LogAppendTime"),
                                    AlterConfigOp.OpType.SET))))
                    .all()
                    .get(30, TimeUnit.SECONDS);
        }
    }

    /**
     * When the updates slower than the latency target arrived, grouped into bursts (gaps under 500 ms), as wall-clock
     * times that can be matched with the job's checkpoint log and a GC log ({@code -Xlog:gc:...:time}), each with its
     * largest latency and the largest part of one up to the split (which tells a stall before or in the job from one
     * after it).
     */
    private static void printSlowBursts(PrintWriter out, List<long[]> slow, LatencySplit split) {
        List<long[]> s;
        synchronized (slow) {
            s = new ArrayList<>(slow);
        }
        if (s.isEmpty()) {
            return;
        }
        s.sort(java.util.Comparator.comparingLong(x -> x[0]));
        StringBuilder b = new StringBuilder();
        int i = 0;
        while (i < s.size()) {
            long start = s.get(i)[0];
            long max = 0;
            long maxBeforeSplit = 0;
            int n = 0;
            long last = start;
            while (i < s.size() && s.get(i)[0] - last < 500) {
                last = s.get(i)[0];
                max = Math.max(max, s.get(i)[1]);
                maxBeforeSplit = Math.max(maxBeforeSplit, s.get(i)[2]);
                n++;
                i++;
            }
            b.append(b.length() == 0 ? "" : ", ")
                    .append(java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss.SSS")
                            .withZone(java.time.ZoneOffset.UTC)
                            .format(java.time.Instant.ofEpochMilli(start)))
                    .append(String.format(
                            Locale.ROOT,
                            " (%d, max %.0f ms, up to %s %.0f)",
                            n,
                            max / 1000.0,
                            split.point(),
                            maxBeforeSplit / 1000.0));
        }
        out.printf(
                Locale.ROOT,
                "updates slower than %.0f ms: %d, arriving in bursts at (UTC) %s%n",
                PipelineReport.P99_TARGET_MS,
                s.size(),
                b);
    }

    /**
     * How many of the sorted latencies exceed {@code micros}: the share of slow updates does not depend on the
     * window's length the way a percentile of a short window does.
     */
    static int countAbove(long[] sorted, long micros) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= micros) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return sorted.length - lo;
    }

    static long percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return -1;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    }
}
