package io.gradstream.ops.audit;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.ops.FlinkRest;
import io.gradstream.ops.FlinkRestException;
import java.net.URI;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The Flink part of the audit: whether the REST endpoint (which can cancel jobs, upload and run jars) speaks TLS,
 * asks clients for certificates, or is bound to the loopback interface only, read from the JobManager's own
 * configuration.
 */
final class FlinkAudit {
    private static final Set<String> LOOPBACK = Set.of("127.0.0.1", "localhost", "::1", "[::1]");

    private FlinkAudit() {}

    static Finding run(String url) {
        Map<String, String> config = new HashMap<>();
        try {
            for (JsonNode e : new FlinkRest(url).get("jobmanager/config")) {
                config.put(e.path("key").asText(), e.path("value").asText());
            }
        } catch (FlinkRestException | IllegalArgumentException e) {
            return Finding.warn("flink rest", url + " did not answer (" + e.getMessage() + "): not audited");
        }
        return verdict(URI.create(url).getScheme(), config);
    }

    /**
     * https with client certificates: PASS; plain or one-way TLS bound to loopback only: PASS (only this machine
     * reaches it); one-way TLS on the network: WARN; plain HTTP on the network: FAIL.
     */
    static Finding verdict(String scheme, Map<String, String> jm) {
        boolean tls =
                "https".equals(scheme) || Boolean.parseBoolean(jm.getOrDefault("security.ssl.rest.enabled", "false"));
        boolean clientCerts =
                tls && Boolean.parseBoolean(jm.getOrDefault("security.ssl.rest.authentication-enabled", "false"));
        // Flink binds the REST server to rest.bind-address, all interfaces when it is not set.
        String bind = jm.getOrDefault("rest.bind-address", "0.0.0.0");
        boolean loopback = LOOPBACK.contains(bind) || bind.startsWith("127.");
        String what =
                (tls ? "TLS" : "plain HTTP") + (clientCerts ? " with client certificates" : "") + ", bound to " + bind;
        if (clientCerts) {
            return Finding.pass("flink rest", what);
        }
        if (loopback) {
            return Finding.pass("flink rest", what + ": reachable from this machine only");
        }
        if (tls) {
            return Finding.warn(
                    "flink rest",
                    what + ": anyone who reaches it can cancel jobs and run jars "
                            + "(security.ssl.rest.authentication-enabled, or a proxy that authenticates)");
        }
        return Finding.fail(
                "flink rest",
                what + ": anyone who reaches it can read job configurations, cancel jobs and run jars, in clear "
                        + "(security.ssl.rest.enabled with client certificates, or rest.bind-address: 127.0.0.1 behind"
                        + " an authenticating proxy)");
    }
}
