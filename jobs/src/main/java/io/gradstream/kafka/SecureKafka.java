package io.gradstream.kafka;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The embedded KRaft broker secured as a production cluster should be: clients authenticate with SASL/SCRAM-SHA-512
 * over TLS (a CA and broker certificate generated at start), the standard authorizer denies whatever no ACL allows,
 * and the principals {@code job}, {@code operator} and {@code worker} may do exactly their part. Each principal's
 * client settings are written to an owner-only properties file under {@code dir/credentials}.
 */
public final class SecureKafka implements AutoCloseable {
    public static final String JOB = "job";
    public static final String OPERATOR = "operator";
    public static final String WORKER = "worker";
    /** The super user: the broker's own inter-broker identity, and the one that creates topics, users and ACLs. */
    public static final String ADMIN = "admin";
    /** Consumer groups workers may use (and only workers): names starting with this. */
    public static final String WORKER_GROUP_PREFIX = "worker-";
    /** Consumer groups an operator's tools may use. */
    public static final String OPERATOR_GROUP_PREFIX = "operator-";

    public static final String MECHANISM = "SCRAM-SHA-512";
    private static final List<String> PRINCIPALS = List.of(JOB, OPERATOR, WORKER, ADMIN);

    /** The topics, the job's consumer group and its transactional id prefix, which the ACLs name. */
    public record Names(
            String control,
            String gradients,
            String parameters,
            String rejected,
            String status,
            String jobGroup,
            String transactionalIdPrefix) {

        /** gradstream's defaults. */
        public static Names defaults() {
            return new Names("control", "gradients", "parameters", "rejected", "status", "gradstream", "gradstream");
        }

        /** The names a job with these settings uses. */
        public static Names of(KafkaSettings s) {
            return new Names(
                    s.controlTopic(),
                    s.gradientsTopic(),
                    s.parametersTopic(),
                    s.rejectedTopic(),
                    s.statusTopic(),
                    s.groupId(),
                    s.transactionalIdPrefix());
        }
    }

    private final EmbeddedKafka broker;
    private final Path credentials;
    private final Map<String, Map<String, String>> clients;

    private SecureKafka(EmbeddedKafka broker, Path credentials, Map<String, Map<String, String>> clients) {
        this.broker = broker;
        this.credentials = credentials;
        this.clients = clients;
    }

    /** A secured broker for gradstream's default topic names, on a free loopback port, its files under {@code dir}. */
    public static SecureKafka start(Path dir) throws IOException {
        return start(dir, Names.defaults(), 0);
    }

    /** A secured broker whose ACLs name {@code s}'s topics, group and transactional ids. */
    public static SecureKafka start(Path dir, KafkaSettings s) throws IOException {
        return start(dir, Names.of(s), 0);
    }

