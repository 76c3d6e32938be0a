package io.gradstream.ops.doctor;

import io.gradstream.job.JobSettings;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * The checks of the running job that ask Kafka: how far the job's consumer group is behind on its input topics, and
 * what share of the input it wrote to the rejected topic lately. They need no Flink, so they also judge a job that
 * runs where the doctor cannot reach its REST API.
 */
final class JobKafkaChecks {
    private static final long TIMEOUT_S = 10;

    private final JobSettings settings;
    private final JobThresholds limits;
    /** The Kafka reachability check's reason for a FAIL, or null: saves waiting for the same time-out again. */
    private final Supplier<String> unreachable;

    /** One partition of an input topic: the group's committed offset (null: none) and the partition's bounds. */
    record PartitionLag(TopicPartition partition, Long committed, long start, long end) {
        /** Records the job still has to read: from its committed offset, else from where it would start. */
        long lag() {
            return Math.max(0, end - (committed != null ? Math.max(committed, start) : start));
        }
    }

    private JobKafkaChecks(JobSettings settings, JobThresholds limits, Supplier<String> unreachable) {
        this.settings = settings;
        this.limits = limits;
        this.unreachable = unreachable;
    }

    static List<Check> of(JobSettings settings, JobThresholds limits, Supplier<String> unreachable) {
        JobKafkaChecks k = new JobKafkaChecks(settings, limits, unreachable);
        return List.of(Check.of("consumer lag", k::lag), Check.of("rejections", k::rejections));
    }

    private Check.Result lag() throws InterruptedException {
        if (unreachable.get() != null) {
            return Check.Result.fail("not checked: Kafka unreachable");
        }
        List<String> inputs = List.of(settings.gradientsTopic(), settings.controlTopic());
        try (Admin admin = KafkaChecks.admin(settings)) {
            List<TopicPartition> parts = partitions(admin, inputs);
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(settings.groupId())
                    .partitionsToOffsetAndMetadata()
                    .get(TIMEOUT_S, TimeUnit.SECONDS);
            // The job's sources read committed records only, so its end is the last stable offset.
            Map<TopicPartition, Long> end = offsets(admin, parts, OffsetSpec.latest(), IsolationLevel.READ_COMMITTED);
            Map<TopicPartition, Long> start =
                    offsets(admin, parts, OffsetSpec.earliest(), IsolationLevel.READ_UNCOMMITTED);
            List<PartitionLag> lags = new ArrayList<>();
            for (TopicPartition tp : parts) {
                OffsetAndMetadata c = committed.get(tp);
                lags.add(new PartitionLag(tp, c == null ? null : c.offset(), start.get(tp), end.get(tp)));
            }
            return lagVerdict(settings.groupId(), inputs, lags, limits);
        } catch (ExecutionException | TimeoutException e) {
            return offsetsUnreadable(e);
        }
    }

    private Check.Result rejections() throws InterruptedException {
        if (unreachable.get() != null) {
            return Check.Result.fail("not checked: Kafka unreachable");
        }
        try (Admin admin = KafkaChecks.admin(settings)) {
            long since = System.currentTimeMillis() - limits.rejectionWindow().toMillis();
            long rejected = recordsSince(admin, List.of(settings.rejectedTopic()), since);
            long inputs = recordsSince(admin, List.of(settings.gradientsTopic(), settings.controlTopic()), since);
            return rejectionVerdict(settings, rejected, inputs, limits);
        } catch (ExecutionException | TimeoutException e) {
            return offsetsUnreadable(e);
        }
    }

    private static Check.Result offsetsUnreadable(Exception e) {
        if (e.getCause() instanceof UnknownTopicOrPartitionException) {
            return Check.Result.fail("not checked: a topic is missing (see kafka topics)");
        }
        return Check.Result.fail("cannot read offsets: " + KafkaChecks.cause(e));
    }

    /**
     * Records written to {@code topics} at or after {@code since} (ms): per partition, the end offset minus the
     * offset of the first record with that timestamp. Offsets also count the commit markers of transactions, so with
     * transactional producers this reads slightly high.
     */
    private static long recordsSince(Admin admin, List<String> topics, long since)
            throws ExecutionException, InterruptedException, TimeoutException {
        List<TopicPartition> parts = partitions(admin, topics);
        Map<TopicPartition, Long> first =
                offsets(admin, parts, OffsetSpec.forTimestamp(since), IsolationLevel.READ_UNCOMMITTED);
        Map<TopicPartition, Long> end = offsets(admin, parts, OffsetSpec.latest(), IsolationLevel.READ_UNCOMMITTED);
        long n = 0;
        for (TopicPartition tp : parts) {
            long f = first.get(tp);
            n += f < 0 ? 0 : Math.max(0, end.get(tp) - f); // -1: no record that new
        }
        return n;
    }

