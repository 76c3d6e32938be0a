package io.gradstream.ops.model;

import io.gradstream.core.shard.TensorLayout;
import io.gradstream.model.ModelLayouts;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.StatusEvent;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * One model's status from the topics: its state and spec (control), the versions of its tensors' shards, ε spent and
 * the time of its last update (parameters), its rejections among the last records of {@code rejected}, and its status
 * events. Each topic is read bounded in records and time; a topic this principal may not read is reported, not fatal.
 */
public final class ModelStatus {
    /** Records read from the end of each partition of {@code rejected} by default. */
    public static final long DEFAULT_REJECTED_TAIL = 100_000;

    /** A tensor's versions: the smallest and largest over the shards that published one, and how many did. */
    public record Versions(long min, long max, int shards, int shardCount) {}

    private final String model;
    private ControlHistory.Model control;
    private final List<String> notes = new ArrayList<>();
    private final Map<String, long[]> versions = new TreeMap<>();
    /** Delta streams: each shard's newest full snapshot, and how many DELTA updates were read. */
    private final Map<String, long[]> fullVersions = new TreeMap<>();

    private long deltas;
    private Double epsilon;
    private long lastUpdateMs;
    private long lastPublishedAtMs;
    private long parameterRecords;
    private final Map<String, Long> rejections = new TreeMap<>();
    private long rejectedScanned;
    private final List<String> events = new ArrayList<>();

    private ModelStatus(String model) {
        this.model = model;
    }

    /** Reads the status of {@code model}; {@code rejectedTail} records per partition of {@code rejected}. */
    public static ModelStatus read(ModelTarget t, String model, long rejectedTail, TopicReader.Bounds bounds) {
        ModelStatus s = new ModelStatus(model);
        try {
            s.control = ControlHistory.read(t, bounds).model(model);
        } catch (TopicReader.TopicException e) {
            s.notes.add("state unknown: " + e.getMessage());
        }
        s.readParameters(t, bounds);
        s.readRejected(t, rejectedTail, bounds);
        s.readEvents(t, bounds);
        return s;
    }

    /** Whether anything names the model: a CREATE on control, or parameters. */
    public boolean known() {
        return control != null || parameterRecords > 0;
    }

    public ControlHistory.Model control() {
        return control;
    }

    /** Each tensor's versions, by name; shard counts from the model's spec when the control topic was readable. */
    public Map<String, Versions> versions() {
        Map<String, TensorLayout> layouts = control == null ? Map.of() : ModelLayouts.of(control.spec());
        Map<String, Versions> out = new LinkedHashMap<>();
        List<String> names = new ArrayList<>(layouts.keySet());
        versions.keySet().stream().filter(n -> !layouts.containsKey(n)).forEach(names::add);
        for (String name : names) {
            long[] v = versions.get(name);
            int count = layouts.containsKey(name) ? layouts.get(name).shardCount() : v == null ? 0 : v.length;
            if (v == null) {
                out.put(name, new Versions(-1, -1, 0, count));
                continue;
            }
            long min = Long.MAX_VALUE;
            long max = -1;
            int seen = 0;
            for (int i = 0; i < Math.min(v.length, Math.max(count, 1)); i++) {
                if (v[i] >= 0) {
                    min = Math.min(min, v[i]);
                    max = Math.max(max, v[i]);
                    seen++;
                }
            }
            out.put(name, new Versions(seen == 0 ? -1 : min, max, seen, count));
        }
        return out;
    }

    /** The largest ε spent its parameters report, or null (not private, or no step yet). */
    public Double epsilon() {
        return epsilon;
    }

    /** Rejections of the model among the records read from {@code rejected}, by reason. */
    public Map<String, Long> rejections() {
        return rejections;
    }

