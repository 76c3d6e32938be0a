package org.apache.flink.metrics.prometheus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ServiceLoader;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.reporter.MetricReporterFactory;
import org.junit.jupiter.api.Test;

/** The reporter binds where it is told (loopback by default), walks a port range past taken ports, and says why not. */
class LoopbackPrometheusReporterTest {

    private static LoopbackPrometheusReporter create(String... keyValues) {
        MetricConfig c = new MetricConfig();
        for (int i = 0; i < keyValues.length; i += 2) {
            c.setProperty(keyValues[i], keyValues[i + 1]);
        }
        LoopbackPrometheusReporter r = new LoopbackPrometheusReporterFactory().createMetricReporter(c);
        r.open(c);
        return r;
    }

    private static int get(LoopbackPrometheusReporter r) throws Exception {
        var uri = URI.create("http://127.0.0.1:" + r.address().getPort() + "/metrics");
        return HttpClient.newHttpClient()
                .send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.discarding())
                .statusCode();
    }

    @Test
    void bindsLoopbackByDefaultAndServesMetrics() throws Exception {
        LoopbackPrometheusReporter r = create("port", "0");
        try {
            assertThat(r.address().getAddress().isLoopbackAddress()).isTrue();
            assertThat(r.address().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
            assertThat(get(r)).isEqualTo(200);
        } finally {
            r.close();
        }
    }

    @Test
    void skipsTakenPortsOfARange() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int p = taken.getLocalPort();
            LoopbackPrometheusReporter r = create("port", p + "-" + (p + 20));
            try {
                assertThat(r.address().getPort()).isGreaterThan(p).isLessThanOrEqualTo(p + 20);
                assertThat(get(r)).isEqualTo(200);
            } finally {
                r.close();
            }
        }
    }

    @Test
    void refusesWithTheHostAndPortsNamed() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String port = String.valueOf(taken.getLocalPort());
            assertThatThrownBy(() -> create("port", port))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessageContaining("127.0.0.1")
                    .hasMessageContaining(port);
        }
        assertThatThrownBy(() -> create("host", "no-such-host.invalid", "port", "0"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no-such-host.invalid");
    }

    @Test
    void isFoundByFlinksServiceLookup() {
        assertThat(ServiceLoader.load(MetricReporterFactory.class).stream()
                        .map(p -> p.type().getName()))
                .contains(LoopbackPrometheusReporterFactory.class.getName());
    }
}
