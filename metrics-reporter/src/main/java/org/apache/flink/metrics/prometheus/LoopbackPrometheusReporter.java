package org.apache.flink.metrics.prometheus;

import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.HTTPServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Iterator;
import org.apache.flink.util.PortRange;

/**
 * Flink's Prometheus reporter serving {@code /metrics} on one address (127.0.0.1 unless configured) instead of on
 * every interface as {@link PrometheusReporter} does. It lives in Flink's package because the collector registry it
 * serves is package-private in {@link AbstractPrometheusReporter}.
 */
public final class LoopbackPrometheusReporter extends AbstractPrometheusReporter {
    private final HTTPServer server;
    private final InetSocketAddress address;

    /**
     * Binds the endpoint to the first free port of {@code ports} (a port, or a range such as 9249-9260) on
     * {@code host}.
     *
     * @throws IllegalArgumentException if {@code host} does not resolve
     * @throws UncheckedIOException if no port of the range can be bound
     */
    LoopbackPrometheusReporter(String host, String ports) {
        InetAddress bind;
        try {
            bind = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("Prometheus reporter: unknown host '" + host + "'", e);
        }
        this.server = bind(bind, ports, registry);
        this.address = new InetSocketAddress(bind, server.getPort());
        log.info("Prometheus metrics on http://{}:{}/metrics", bind.getHostAddress(), server.getPort());
    }

    private static HTTPServer bind(InetAddress host, String ports, CollectorRegistry registry) {
        IOException last = null;
        for (Iterator<Integer> it = new PortRange(ports).getPortsIterator(); it.hasNext(); ) {
            try {
                // Daemon threads: a reporter that is never closed (a crashed task manager) must not keep the JVM up.
                return new HTTPServer(new InetSocketAddress(host, it.next()), registry, true);
            } catch (IOException e) {
                last = e; // taken: a port range lets several processes on one host share one setting
            }
        }
        throw new UncheckedIOException(
                "Prometheus reporter: could not bind " + host.getHostAddress() + " on any port of '" + ports + "'",
                last == null ? new IOException("empty port range") : last);
    }

    /** The address and port the endpoint listens on. */
    public InetSocketAddress address() {
        return address;
    }

    @Override
    public void close() {
        server.stop();
        super.close();
    }
}
