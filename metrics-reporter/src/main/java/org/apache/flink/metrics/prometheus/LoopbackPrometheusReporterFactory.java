package org.apache.flink.metrics.prometheus;

import java.util.Properties;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * Creates a {@link LoopbackPrometheusReporter}: {@code metrics.reporter.<name>.factory.class} set to this class,
 * {@code metrics.reporter.<name>.host} (default {@value #DEFAULT_HOST}) and {@code metrics.reporter.<name>.port}
 * (a port or a range such as {@code 9249-9260}, default {@value #DEFAULT_PORT}).
 */
public final class LoopbackPrometheusReporterFactory implements MetricReporterFactory {
    public static final String HOST = "host";
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final String PORT = "port";
    public static final String DEFAULT_PORT = "9249";

    @Override
    public LoopbackPrometheusReporter createMetricReporter(Properties properties) {
        MetricConfig config = properties instanceof MetricConfig m ? m : copy(properties);
        String host = config.getString(HOST, DEFAULT_HOST).strip();
        String ports = config.getString(PORT, DEFAULT_PORT).strip();
        return new LoopbackPrometheusReporter(host.isEmpty() ? DEFAULT_HOST : host, ports);
    }

    private static MetricConfig copy(Properties p) {
        MetricConfig c = new MetricConfig();
        c.putAll(p);
        return c;
    }
}