    /** The status as lines for the terminal. */
    public List<String> lines() {
        List<String> out = new ArrayList<>();
        if (control != null) {
            var spec = control.spec();
            var a = spec.getAggregation();
            out.add(String.format(
                    Locale.ROOT,
                    "model %s: %s, %s, %s aggregation%s, created %s%s",
                    model,
                    control.state(),
                    spec.getOptimizer(),
                    a.getMode(),
                    a.getMode().name().equals("SYNC")
                            ? " of " + a.getWorkers() + " worker" + (a.getWorkers() == 1 ? "" : "s")
                            : " (max staleness " + a.getMaxStaleness() + ")",
                    Instant.ofEpochMilli(control.createdAtMs()),
                    control.updates() == 0 ? "" : ", " + control.updates() + " update(s)"));
            out.add("  hyperparameters: " + spec.getHyperparameters()
                    + (spec.getLrSchedule() == null
                            ? ""
                            : ", schedule " + spec.getLrSchedule().getName()));
        } else {
            out.add("model " + model + ":" + (notes.isEmpty() ? " no CREATE on the control topic" : ""));
        }
        versions()
                .forEach((name, v) -> out.add(String.format(
                        Locale.ROOT,
                        "  tensor %s: %s over %d/%d shards",
                        name,
                        v.shards() == 0
                                ? "no version yet"
                                : v.min() == v.max() ? "version " + v.max() : "versions " + v.min() + ".." + v.max(),
                        v.shards(),
                        v.shardCount())));
        if (deltas > 0) {
            long min = Long.MAX_VALUE;
            long max = -1;
            for (long[] v : fullVersions.values()) {
                for (long x : v) {
                    if (x >= 0) {
                        min = Math.min(min, x);
                        max = Math.max(max, x);
                    }
                }
            }
            out.add("  delta stream: "
                    + (max < 0
                            ? "no full snapshot on the topic"
                            : "newest full snapshots at versions " + min + ".." + max)
                    + " (gradstream model snapshot " + model + " publishes one now)");
        }
        var privacy = control == null ? null : control.spec().getPrivacy();
        if (privacy != null || epsilon != null) {
            out.add(String.format(
                    Locale.ROOT,
                    "  epsilon spent: %s%s%s",
                    epsilon == null ? "none yet" : String.format(Locale.ROOT, "%.4g", epsilon),
                    privacy == null || privacy.getTargetEpsilon() == null
                            ? ""
                            : String.format(Locale.ROOT, " of target %.4g", privacy.getTargetEpsilon()),
                    privacy == null ? "" : " (" + accounting(control.privacyAccounting()) + ")"));
        } else if (control != null) {
            out.add("  epsilon spent: not private");
        }
        out.add(
                lastUpdateMs == 0
                        ? "  last update: none"
                        : "  last update: " + Instant.ofEpochMilli(lastUpdateMs)
                                + (lastPublishedAtMs == 0
                                        ? ""
                                        : " (newest contribution published " + Instant.ofEpochMilli(lastPublishedAtMs)
                                                + ")"));
        long total = rejections.values().stream().mapToLong(Long::longValue).sum();
        List<String> by = new ArrayList<>();
        rejections.forEach((reason, n) -> by.add(reason + " " + n));
        out.add("  rejections: " + total + " in the last " + rejectedScanned + " records of rejected"
                + (by.isEmpty() ? "" : " (" + String.join(", ", by) + ")"));
        events.forEach(e -> out.add("  status event: " + e));
        notes.forEach(n -> out.add("  note: " + n));
        return out;
    }