    /**
     * @param port the client (SASL_SSL) port on 127.0.0.1, or 0 for a free one
     */
    public static SecureKafka start(Path dir, Names names, int port) throws IOException {
        Files.createDirectories(dir);
        if (Files.exists(dir.resolve("kafka"))) {
            throw new IOException(dir.resolve("kafka") + " exists: a secured broker makes new certificates and "
                    + "credentials at every start, so it needs a folder without an earlier broker's data");
        }
        LocalCertificates.Stores tls = LocalCertificates.generate(dir.resolve("tls"));
        Map<String, String> passwords = new LinkedHashMap<>();
        List<String> format = new ArrayList<>();
        for (String principal : PRINCIPALS) {
            passwords.put(principal, LocalCertificates.randomSecret());
            format.add("--add-scram");
            format.add(MECHANISM + "=[name=" + principal + ",password=" + passwords.get(principal) + "]");
        }
        int clientPort = port == 0 ? EmbeddedKafka.freePort() : port;
        int controllerPort = EmbeddedKafka.freePort();
        Map<String, String> b = new LinkedHashMap<>();
        b.put("listeners", "SASL_SSL://127.0.0.1:" + clientPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        b.put("advertised.listeners", "SASL_SSL://127.0.0.1:" + clientPort);
        b.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        // The controller listener speaks TLS with client certificates required: only a holder of the broker's key
        // (an owner-only file) gets in, as the super user CN=gradstream-broker. SCRAM is not possible there, since
        // SCRAM users live in the metadata the controller serves; plain loopback would make every local user a super
        // user. Inter-broker traffic (here: transaction markers to itself) goes over the SASL_SSL listener as admin.
        b.put("listener.security.protocol.map", "SASL_SSL:SASL_SSL,CONTROLLER:SSL");
        b.put("listener.name.controller.ssl.client.auth", "required");
        b.put("inter.broker.listener.name", "SASL_SSL");
        b.put("sasl.enabled.mechanisms", MECHANISM);
        b.put("sasl.mechanism.inter.broker.protocol", MECHANISM);
        b.put(
                "listener.name.sasl_ssl." + MECHANISM.toLowerCase(java.util.Locale.ROOT) + ".sasl.jaas.config",
                jaas(ADMIN, passwords.get(ADMIN)));
        b.put("ssl.keystore.type", "PKCS12");
        b.put("ssl.keystore.location", tls.keystore().toString());
        b.put("ssl.keystore.password", LocalCertificates.read(tls.keystorePassword()));
        b.put("ssl.truststore.type", "PKCS12");
        b.put("ssl.truststore.location", tls.truststore().toString());
        b.put("ssl.truststore.password", LocalCertificates.read(tls.truststorePassword()));
        b.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        b.put("allow.everyone.if.no.acl.found", "false");
        b.put("super.users", "User:" + ADMIN + ";User:" + LocalCertificates.BROKER_DN);

        Path credentials = EmbeddedKafka.ownerOnlyDirectory(dir.resolve("credentials"));
        Map<String, Map<String, String>> clients = new LinkedHashMap<>();
        for (String principal : PRINCIPALS) {
            Map<String, String> c = new LinkedHashMap<>();
            c.put("security.protocol", "SASL_SSL");
            c.put("sasl.mechanism", MECHANISM);
            c.put("sasl.jaas.config", jaas(principal, passwords.get(principal)));
            c.put("ssl.truststore.type", "PKCS12");
            c.put("ssl.truststore.location", tls.truststore().toString());
            c.put("ssl.truststore.password", LocalCertificates.read(tls.truststorePassword()));
            clients.put(principal, Map.copyOf(c));
            write(credentials.resolve(principal + ".properties"), principal, c);
        }
        EmbeddedKafka broker = EmbeddedKafka.start(dir.resolve("kafka"), clientPort, false, b, format);
        SecureKafka kafka = new SecureKafka(broker, credentials, clients);
        try {
            kafka.grant(names);
        } catch (Exception e) {
            kafka.close();
            throw new IOException("could not set the ACLs of the secured broker: " + e.getMessage(), e);
        }
        return kafka;
    }

    /** The ACLs of the three principals; everything else is denied ({@code allow.everyone.if.no.acl.found=false}). */
    private void grant(Names n) throws Exception {
        List<AclBinding> acls = new ArrayList<>();
        // The job: consumes gradients and commands in its group, produces its outputs in transactions.
        allow(acls, JOB, ResourceType.TOPIC, n.gradients(), PatternType.LITERAL, AclOperation.READ);
        allow(acls, JOB, ResourceType.TOPIC, n.control(), PatternType.LITERAL, AclOperation.READ);
        for (String out : List.of(n.parameters(), n.rejected(), n.status())) {
            allow(acls, JOB, ResourceType.TOPIC, out, PatternType.LITERAL, AclOperation.WRITE);
        }
        allow(acls, JOB, ResourceType.GROUP, n.jobGroup(), PatternType.LITERAL, AclOperation.READ);
        allow(
                acls,
                JOB,
                ResourceType.TRANSACTIONAL_ID,
                n.transactionalIdPrefix(),
                PatternType.PREFIXED,
                AclOperation.WRITE);
        allow(acls, JOB, ResourceType.CLUSTER, "kafka-cluster", PatternType.LITERAL, AclOperation.IDEMPOTENT_WRITE);
        // The operator: commands models, reads their events and the dead letters; describes what gradstream doctor
        // looks at (topics, offsets, the parameters topic's cleanup policy, the job's consumer lag).
        allow(acls, OPERATOR, ResourceType.TOPIC, n.control(), PatternType.LITERAL, AclOperation.WRITE);
        allow(acls, OPERATOR, ResourceType.TOPIC, n.status(), PatternType.LITERAL, AclOperation.READ);
        allow(acls, OPERATOR, ResourceType.TOPIC, n.rejected(), PatternType.LITERAL, AclOperation.READ);
        allow(acls, OPERATOR, ResourceType.TOPIC, n.gradients(), PatternType.LITERAL, AclOperation.DESCRIBE);
        allow(acls, OPERATOR, ResourceType.TOPIC, n.parameters(), PatternType.LITERAL, AclOperation.DESCRIBE);
        allow(acls, OPERATOR, ResourceType.TOPIC, n.parameters(), PatternType.LITERAL, AclOperation.DESCRIBE_CONFIGS);
        allow(acls, OPERATOR, ResourceType.GROUP, n.jobGroup(), PatternType.LITERAL, AclOperation.DESCRIBE);
        allow(acls, OPERATOR, ResourceType.GROUP, OPERATOR_GROUP_PREFIX, PatternType.PREFIXED, AclOperation.READ);
        // A worker: publishes gradients, follows parameters in a group of its own.
        allow(acls, WORKER, ResourceType.TOPIC, n.gradients(), PatternType.LITERAL, AclOperation.WRITE);
        allow(acls, WORKER, ResourceType.TOPIC, n.parameters(), PatternType.LITERAL, AclOperation.READ);
        allow(acls, WORKER, ResourceType.GROUP, WORKER_GROUP_PREFIX, PatternType.PREFIXED, AclOperation.READ);
        try (Admin admin = Admin.create(new LinkedHashMap<>(clientConfig(ADMIN, bootstrapServers())))) {
            admin.createAcls(acls).all().get(60, TimeUnit.SECONDS);
        }
    }

    private static void allow(
            List<AclBinding> acls,
            String principal,
            ResourceType type,
            String name,
            PatternType pattern,
            AclOperation operation) {
        acls.add(new AclBinding(
                new ResourcePattern(type, name, pattern),
                new AccessControlEntry("User:" + principal, "*", operation, AclPermissionType.ALLOW)));
    }

    public String bootstrapServers() {
        return broker.bootstrapServers();
    }

    /**
     * The Kafka client settings file of {@code principal} ({@code job}, {@code operator}, {@code worker} or
     * {@code admin}): security.protocol, sasl.mechanism, sasl.jaas.config and ssl.truststore.*, readable by its owner
     * only; what {@code --kafka-config} takes. It does not name the brokers.
     */
    public Path clientConfig(String principal) {
        return credentials.resolve(known(principal) + ".properties");
    }

    /** The same settings as {@link #clientConfig(String)}, as a map (holding the password). */
    public Map<String, String> clientProperties(String principal) {
        return clients.get(known(principal));
    }

    /** The CA certificate (PEM), for clients that do not read Java trust stores (librdkafka: ssl.ca.location). */
    public Path caCertificate() {
        return credentials.getParent().resolve("tls").resolve("ca.crt");
    }

    /** {@code bootstrap.servers} and {@code principal}'s settings: a complete client configuration. */
    private Map<String, Object> clientConfig(String principal, String bootstrap) {
        Map<String, Object> c = new LinkedHashMap<>(clientProperties(principal));
        c.put("bootstrap.servers", bootstrap);
        return c;
    }

    private static String known(String principal) {
        if (!PRINCIPALS.contains(principal)) {
            throw new IllegalArgumentException(
                    "unknown principal '" + principal + "' (known: " + String.join(", ", PRINCIPALS) + ")");
        }
        return principal;
    }

    /** Stops the broker; its files stay in the folder given to {@link #start}, which belongs to the caller. */
    @Override
    public void close() throws IOException {
        broker.close();
    }

    private static String jaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user + "\" password=\""
                + password + "\";";
    }

    /** A Kafka client .properties file, owner-only from its creation. */
    private static void write(Path file, String principal, Map<String, String> c) throws IOException {
        EmbeddedKafka.ownerOnlyFile(file);
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write("# Kafka client settings of principal '" + principal + "' on gradstream's secured local broker.\n");
            w.write(
                    "# Private: it holds the password. Use it as --kafka-config, or load it as java.util.Properties.\n");
            for (var e : c.entrySet()) {
                w.write(e.getKey() + "=" + e.getValue().replace("\\", "\\\\") + "\n");
            }
        }
    }
}
