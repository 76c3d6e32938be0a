package io.gradstream.ops.capacity;

import io.gradstream.core.codec.Encoding;
import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.core.optim.Optimizers;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The resources a model needs at a given step rate: task slots, TaskManagers, Kafka partitions and brokers, state
 * memory and checkpoint traffic, computed from per-element costs measured on this project's benchmarks. The
 * arithmetic, its inputs and their sources are in docs/scaling.md; {@link Plan#explain()} prints each line of it.
 */
public final class CapacityModel {

    /** What the service must sustain. */
    public record Workload(
            long parameters,
            double stepsPerSecond,
            String optimizer,
            Encoding gradientEncoding,
            Encoding outputEncoding,
            double topKFraction,
            int contributionsPerStep,
            int shardSize,
            boolean deltaStream) {
        public Workload {
            Objects.requireNonNull(gradientEncoding, "gradientEncoding");
            Objects.requireNonNull(outputEncoding, "outputEncoding");
            require(parameters > 0, "parameters must be positive: " + parameters);
            require(stepsPerSecond > 0 && Double.isFinite(stepsPerSecond), "steps/s must be positive");
            require(topKFraction > 0 && topKFraction <= 1, "top-k fraction must be in (0, 1]: " + topKFraction);
            require(contributionsPerStep >= 1, "contributions per step must be at least 1");
            require(shardSize >= 1, "shard size must be at least 1");
            optimizer = Optimizers.canonicalName(optimizer);
        }

        /** FP32 in and out, one contribution per step, 64 Ki shards, no delta stream. */
        public static Workload plain(long parameters, double stepsPerSecond, String optimizer) {
            return new Workload(
                    parameters, stepsPerSecond, optimizer, Encoding.FP32, Encoding.FP32, 0.01, 1, 65_536, false);
        }

        public long shards() {
            return (parameters + shardSize - 1) / shardSize;
        }
    }

    /** How the resources are cut: cores per TaskManager, replication, checkpoint interval, the heap limit. */
    public record Deployment(
            int coresPerTaskManager, int replicationFactor, double checkpointIntervalSeconds, long maxHeapBytes) {
        public Deployment {
            require(coresPerTaskManager >= 1, "cores per TaskManager must be at least 1");
            require(replicationFactor >= 1, "replication factor must be at least 1");
            require(checkpointIntervalSeconds > 0, "checkpoint interval must be positive");
            require(maxHeapBytes > 0, "heap limit must be positive");
        }

        /** 8-core TaskManagers, replication 3, checkpoints every 10 s, a 32 GiB heap before RocksDB is chosen. */
        public static Deployment standard() {
            return new Deployment(8, 3, 10, 32L << 30);
        }
    }

    /** The result, with every intermediate quantity. */
    public record Plan(
            Workload workload,
            Deployment deployment,
            double bytesInPerElement,
            double bytesOutPerElement,
            double slotNsPerElementStep,
            double elementStepsPerSlotSecond,
            int slots,
            int taskManagers,
            double gradientBytesPerSecond,
            double parameterBytesPerSecond,
            int gradientPartitions,
            int parameterPartitions,
            int brokers,
            double stateBytesPerParameter,
            double stateBytes,
            String stateBackend,
            double heapBytesPerTaskManager,
            double networkBytesPerTaskManager,
            double checkpointBytesPerSecond,
            double checkpointSecondsPerTaskManager) {

        private static void line(List<String> lines, String format, Object... args) {
            lines.add(String.format(Locale.ROOT, format, args));
        }

        /** One line per quantity, with the arithmetic that gives it. */
        public List<String> explain() {
            Workload w = workload;
            List<String> lines = new ArrayList<>();
            line(
                    lines,
                    "workload: %s parameters (%,d shards of %,d), %s steps/s, %s, %s in x %d contribution(s)/step,"
                            + " %s out%s",
                    human(w.parameters()),
                    w.shards(),
                    w.shardSize(),
                    num(w.stepsPerSecond()),
                    w.optimizer(),
                    w.gradientEncoding(),
                    w.contributionsPerStep(),
                    w.outputEncoding(),
                    w.deltaStream() ? " (delta stream)" : "");
            line(
                    lines,
                    "bytes/element: in %.3f, out %.3f (payload and record overhead)",
                    bytesInPerElement,
                    bytesOutPerElement);
            line(
                    lines,
                    "slot time per element step: %.2f ns -> %s element steps/s per slot",
                    slotNsPerElementStep,
                    human(elementStepsPerSlotSecond));
            line(
                    lines,
                    "slots: ceil(%s x %s / %s) = %d; TaskManagers of %d cores: %d",
                    human(w.parameters()),
                    num(w.stepsPerSecond()),
                    human(elementStepsPerSlotSecond),
                    slots,
                    deployment.coresPerTaskManager(),
                    taskManagers);
            line(
                    lines,
                    "kafka: gradients %s/s -> %d partitions, parameters %s/s -> %d partitions, brokers (x%d"
                            + " replication): %d; network per TaskManager %s/s",
                    bytes(gradientBytesPerSecond),
                    gradientPartitions,
                    bytes(parameterBytesPerSecond),
                    parameterPartitions,
                    deployment.replicationFactor(),
                    brokers,
                    bytes(networkBytesPerTaskManager));
            line(
                    lines,
                    "state: %.1f B/parameter -> %s; backend %s, heap per TaskManager %s",
                    stateBytesPerParameter,
                    bytes(stateBytes),
                    stateBackend,
                    bytes(heapBytesPerTaskManager));
            line(
                    lines,
                    "checkpoints every %s s: %s/s to storage, %.1f s of writing per TaskManager each",
                    num(deployment.checkpointIntervalSeconds()),
                    bytes(checkpointBytesPerSecond),
                    checkpointSecondsPerTaskManager);
            if (checkpointSecondsPerTaskManager > deployment.checkpointIntervalSeconds()) {
                line(
                        lines,
                        "warning: a checkpoint takes longer to write (%.1f s) than the interval (%s s): lengthen the"
                                + " interval (at-least-once tolerates minutes), or spread the state over more"
                                + " TaskManagers",
                        checkpointSecondsPerTaskManager,
                        num(deployment.checkpointIntervalSeconds()));
            }
            return lines;
        }
    }

    private final Rates rates;

    public CapacityModel(Rates rates) {
        this.rates = Objects.requireNonNull(rates, "rates");
    }

    /**
     * Per element and step, a slot spends {@code byteCost x (contributions x bytesIn + bytesOut)} moving records,
     * {@code elementCost} on the shard's bookkeeping and {@code contributions x decode + step + encode} computing; the slots needed are the element steps per second
     * divided by what one slot does in a second.
     */
    public Plan plan(Workload w, Deployment d) {
        double shard = w.shardSize();
        double overhead = rates.recordOverheadBytes() / shard;
        double in = payloadBytes(w.gradientEncoding(), w.topKFraction(), w.shardSize()) / shard + overhead;
        Encoding outEncoding = w.deltaStream() ? w.outputEncoding() : denseOf(w.outputEncoding());
        double out = payloadBytes(outEncoding, w.topKFraction(), w.shardSize()) / shard + overhead;
        int k = w.contributionsPerStep();
        double compute = k * rates.decode(w.gradientEncoding()) + rates.step(w.optimizer()) + rates.encode(outEncoding);
        double slotNs = rates.byteCostNs() * (k * in + out) + rates.elementCostNs() + compute;
        double perSlot = 1e9 / slotNs;
        double elementSteps = w.parameters() * w.stepsPerSecond();
        int slots = (int) Math.min(Integer.MAX_VALUE, Math.ceil(elementSteps / perSlot));
        int tms = ceilDiv(slots, d.coresPerTaskManager());

        double gradBps = elementSteps * k * in;
        double paramBps = elementSteps * out;
        int gradParts = Math.max(slots, (int) Math.ceil(gradBps / rates.partitionBytesPerSecond()));
        int paramParts = Math.max(slots, (int) Math.ceil(paramBps / rates.partitionBytesPerSecond()));
        int brokers = (int) Math.ceil((gradBps + paramBps) * d.replicationFactor() / rates.brokerBytesPerSecond());
        brokers = Math.max(brokers, d.replicationFactor());

        double perParam = stateBytesPerParameter(w);
        double state = perParam * w.parameters() + SHARD_HEADER_BYTES * w.shards();
        double statePerTm = state / tms;
        // The heap backend snapshots asynchronously with copy-on-write: a shard stepped during the snapshot exists
        // twice until the snapshot has written it, so the heap must hold up to twice the state.
        boolean heap = 2 * statePerTm + BASE_HEAP_BYTES <= d.maxHeapBytes();
        double heapPerTm = heap ? 2 * statePerTm + BASE_HEAP_BYTES : BASE_HEAP_BYTES;
        // Every shard that stepped since the last checkpoint is written again: at >= 1 step per interval, all of them.
        double cpBps = state / d.checkpointIntervalSeconds();
        double cpSeconds = statePerTm / rates.checkpointBytesPerSecond();
        return new Plan(
                w,
                d,
                in,
                out,
                slotNs,
                perSlot,
                slots,
                tms,
                gradBps,
                paramBps,
                gradParts,
                paramParts,
                brokers,
                perParam,
                state,
                heap ? "hashmap" : "rocksdb",
                heapPerTm,
                (gradBps + paramBps) / tms,
                cpBps,
                cpSeconds);
    }

    /** Key, model/tensor names, ids and Kafka's record framing of one 64 Ki-shard gradient, beside the payload. */
    static final int RECORD_OVERHEAD_BYTES = 128;

    /**
     * A markdown table of the plans of {@code workloads}: the one docs/scaling.md shows (a test regenerates it), and
     * what {@code gradstream capacity --table} prints.
     */
    public String table(List<Workload> workloads, Deployment d) {
        StringBuilder t = new StringBuilder(
                "| parameters | steps/s | in / out | slots | TaskManagers | partitions (gradients / parameters)"
                        + " | brokers | Kafka in + out | network per TM | state | backend | heap per TM"
                        + " | checkpoint write |\n"
                        + "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n");
        for (Workload w : workloads) {
            Plan p = plan(w, d);
            t.append(String.format(
                    Locale.ROOT,
                    "| %s | %s | %s / %s | %,d | %,d | %,d / %,d | %,d | %s/s | %s/s | %s | %s | %s | %s/s |\n",
                    human(w.parameters()),
                    num(w.stepsPerSecond()),
                    w.gradientEncoding(),
                    w.deltaStream() ? w.outputEncoding() + " deltas" : denseOf(w.outputEncoding()),
                    p.slots(),
                    p.taskManagers(),
                    p.gradientPartitions(),
                    p.parameterPartitions(),
                    p.brokers(),
                    bytes(p.gradientBytesPerSecond() + p.parameterBytesPerSecond()),
                    bytes(p.networkBytesPerTaskManager()),
                    bytes(p.stateBytes()),
                    p.stateBackend(),
                    bytes(p.heapBytesPerTaskManager()),
                    bytes(p.checkpointBytesPerSecond())));
        }
        return t.toString();
    }

    /**
     * The sizes docs/scaling.md sizes: 10 M, 1 G and 10 G parameters of Adam at 1, 10 and 100 steps/s, with FP32 and
     * with BF16 gradients and snapshots, one contribution per step, 64 Ki shards.
     */
    public static List<Workload> standardWorkloads() {
        List<Workload> out = new ArrayList<>();
        for (Encoding e : List.of(Encoding.FP32, Encoding.BF16)) {
            for (long params : new long[] {10_000_000L, 1_000_000_000L, 10_000_000_000L}) {
                for (double steps : new double[] {1, 10, 100}) {
                    out.add(new Workload(params, steps, "Adam", e, e, 0.01, 1, 65_536, false));
                }
            }
        }
        return out;
    }

    /** Bytes of the shard state serializer's header and bookkeeping per shard (format 3), beside the arrays. */
    static final int SHARD_HEADER_BYTES = 256;

    /** Flink's own heap (network buffers, Kafka clients' buffers, framework) per TaskManager. */
    static final long BASE_HEAP_BYTES = 2L << 30;

    /**
     * Float32 parameters and one float32 per optimizer slot (Adam: p, exp_avg, exp_avg_sq = 12 B), plus the
     * subscribers' copy of a delta stream (4 B) and the pending sum of a SYNC step that waits for more than one
     * contribution (4 B).
     */
    public static double stateBytesPerParameter(Workload w) {
        // Slots depend on the optimizer, not on the learning rate (SGD alone requires one to be given).
        int slots = Optimizers.create(w.optimizer(), Map.of("lr", 1e-3)).slots().size();
        return 4.0 * (1 + slots) + (w.deltaStream() ? 4 : 0) + (w.contributionsPerStep() > 1 ? 4 : 0);
    }

    /** The payload bytes of one shard in {@code e} (TOPK sends ceil(fraction x n) index/value pairs). */
    static double payloadBytes(Encoding e, double topKFraction, int n) {
        if (e == Encoding.TOPK) {
            int k = (int) Math.ceil(topKFraction * n);
            return PayloadCodecs.topK(k).maxEncodedSize(n);
        }
        return PayloadCodecs.forEncoding(e).maxEncodedSize(n);
    }

    /** Full snapshots cannot be sparse: without a delta stream, TOPK output means FP32 snapshots. */
    private static Encoding denseOf(Encoding e) {
        return e == Encoding.TOPK ? Encoding.FP32 : e;
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    static String human(double v) {
        String[] units = {"", " k", " M", " G", " T", " P"};
        int u = 0;
        while (Math.abs(v) >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return num(v) + units[u];
    }

    static String bytes(double b) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        int u = 0;
        while (Math.abs(b) >= 1024 && u < units.length - 1) {
            b /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", b, units[u]);
    }

    static String num(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15
                ? Long.toString((long) v)
                : String.format(Locale.ROOT, "%.3g", v);
    }
}
