package io.gradstream.ops.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.cli.GradstreamCli;
import io.gradstream.kafka.EmbeddedKafka;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code gradstream doctor} against a real Kafka broker: a missing topic and a parameters topic that is not compacted
 * each fail the Kafka topic check with the reason, and the check passes once the topic is fixed.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class DoctorITCase {

    private static String doctor(int expectedStatus, String... args) {
        StringWriter out = new StringWriter();
        String[] all = new String[args.length + 3];
        all[0] = "doctor";
        all[1] = "--skip";
        all[2] = "flink";
        System.arraycopy(args, 0, all, 3, args.length);
        int rc = GradstreamCli.execute(new PrintWriter(out, true), new PrintWriter(new StringWriter()), all);
        assertThat(rc).as(out.toString()).isEqualTo(expectedStatus);
        return out.toString();
    }

    @Test
    void topicCheckFailsUntilTheParametersTopicIsCompacted() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start();
                Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            String bs = kafka.bootstrapServers();
            admin.createTopics(List.of(new NewTopic("control", 1, (short) 1), new NewTopic("gradients", 2, (short) 1),
                    new NewTopic("parameters", 2, (short) 1).configs(Map.of("cleanup.policy", "delete"))))
                    .all().get(30, TimeUnit.SECONDS);

            String missing = doctor(1, "--bootstrap-servers", bs);
            assertThat(missing).contains("OK    kafka         " + bs + ": cluster ")
                    .contains("FAIL  kafka topics  missing topic(s) rejected, status");

            admin.createTopics(List.of(new NewTopic("rejected", 1, (short) 1), new NewTopic("status", 1, (short) 1)))
                    .all().get(30, TimeUnit.SECONDS);
            String notCompacted = doctor(1, "--bootstrap-servers", bs);
            assertThat(notCompacted).contains("FAIL  kafka topics  control, gradients, parameters, rejected, status "
                    + "exist; parameters has cleanup.policy=delete, must be compact").endsWith("1 FAIL\n");

            ConfigResource params = new ConfigResource(ConfigResource.Type.TOPIC, "parameters");
            admin.incrementalAlterConfigs(Map.of(params, List.of(new AlterConfigOp(
                    new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.SET))))
                    .all().get(30, TimeUnit.SECONDS);
            String fixed = doctor(0, "--bootstrap-servers", bs);
            assertThat(fixed).contains("OK    kafka topics  control, gradients, parameters, rejected, status "
                    + "exist; parameters has cleanup.policy=compact").contains("0 FAIL");

            // Topic names come from the job configuration.
            String renamed = doctor(1, "--bootstrap-servers", bs, "--set", "gradstream.topics.parameters=params-v2");
            assertThat(renamed).contains("FAIL  kafka topics  missing topic(s) params-v2");
        }
    }
}