    private void readParameters(ModelTarget t, TopicReader.Bounds bounds) {
        ParameterRecords records = new ParameterRecords();
        try {
            TopicReader.Outcome o =
                    TopicReader.read(t.parametersClient(), t.topics().parameters(), bounds, r -> {
                        ParameterUpdate u = records.decode(r.value());
                        if (u == null || !model.equals(u.getModelId())) {
                            return;
                        }
                        int shard = u.getShard();
                        if (shard < 0 || shard >= 1 << 20) {
                            return;
                        }
                        parameterRecords++;
                        raise(versions, u.getTensor(), shard, u.getVersion());
                        if (ParameterRecords.isFullSnapshot(u)) {
                            raise(fullVersions, u.getTensor(), shard, u.getVersion());
                        } else {
                            deltas++;
                        }
                        if (u.getEpsilonSpent() != null && (epsilon == null || u.getEpsilonSpent() > epsilon)) {
                            epsilon = u.getEpsilonSpent();
                        }
                        lastUpdateMs = Math.max(lastUpdateMs, r.timestamp());
                        lastPublishedAtMs = Math.max(lastPublishedAtMs, u.getLatestPublishedAtMs());
                    });
            if (!o.complete()) {
                notes.add("read only the first " + o.records() + " records of "
                        + t.topics().parameters());
            }
        } catch (TopicReader.TopicException e) {
            notes.add("versions unknown: " + e.getMessage()
                    + (e.unauthorised() ? " (pass --parameters-config of a worker or the admin)" : ""));
        }
    }

    /** Raises the version of {@code tensor}'s {@code shard} in {@code m} to at least {@code version}. */
    private static void raise(Map<String, long[]> m, String tensor, int shard, long version) {
        long[] v = m.computeIfAbsent(tensor, k -> new long[0]);
        if (shard >= v.length) {
            int old = v.length;
            v = Arrays.copyOf(v, shard + 1);
            Arrays.fill(v, old, v.length, -1);
            m.put(tensor, v);
        }
        v[shard] = Math.max(v[shard], version);
    }

    private void readRejected(ModelTarget t, long tail, TopicReader.Bounds bounds) {
        AvroRecords<RejectedRecord> avro = new AvroRecords<>(RejectedRecord.class, 1 << 10);
        try {
            TopicReader.Outcome o = TopicReader.read(t.client(), t.topics().rejected(), tail, bounds, r -> {
                try {
                    RejectedRecord rr = avro.decode(r.value());
                    if (model.equals(rr.getModelId())) {
                        rejections.merge(rr.getReason().name(), 1L, Long::sum);
                    }
                } catch (IOException e) {
                    // Not the job's record.
                }
            });
            rejectedScanned = o.records();
        } catch (TopicReader.TopicException e) {
            notes.add("rejections unknown: " + e.getMessage());
        }
    }

    private void readEvents(ModelTarget t, TopicReader.Bounds bounds) {
        AvroRecords<StatusEvent> avro = new AvroRecords<>(StatusEvent.class, 1 << 10);
        Map<String, Integer> seen = new HashMap<>();
        try {
            TopicReader.read(t.client(), t.topics().status(), bounds, r -> {
                try {
                    StatusEvent e = avro.decode(r.value());
                    if (model.equals(e.getModelId()) && seen.merge(e.getType().name(), 1, Integer::sum) <= 10) {
                        events.add(String.format(
                                Locale.ROOT,
                                "%s at version %d%s%s",
                                e.getType(),
                                e.getVersion(),
                                e.getEpsilonSpent() == null
                                        ? ""
                                        : String.format(Locale.ROOT, ", epsilon %.4g", e.getEpsilonSpent()),
                                e.getDetail().isEmpty() ? "" : ": " + e.getDetail()));
                    }
                } catch (IOException ignored) {
                    // Not the job's record.
                }
            });
        } catch (TopicReader.TopicException e) {
            notes.add("status events unknown: " + e.getMessage());
        }
    }

    /** A private model's mechanism and accountant as the job applies them (see ModelConfig). */
    static String accounting(io.gradstream.schemas.PrivacyAccountingSpec a) {
        if (a == null) {
            return "DP_SGD, accountant RDP: created without privacyAccounting";
        }
        boolean ftrl = a.getMechanism() == io.gradstream.schemas.PrivacyMechanism.DP_FTRL;
        String accountant = a.getAccountant() != null ? a.getAccountant().name() : ftrl ? "TREE" : "PRV";
        return a.getMechanism() + ", accountant " + accountant
                + (ftrl && a.getStepsPerRestart() != null
                        ? ", tree restarts every " + a.getStepsPerRestart() + " steps"
                        : "");
    }
}
