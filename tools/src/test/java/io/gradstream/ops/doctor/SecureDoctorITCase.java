package io.gradstream.ops.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.cli.GradstreamCli;
import io.gradstream.kafka.Folders;
import io.gradstream.kafka.KafkaClients;
import io.gradstream.kafka.KafkaIo;
import io.gradstream.kafka.SecureKafka;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;

/**
 * {@code gradstream doctor --kafka-config FILE} against the secured broker: with the operator's credential file the
 * Kafka checks pass; with the worker's, the ACLs hide the topics a worker has no business with; without one, the
 * SASL_SSL listener does not answer a plaintext client.
 */
class SecureDoctorITCase {

    private static String doctor(int expectedStatus, String... args) {
        StringWriter out = new StringWriter();
        String[] all = new String[args.length + 1];
        all[0] = "doctor";
        System.arraycopy(args, 0, all, 1, args.length);
        int rc = GradstreamCli.execute(new PrintWriter(out, true), new PrintWriter(new StringWriter()), all);
        assertThat(rc).as(out.toString()).isEqualTo(expectedStatus);
        return out.toString();
    }

    @Test
    void theKafkaChecksRunAsThePrincipalOfTheClientFile() throws Exception {
        Path dir = Path.of("target", "secure-doctor-it", UUID.randomUUID().toString())
                .toAbsolutePath();
        try (SecureKafka kafka = SecureKafka.start(dir)) {
            String bs = kafka.bootstrapServers();
            try (Admin admin = Admin.create(KafkaClients.config(bs, kafka.clientProperties(SecureKafka.ADMIN)))) {
                admin.createTopics(List.of(
                                new NewTopic("control", 1, (short) 1),
                                new NewTopic("gradients", 2, (short) 1),
                                new NewTopic("parameters", 2, (short) 1).configs(KafkaIo.parametersTopicConfig()),
                                new NewTopic("rejected", 1, (short) 1),
                                new NewTopic("status", 1, (short) 1)))
                        .all()
                        .get(30, TimeUnit.SECONDS);
            }
            // No job runs: the checks that ask Flink or need the job's consumer group are left out.
            String skip = "flink,job restarts,checkpoint,consumer lag";
            String operator = kafka.clientConfig(SecureKafka.OPERATOR).toString();
            assertThat(doctor(0, "--skip", skip, "--bootstrap-servers", bs, "--kafka-config", operator))
                    .contains("OK    kafka         " + bs + ": cluster ")
                    .contains("OK    kafka topics  control, gradients, parameters, rejected, status exist; "
                            + "parameters has cleanup.policy=compact")
                    .contains("OK    rejections");
            String worker = kafka.clientConfig(SecureKafka.WORKER).toString();
            assertThat(doctor(1, "--skip", skip, "--bootstrap-servers", bs, "--kafka-config", worker))
                    .contains("OK    kafka         ")
                    .contains("FAIL  kafka topics  missing topic(s) control, rejected, status");
            assertThat(doctor(1, "--skip", skip + ",kafka topics,rejections", "--bootstrap-servers", bs))
                    .containsPattern(
                            "FAIL  kafka +" + java.util.regex.Pattern.quote(bs) + " did not answer within 10 s");
        } finally {
            Folders.deleteTree(dir);
        }
    }
}
