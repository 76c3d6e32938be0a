package io.gradstream.ops.doctor;

import io.gradstream.job.JobSettings;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;

/**
 * The Kafka checks: the brokers answer, and the job's topics exist with the settings it relies on (the
 * parameters topic compacted, so a new worker finds the newest version of every shard).
 */
final class KafkaChecks {
    private static final long TIMEOUT_S = 10;

    private final JobSettings settings;
    /** Set by the reachability check, so that the topic check does not wait for the same timeout again. */
    private String unreachable;

    private KafkaChecks(JobSettings settings) {
        this.settings = settings;
    }

    /** {@link #checks()} and, once they ran, {@link #unreachable()} for the later checks that ask Kafka. */
    static KafkaChecks create(JobSettings settings) {
        return new KafkaChecks(settings);
    }

    /** {@code kafka} (the brokers answer) and {@code kafka topics}. */
    List<Check> checks() {
        return List.of(Check.of("kafka", this::reachable), Check.of("kafka topics", this::topics));
    }

    /** Why the reachability check failed, or null (also when it has not run). */
    String unreachable() {
        return unreachable;
    }

    private Admin admin() {
        return admin(settings);
    }

    /** An admin client of the job's brokers with the job configuration's client settings (security included). */
    static Admin admin(JobSettings settings) {
        Map<String, Object> c = settings.kafka().clientConfig();
        c.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TimeUnit.SECONDS.toMillis(TIMEOUT_S));
        c.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TimeUnit.SECONDS.toMillis(TIMEOUT_S));
        return Admin.create(c);
    }

    /** The message of an Admin call's failure: its cause's, which names what went wrong. */
    static String cause(Exception e) {
        return e.getCause() != null ? e.getCause().getMessage() : e.getClass().getSimpleName();
    }

    private Check.Result reachable() throws InterruptedException {
        try (Admin admin = admin()) {
            DescribeClusterResult c = admin.describeCluster();
            int brokers = c.nodes().get(TIMEOUT_S, TimeUnit.SECONDS).size();
            return Check.Result.ok(settings.bootstrapServers() + ": cluster "
                    + c.clusterId().get(TIMEOUT_S, TimeUnit.SECONDS) + ", " + brokers + " broker(s)");
        } catch (ExecutionException | TimeoutException e) {
            unreachable = settings.bootstrapServers() + " did not answer within " + TIMEOUT_S + " s (" + cause(e) + ")";
            return Check.Result.fail(unreachable);
        }
    }

    private Check.Result topics() throws InterruptedException {
        if (unreachable != null) {
            return Check.Result.fail("not checked: Kafka unreachable");
        }
        List<String> wanted = List.of(
                settings.controlTopic(),
                settings.gradientsTopic(),
                settings.parametersTopic(),
                settings.rejectedTopic(),
                settings.statusTopic());
        try (Admin admin = admin()) {
            Set<String> existing = admin.listTopics().names().get(TIMEOUT_S, TimeUnit.SECONDS);
            List<String> missing =
                    wanted.stream().filter(t -> !existing.contains(t)).toList();
            if (!missing.isEmpty()) {
                return Check.Result.fail("missing topic(s) " + String.join(", ", missing) + " (gradstream local "
                        + "creates them; on a cluster create them, " + settings.parametersTopic() + " with "
                        + "cleanup.policy=compact)");
            }
            ConfigResource params = new ConfigResource(ConfigResource.Type.TOPIC, settings.parametersTopic());
            Config config = admin.describeConfigs(List.of(params))
                    .all()
                    .get(TIMEOUT_S, TimeUnit.SECONDS)
                    .get(params);
            String policy = config.get(TopicConfig.CLEANUP_POLICY_CONFIG).value();
            return verdict(settings.parametersTopic(), wanted, policy);
        } catch (ExecutionException | TimeoutException e) {
            return Check.Result.fail("cannot read topics: " + cause(e));
        }
    }

    /** The verdict on the parameters topic's {@code cleanup.policy} (a comma-separated list in Kafka). */
    static Check.Result verdict(String parametersTopic, Collection<String> topics, String policy) {
        List<String> policies = new ArrayList<>(List.of(policy.replace(" ", "").split(",")));
        String what = String.join(", ", topics) + " exist; " + parametersTopic + " has cleanup.policy=" + policy;
        if (!policies.contains(TopicConfig.CLEANUP_POLICY_COMPACT)) {
            return Check.Result.fail(what + ", must be compact: a new worker reads the newest version of every "
                    + "shard from it (kafka-configs --alter --add-config cleanup.policy=compact)");
        }
        if (policies.contains(TopicConfig.CLEANUP_POLICY_DELETE)) {
            return Check.Result.warn(what + ": retention may delete the only copy of a shard that no longer trains");
        }
        return Check.Result.ok(what);
    }
}
