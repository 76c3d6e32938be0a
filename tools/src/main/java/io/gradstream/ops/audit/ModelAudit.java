package io.gradstream.ops.audit;

import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.PrivacySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Each model's privacy as the topics tell it: the settings of its newest CREATE on the control topic and the ε spent
 * that its newest parameters carry, against its budget. Reads both topics from the beginning up to their end at the
 * start of the audit, bounded in records and time.
 */
final class ModelAudit {
    static final int MAX_RECORDS = 500_000;
    private static final Duration MAX_TIME = Duration.ofSeconds(60);

    private ModelAudit() {}

    static List<Finding> run(AuditTarget t) {
        Map<String, PrivacySpec> models = new TreeMap<>();
        Map<String, Boolean> exists = new HashMap<>();
        Map<String, Double> spent = new HashMap<>();
        try {
            AvroRecords<ControlCommand> control = new AvroRecords<>(ControlCommand.class, 1 << 16);
            read(t, t.settings().controlTopic(), (k, v) -> {
                try {
                    ControlCommand c = control.decode(v);
                    if (c.getType() == CommandType.CREATE && c.getSpec() != null) {
                        models.put(c.getModelId(), c.getSpec().getPrivacy());
                        exists.put(c.getModelId(), true);
                    } else if (c.getType() == CommandType.DELETE) {
                        exists.put(c.getModelId(), false);
                    }
                } catch (java.io.IOException | RuntimeException undecodable) {
                    // The job refuses such records too; they create no model.
                }
            });
            AvroRecords<ParameterUpdate> params = new AvroRecords<>(ParameterUpdate.class, 1 << 16);
            read(t, t.settings().parametersTopic(), (k, v) -> {
                try {
                    ParameterUpdate u = params.decode(v);
                    spent.merge(u.getModelId(), u.getEpsilonSpent(), Math::max);
                } catch (java.io.IOException | RuntimeException undecodable) {
                    // Not written by the job.
                }
            });
        } catch (RuntimeException e) {
            return List.of(Finding.warn(
                    "models",
                    "cannot read " + t.settings().controlTopic() + " and "
                            + t.settings().parametersTopic() + " (" + KafkaAudit.cause(e)
                            + "): pass --kafka-config of a principal that may read them"));
        }
        List<Finding> out = new ArrayList<>();
        models.forEach((id, privacy) -> {
            if (exists.getOrDefault(id, false)) {
                out.add(verdict(id, privacy, spent.get(id)));
            }
        });
        if (out.isEmpty()) {
            out.add(Finding.info("models", "no model exists"));
        }
        return out;
    }

    /** A private model with a budget it has not passed: PASS; no budget: WARN; past it: FAIL; not private: INFO. */
    static Finding verdict(String model, PrivacySpec p, Double spent) {
        String area = "model " + model;
        if (p == null) {
            return Finding.info(area, "not differentially private");
        }
        String noise = p.getNoiseMultiplier() != null
                ? String.format(Locale.ROOT, "sigma %.4g", p.getNoiseMultiplier())
                : "sigma from the target over " + p.getPlannedSteps() + " steps";
        String key = p.getSeedFile() != null
                ? "noise key from file " + p.getSeedFile() + " on the task managers"
                : p.getSeedEnv() != null
                        ? "noise key from $" + p.getSeedEnv() + " on the task managers"
                        : "no noise key (noise is not secret-keyed)";
        String eps = spent == null ? "no step yet" : String.format(Locale.ROOT, "epsilon spent %.4g", spent);
        String what = String.format(
                Locale.ROOT,
                "DP %s: clip %.4g, %s, delta %.3g; %s",
                p.getUnit(),
                p.getClipNorm(),
                noise,
                p.getDelta(),
                eps);
        if (p.getTargetEpsilon() == null) {
            return Finding.warn(area, what + ", no budget (targetEpsilon): epsilon grows with every step; " + key);
        }
        String budget = String.format(Locale.ROOT, " of budget %.4g; %s", p.getTargetEpsilon(), key);
        if (spent != null && spent > p.getTargetEpsilon()) {
            return Finding.fail(area, what + budget + ": past the budget");
        }
        if (p.getSeedFile() == null && p.getSeedEnv() == null) {
            return Finding.warn(area, what + budget);
        }
        return Finding.pass(area, what + budget);
    }

    private static void read(AuditTarget t, String topic, BiConsumer<byte[], byte[]> each) {
        Map<String, Object> c = new HashMap<>(t.kafkaProperties());
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, t.bootstrapServers());
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        c.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
        try (var consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                    .map(p -> new TopicPartition(topic, p.partition()))
                    .toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            long deadline = System.nanoTime() + MAX_TIME.toNanos();
            int seen = 0;
            while (seen < MAX_RECORDS && System.nanoTime() < deadline && !done(consumer, end)) {
                for (var r : consumer.poll(Duration.ofMillis(500))) {
                    each.accept(r.key(), r.value());
                    seen++;
                }
            }
        }
    }

    private static boolean done(KafkaConsumer<byte[], byte[]> c, Map<TopicPartition, Long> end) {
        return end.entrySet().stream().allMatch(e -> c.position(e.getKey()) >= e.getValue());
    }
}
