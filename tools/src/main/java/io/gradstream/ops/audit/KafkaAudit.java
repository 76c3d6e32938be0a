package io.gradstream.ops.audit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The Kafka part of the audit, all read-only: whether a client without credentials gets in, which protocols the
 * brokers' listeners speak, whether an authorizer with deny-by-default is on, whether any ACL is open to everyone,
 * and what the given worker credentials may do with the job's topics (Kafka's authorized operations, so nothing is
 * written).
 */
final class KafkaAudit {
    private static final int TIMEOUT_MS = 8_000;

    private final AuditTarget t;

    KafkaAudit(AuditTarget t) {
        this.t = t;
    }

    List<Finding> run() throws InterruptedException {
        List<Finding> out = new ArrayList<>();
        out.add(anonymous());
        try (Admin admin = admin(t.kafkaProperties())) {
            out.addAll(brokerConfig(admin));
            out.add(acls(admin));
        }
        out.addAll(worker());
        return out;
    }

    private Admin admin(Map<String, String> props) {
        Map<String, Object> c = new HashMap<>(props);
        c.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, t.bootstrapServers());
        c.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, TIMEOUT_MS);
        c.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, TIMEOUT_MS);
        // A refused handshake is retried with backoff until the timeout; one retry is enough to tell.
        c.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1_000);
        return Admin.create(c);
    }

    /** A client with no credentials and no TLS: if it can list topics, anyone who reaches the brokers can. */
    private Finding anonymous() throws InterruptedException {
        try (Admin open = admin(Map.of())) {
            Set<String> topics = open.listTopics().names().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
            return Finding.fail(
                    "kafka access",
                    "a client without credentials connects to " + t.bootstrapServers() + " in plain text and lists "
                            + topics.size() + " topic(s): anyone who reaches the brokers can read and write them");
        } catch (ExecutionException | TimeoutException e) {
            return Finding.pass("kafka access", "a client without credentials is refused (" + cause(e) + ")");
        }
    }

    private List<Finding> brokerConfig(Admin admin) throws InterruptedException {
        Map<String, String> c;
        try {
            String node = String.valueOf(admin.describeCluster()
                    .nodes()
                    .get(TIMEOUT_MS, TimeUnit.MILLISECONDS)
                    .iterator()
                    .next()
                    .id());
            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, node);
            Config config = admin.describeConfigs(List.of(broker))
                    .all()
                    .get(TIMEOUT_MS, TimeUnit.MILLISECONDS)
                    .get(broker);
            c = new HashMap<>();
            for (ConfigEntry e : config.entries()) {
                if (e.value() != null) {
                    c.put(e.name(), e.value());
                }
            }
        } catch (ExecutionException | TimeoutException e) {
            return List.of(Finding.warn(
                    "kafka listeners",
                    "cannot read the broker configuration with the given credentials (" + cause(e)
                            + "): pass --kafka-config of a principal allowed to describe the cluster"));
        }
        return List.of(listeners(c), authorizer(c));
    }

    /** PLAINTEXT and SASL_PLAINTEXT carry gradients and passwords in clear: FAIL; SSL without client auth: WARN. */
    static Finding listeners(Map<String, String> broker) {
        String advertised = broker.getOrDefault("advertised.listeners", broker.getOrDefault("listeners", ""));
        Map<String, String> protocols = new HashMap<>();
        for (String pair :
                broker.getOrDefault("listener.security.protocol.map", "").split(",")) {
            int colon = pair.indexOf(':');
            if (colon > 0) {
                protocols.put(
                        pair.substring(0, colon).strip(),
                        pair.substring(colon + 1).strip());
            }
        }
        List<String> clear = new ArrayList<>();
        List<String> anyClient = new ArrayList<>();
        List<String> described = new ArrayList<>();
        boolean clientCerts = "required".equals(broker.getOrDefault("ssl.client.auth", "none"));
        for (String listener : advertised.split(",")) {
            if (listener.isBlank()) {
                continue;
            }
            String name =
                    listener.substring(0, Math.max(0, listener.indexOf("://"))).strip();
            String protocol = protocols.getOrDefault(name, name).toUpperCase(Locale.ROOT);
            described.add(listener.strip() + " (" + protocol + ")");
            if (!protocol.endsWith("SSL")) {
                clear.add(listener.strip());
            } else if (protocol.equals("SSL") && !clientCerts) {
                anyClient.add(listener.strip());
            }
        }
        String what = "advertised " + String.join(", ", described);
        if (!clear.isEmpty()) {
            return Finding.fail(
                    "kafka listeners", what + ": " + String.join(", ", clear) + " without TLS (use SASL_SSL)");
        }
        if (!anyClient.isEmpty()) {
            return Finding.warn(
                    "kafka listeners",
                    what + ": " + String.join(", ", anyClient) + " TLS without client authentication");
        }
        return Finding.pass("kafka listeners", what);
    }

    /** Without an authorizer, or with allow.everyone.if.no.acl.found, every authenticated client may do anything. */
    static Finding authorizer(Map<String, String> broker) {
        String authorizer = broker.getOrDefault("authorizer.class.name", "");
        if (authorizer.isBlank()) {
            return Finding.fail(
                    "kafka authorizer", "none: every client may write control (authorizer.class.name is not set)");
        }
        if (Boolean.parseBoolean(broker.getOrDefault("allow.everyone.if.no.acl.found", "false"))) {
            return Finding.fail(
                    "kafka authorizer",
                    authorizer + " with allow.everyone.if.no.acl.found=true: a topic without ACLs is open");
        }
        return Finding.pass("kafka authorizer", authorizer + ", deny unless an ACL allows");
    }

    private Finding acls(Admin admin) throws InterruptedException {
        AclBindingFilter any = new AclBindingFilter(ResourcePatternFilter.ANY, AccessControlEntryFilter.ANY);
        try {
            var bindings = admin.describeAcls(any).values().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
            return openAcls(bindings);
        } catch (ExecutionException | TimeoutException e) {
            return Finding.warn("kafka acls", "cannot list ACLs (" + cause(e) + ")");
        }
    }

    /** An ALLOW binding for {@code User:*} or {@code User:ANONYMOUS} that reads or writes a topic is open to all. */
    static Finding openAcls(java.util.Collection<AclBinding> bindings) {
        List<String> open = new ArrayList<>();
        for (AclBinding b : bindings) {
            String who = b.entry().principal();
            boolean everyone = who.equals("User:*") || who.equals("User:ANONYMOUS");
            AclOperation op = b.entry().operation();
            boolean dataAccess = op == AclOperation.ALL || op == AclOperation.WRITE || op == AclOperation.READ;
            if (everyone
                    && b.entry().permissionType() == AclPermissionType.ALLOW
                    && dataAccess
                    && b.pattern().resourceType() == ResourceType.TOPIC) {
                open.add(who + " " + op + " topic " + b.pattern().name());
            }
        }
        if (!open.isEmpty()) {
            return Finding.fail("kafka acls", "open to everyone: " + String.join(", ", open));
        }
        return Finding.pass("kafka acls", bindings.size() + " ACL binding(s), none open to everyone");
    }

    /** What the worker principal may do, from Kafka's authorized operations (nothing is written). */
    private List<Finding> worker() throws InterruptedException {
        if (t.workerProperties() == null) {
            return List.of(Finding.warn(
                    "worker permissions",
                    "not checked: pass a worker's client configuration with --worker-config to check that it cannot "
                            + "write " + t.settings().controlTopic() + " or read "
                            + t.settings().rejectedTopic()));
        }
        Map<String, Set<AclOperation>> allowed = new HashMap<>();
        List<String> topics = List.of(
                t.settings().controlTopic(),
                t.settings().gradientsTopic(),
                t.settings().parametersTopic(),
                t.settings().rejectedTopic(),
                t.settings().statusTopic());
        try (Admin admin = admin(t.workerProperties())) {
            var result = admin.describeTopics(topics, new DescribeTopicsOptions().includeAuthorizedOperations(true));
            for (var e : result.topicNameValues().entrySet()) {
                try {
                    TopicDescription d = e.getValue().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
                    allowed.put(e.getKey(), d.authorizedOperations() == null ? Set.of() : d.authorizedOperations());
                } catch (ExecutionException denied) {
                    allowed.put(e.getKey(), Set.of()); // not even DESCRIBE
                }
            }
        } catch (TimeoutException e) {
            return List.of(Finding.fail("worker permissions", "the worker's client did not connect: " + cause(e)));
        }
        return workerVerdict(t.settings().controlTopic(), t.settings().rejectedTopic(), t.settings(), allowed);
    }

    static List<Finding> workerVerdict(
            String control, String rejected, io.gradstream.job.JobSettings s, Map<String, Set<AclOperation>> allowed) {
        List<Finding> out = new ArrayList<>();
        List<String> tooMuch = new ArrayList<>();
        if (may(allowed.get(control), AclOperation.WRITE)) {
            tooMuch.add("write " + control + " (create, change or delete any model)");
        }
        if (may(allowed.get(rejected), AclOperation.READ)) {
            tooMuch.add("read " + rejected + " (every model's refused records)");
        }
        if (may(allowed.get(s.statusTopic()), AclOperation.WRITE)) {
            tooMuch.add("write " + s.statusTopic());
        }
        if (may(allowed.get(s.parametersTopic()), AclOperation.WRITE)) {
            tooMuch.add("write " + s.parametersTopic() + " (publish parameters of any model)");
        }
        if (!tooMuch.isEmpty()) {
            out.add(Finding.fail("worker permissions", "the worker may " + String.join("; ", tooMuch)));
        } else {
            out.add(Finding.pass(
                    "worker permissions",
                    "the worker may not write " + control + ", " + s.parametersTopic() + " or " + s.statusTopic()
                            + " nor read " + rejected + "; it "
                            + (may(allowed.get(s.gradientsTopic()), AclOperation.WRITE) ? "may" : "may NOT")
                            + " write " + s.gradientsTopic()));
        }
        if (may(allowed.get(s.parametersTopic()), AclOperation.READ)) {
            // Kafka authorizes per topic: one parameters topic means every worker reads every model's parameters.
            out.add(Finding.info(
                    "worker permissions",
                    "the worker reads " + s.parametersTopic() + ", which holds every model's parameters (run a job "
                            + "per tenant with its own topics to separate them)"));
        }
        return out;
    }

    private static boolean may(Set<AclOperation> ops, AclOperation op) {
        return ops != null && (ops.contains(op) || ops.contains(AclOperation.ALL));
    }

    static String cause(Exception e) {
        Throwable c = e.getCause() != null ? e.getCause() : e;
        return c.getClass().getSimpleName() + (c.getMessage() == null ? "" : ": " + c.getMessage());
    }
}
