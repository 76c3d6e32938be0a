package io.gradstream.ops.model;

import io.gradstream.model.Limits;
import java.util.Map;

/**
 * Where the model commands read and write: Kafka client settings (bootstrap.servers included) per purpose, the job's
 * topic names and the limits its models must stay within. Flink-free, so these commands run against any Kafka cluster.
 *
 * @param client the settings of the principal given with --kafka-config (control, rejected, status)
 * @param parametersClient the settings that read the parameters topic (another principal's where one is given)
 */
public record ModelTarget(
        Map<String, Object> client, Map<String, Object> parametersClient, Topics topics, Limits limits) {

    /** The job's topic names. */
    public record Topics(String control, String parameters, String rejected, String status) {}

    public ModelTarget {
        client = Map.copyOf(client);
        parametersClient = Map.copyOf(parametersClient);
    }
}