    private static List<TopicPartition> partitions(Admin admin, List<String> topics)
            throws ExecutionException, InterruptedException, TimeoutException {
        Map<String, TopicDescription> d =
                admin.describeTopics(topics).allTopicNames().get(TIMEOUT_S, TimeUnit.SECONDS);
        List<TopicPartition> out = new ArrayList<>();
        for (String t : topics) {
            d.get(t).partitions().forEach(p -> out.add(new TopicPartition(t, p.partition())));
        }
        return out;
    }

    private static Map<TopicPartition, Long> offsets(
            Admin admin, List<TopicPartition> parts, OffsetSpec spec, IsolationLevel isolation)
            throws ExecutionException, InterruptedException, TimeoutException {
        Map<TopicPartition, OffsetSpec> ask = new HashMap<>();
        parts.forEach(tp -> ask.put(tp, spec));
        Map<TopicPartition, ListOffsetsResultInfo> r =
                admin.listOffsets(ask, new ListOffsetsOptions(isolation)).all().get(TIMEOUT_S, TimeUnit.SECONDS);
        Map<TopicPartition, Long> out = new HashMap<>();
        r.forEach((tp, info) -> out.put(tp, info.offset()));
        return out;
    }

    /**
     * OK below {@code lagWarn} records behind in total, WARN from it, FAIL from {@code lagFail}. Partitions that hold
     * records but no offset of the group also warn: Flink commits the group's offsets at checkpoints, so either the
     * job has completed none yet or it runs under another {@code gradstream.kafka.group-id}.
     */
    static Check.Result lagVerdict(String group, List<String> topics, List<PartitionLag> lags, JobThresholds limits) {
        Map<String, Long> perTopic = new LinkedHashMap<>();
        topics.forEach(t -> perTopic.put(t, 0L));
        List<String> uncommitted = new ArrayList<>();
        long total = 0;
        for (PartitionLag p : lags) {
            perTopic.merge(p.partition().topic(), p.lag(), Long::sum);
            total += p.lag();
            if (p.committed() == null && p.end() > p.start()) {
                uncommitted.add(p.partition().toString());
            }
        }
        List<String> parts = new ArrayList<>();
        perTopic.forEach((t, n) -> parts.add(t + " " + n));
        String what = "group " + group + " is " + total + " record(s) behind (" + String.join(", ", parts)
                + "; offsets are committed at checkpoints)";
        if (total >= limits.lagFail()) {
            return Check.Result.fail(what + " (FAIL from " + limits.lagFail() + ", --lag-fail)");
        }
        if (!uncommitted.isEmpty()) {
            return Check.Result.warn(what + "; no committed offset for " + String.join(", ", uncommitted)
                    + ": the job has completed no checkpoint yet, or its gradstream.kafka.group-id is not " + group
                    + " (pass the job's --config/--set)");
        }
        if (total >= limits.lagWarn()) {
            return Check.Result.warn(what + " (WARN from " + limits.lagWarn() + ", --lag-warn)");
        }
        return Check.Result.ok(what);
    }

    /**
     * The share of input records (gradients and control) that the rejected topic received in the same window. The
     * two counts are independent (a rejection may follow its input by up to a checkpoint interval), so the share is
     * capped at 100 %.
     */
    static Check.Result rejectionVerdict(JobSettings s, long rejected, long inputs, JobThresholds limits) {
        String window = JobThresholds.human(limits.rejectionWindow());
        if (inputs == 0 && rejected == 0) {
            return Check.Result.ok(
                    "no records on " + s.gradientsTopic() + " or " + s.controlTopic() + " in the last " + window);
        }
        double percent = inputs == 0 ? 100 : Math.min(100, 100.0 * rejected / inputs);
        double perMinute = rejected / (limits.rejectionWindow().toMillis() / 60_000.0);
        String what = String.format(
                Locale.ROOT,
                "%d record(s) to %s for %d on %s and %s in the last %s: %s, " + "%.1f/min",
                rejected,
                s.rejectedTopic(),
                inputs,
                s.gradientsTopic(),
                s.controlTopic(),
                window,
                JobThresholds.percent(Math.round(percent * 100) / 100.0),
                perMinute);
        if (percent >= limits.rejectionFailPercent()) {
            return Check.Result.fail(what + " (FAIL from " + JobThresholds.percent(limits.rejectionFailPercent())
                    + ", --rejection-fail); the reasons are in the records and the dashboard");
        }
        if (percent >= limits.rejectionWarnPercent()) {
            return Check.Result.warn(what + " (WARN from " + JobThresholds.percent(limits.rejectionWarnPercent())
                    + ", --rejection-warn)");
        }
        return Check.Result.ok(what);
    }
}
