package io.gradstream.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The secured embedded broker refuses clients without TLS or with a wrong password, and its ACLs give each principal
 * exactly its part: a worker cannot command models nor read the dead letters, an operator can command them.
 */
class SecureKafkaITCase {
    private static Path dir;
    private static SecureKafka kafka;

    @BeforeAll
    static void start() throws Exception {
        dir = Path.of("target", "secure-kafka-it", UUID.randomUUID().toString()).toAbsolutePath();
        kafka = SecureKafka.start(dir);
        try (Admin admin = Admin.create(config(SecureKafka.ADMIN))) {
            admin.createTopics(Stream.of("control", "gradients", "parameters", "rejected", "status")
                            .map(t -> new NewTopic(t, 1, (short) 1))
                            .toList())
                    .all()
                    .get(60, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
        Folders.deleteTree(dir);
    }

    private static Map<String, Object> config(String principal) {
        Map<String, Object> c = new HashMap<>(kafka.clientProperties(principal));
        c.put("bootstrap.servers", kafka.bootstrapServers());
        return c;
    }

    private static KafkaProducer<byte[], byte[]> producer(Map<String, Object> c) {
        c.put("max.block.ms", "15000");
        c.put("delivery.timeout.ms", "15000");
        c.put("request.timeout.ms", "10000");
        return new KafkaProducer<>(c, new ByteArraySerializer(), new ByteArraySerializer());
    }

    @Test
    void plaintextClientsAreRefused() {
        Map<String, Object> c = Map.of(
                "bootstrap.servers", kafka.bootstrapServers(),
                "default.api.timeout.ms", 5000,
                "request.timeout.ms", 4000);
        try (Admin admin = Admin.create(c)) {
            assertThatThrownBy(() -> admin.listTopics().names().get(10, TimeUnit.SECONDS))
                    .isInstanceOfAny(ExecutionException.class, java.util.concurrent.TimeoutException.class);
        }
    }

    @Test
    void aWrongPasswordIsRefused() {
        Map<String, Object> c = config(SecureKafka.WORKER);
        String jaas = (String) c.get("sasl.jaas.config");
        c.put("sasl.jaas.config", jaas.replaceAll("password=\"[^\"]*\"", "password=\"guessed\""));
        try (var producer = producer(c)) {
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>("gradients", new byte[] {1}))
                            .get(30, TimeUnit.SECONDS))
                    .hasRootCauseInstanceOf(SaslAuthenticationException.class);
        }
    }

    @Test
    void aWorkerWritesGradientsAndReadsParametersButCannotCommandModelsNorReadRejections() throws Exception {
        try (var producer = producer(config(SecureKafka.WORKER))) {
            producer.send(new ProducerRecord<>("gradients", new byte[] {1})).get(30, TimeUnit.SECONDS);
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>("control", new byte[] {1}))
                            .get(30, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(TopicAuthorizationException.class);
        }
        try (var consumer = consumer(SecureKafka.WORKER, SecureKafka.WORKER_GROUP_PREFIX + "it", "parameters")) {
            assertThat(consumer.poll(Duration.ofSeconds(2)).count()).isZero();
        }
        try (var consumer = consumer(SecureKafka.WORKER, SecureKafka.WORKER_GROUP_PREFIX + "it", "rejected")) {
            assertThatThrownBy(() -> {
                        for (int i = 0; i < 30; i++) {
                            consumer.poll(Duration.ofMillis(500));
                        }
                    })
                    .isInstanceOf(TopicAuthorizationException.class)
                    .hasMessageContaining("rejected");
        }
    }

    @Test
    void anOperatorCommandsModels() throws Exception {
        try (var producer = producer(config(SecureKafka.OPERATOR))) {
            assertThat(producer.send(new ProducerRecord<>("control", new byte[] {1}))
                            .get(30, TimeUnit.SECONDS)
                            .topic())
                    .isEqualTo("control");
        }
    }

    @Test
    void credentialFilesAreTheClientSettingsAndOnlyTheirOwnerReadsThem() throws Exception {
        for (String principal : List.of(SecureKafka.JOB, SecureKafka.OPERATOR, SecureKafka.WORKER)) {
            Path file = kafka.clientConfig(principal);
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(file)) {
                p.load(r);
            }
            Map<String, String> loaded = new HashMap<>();
            p.stringPropertyNames().forEach(k -> loaded.put(k, p.getProperty(k)));
            assertThat(loaded).isEqualTo(kafka.clientProperties(principal));
            assertThat(loaded)
                    .containsEntry("security.protocol", "SASL_SSL")
                    .containsEntry("sasl.mechanism", "SCRAM-SHA-512");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                    .isEqualTo("rw-------");
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("credentials"))))
                .isEqualTo("rwx------");
        try (Stream<Path> tls = Files.list(dir.resolve("tls"))) {
            assertThat(tls.map(f -> f.getFileName().toString()))
                    .as("the CA's key is gone once it signed the broker's certificate")
                    .containsExactlyInAnyOrder(
                            "broker.p12", "broker.password", "truststore.p12", "truststore.password", "ca.crt");
        }
        assertThat(PosixFilePermissions.toString(
                        Files.getPosixFilePermissions(dir.resolve("kafka").resolve("server.properties"))))
                .isEqualTo("rw-------");
    }

    private static KafkaConsumer<byte[], byte[]> consumer(String principal, String group, String topic) {
        Map<String, Object> c = config(principal);
        c.put("group.id", group);
        c.put("auto.offset.reset", "earliest");
        var consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        consumer.subscribe(List.of(topic));
        return consumer;
    }
}
