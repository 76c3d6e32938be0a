package io.gradstream.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.core.shard.RejectCode;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Meter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard and the Prometheus alert rules name only metrics that exist: those the shard operator
 * registers (recorded from {@code ModelMetrics} itself and named as Flink's Prometheus reporter names them) and a
 * short, explicit list of metrics the job does not report yet. A renamed metric then fails here instead of leaving an
 * empty panel or an alert that can never fire.
 */
class DashboardMetricsTest {
    /** Prometheus scope of an operator metric: "flink_" + the operator's logical scope, '.' turned into '_'. */
    private static final String OPERATOR = "flink_taskmanager_job_task_operator";
    /** The group the shard operator opens under its operator group (ShardOptimizerOperator). */
    private static final String GRADSTREAM_GROUP = "gradstream";

    enum Kind {
        COUNTER,
        GAUGE,
        METER,
        HISTOGRAM
    }

    /**
     * Flink's own metrics in use (https://nightlies.apache.org/flink/flink-docs-release-2.2/docs/ops/metrics/;
     * lastCheckpointCompletedTimestamp, in ms and -1 before the first checkpoint, is registered by Flink 2.2's
     * DefaultCheckpointStatsTracker).
     */
    static final Set<String> FLINK = Set.of(
            "flink_jobmanager_job_uptime",
            "flink_jobmanager_job_numRestarts",
            "flink_jobmanager_job_numberOfFailedCheckpoints",
            "flink_jobmanager_job_lastCheckpointDuration",
            "flink_jobmanager_job_lastCheckpointCompletedTimestamp");

    /** The quantiles Flink's reporter exports for a histogram (its HistogramSummaryProxy). */
    static final Set<String> QUANTILES = Set.of("0.5", "0.75", "0.95", "0.98", "0.99", "0.999");

    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern QUOTED = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
    private static final Pattern QUANTILE = Pattern.compile("quantile=\"([^\"]*)\"");

    private static Map<String, Kind> registered;

    @BeforeAll
    static void recordModelMetrics() throws Exception {
        registered = new TreeMap<>();
        Recorder root = new Recorder(OPERATOR + "_" + GRADSTREAM_GROUP, registered);
        Class<?> type = Class.forName("io.gradstream.operators.ModelMetrics");
        Constructor<?> constructor = type.getDeclaredConstructor(MetricGroup.class, String.class);
        constructor.setAccessible(true);
        Object metrics = constructor.newInstance(root, "m");
        // Rejection counters appear on first use, one per reason.
        Method rejected = type.getDeclaredMethod("rejected", RejectCode.class);
        rejected.setAccessible(true);
        for (RejectCode code : RejectCode.values()) {
            rejected.invoke(metrics, code);
        }
        Constructor<?> backend = Class.forName("io.gradstream.operators.BackendMetrics")
                .getDeclaredConstructor(MetricGroup.class, String.class);
        backend.setAccessible(true);
        backend.newInstance(root, "opencl");
        Constructor<?> load =
                Class.forName("io.gradstream.operators.SubtaskLoad").getDeclaredConstructor(MetricGroup.class);
        load.setAccessible(true);
        load.newInstance(root);
    }

    @Test
    void theShardOperatorRegistersItsMetricsUnderTheGradstreamGroup() {
        assertThat(OpsFiles.text("operators/flink/src/main/java/io/gradstream/operators/ShardOptimizerOperator.java"))
                .as("the group name this test puts in front of ModelMetrics' names")
                .contains("addGroup(\"" + GRADSTREAM_GROUP + "\")");
        assertThat(registered)
                .containsEntry(OPERATOR + "_gradstream_model_gradientsAccepted", Kind.COUNTER)
                .containsEntry(OPERATOR + "_gradstream_model_reason_rejected", Kind.COUNTER)
                .containsEntry(OPERATOR + "_gradstream_subtaskSteps", Kind.COUNTER)
                .containsEntry(OPERATOR + "_gradstream_subtaskBytes", Kind.COUNTER);
    }

    @Test
    void dashboardUsesOnlyKnownMetrics() {
        assertOnlyKnownMetrics("docker/grafana/dashboards/gradstream.json", dashboardExpressions());
    }

    @Test
    void alertRulesUseOnlyKnownMetrics() {
        assertOnlyKnownMetrics("docker/prometheus/alerts.yml", alertExpressions());
    }

    @Test
    void dashboardChartsEveryMetricOfTheShardOperator() {
        Set<String> used = new TreeSet<>();
        dashboardExpressions().forEach(e -> used.addAll(metricNames(e)));
        Set<String> uncharted = new TreeSet<>();
        registered.forEach((name, kind) -> {
            // A meter repeats its counter's rate(); the dashboard charts the counter.
            if (kind != Kind.METER && !used.contains(name)) {
                uncharted.add(name);
            }
        });
        assertThat(uncharted)
                .as("metrics of ModelMetrics, BackendMetrics and SubtaskLoad without a panel")
                .isEmpty();
    }

    @Test
    void histogramQuantilesAreOnesFlinkExports() {
        List<String> expressions = new ArrayList<>(dashboardExpressions());
        expressions.addAll(alertExpressions());
        for (String expr : expressions) {
            Matcher m = QUANTILE.matcher(expr);
            while (m.find()) {
                assertThat(QUANTILES).as("quantile in %s", expr).contains(m.group(1));
            }
        }
    }

    private static void assertOnlyKnownMetrics(String file, List<String> expressions) {
        assertThat(expressions).as("PromQL expressions in %s", file).isNotEmpty();
        Set<String> known = new TreeSet<>(FLINK);
        known.add("up");
        registered.forEach((name, kind) -> {
            known.add(name);
            if (kind == Kind.HISTOGRAM) {
                known.add(name + "_count");
            }
        });
        Set<String> unknown = new TreeSet<>();
        for (String expr : expressions) {
            for (String name : metricNames(expr)) {
                if (!known.contains(name)) {
                    unknown.add(name + "   in   " + expr.strip());
                }
            }
        }
        assertThat(unknown)
                .as("metrics in %s that nothing reports; known: %s", file, known)
                .isEmpty();
    }

    /** Metric names in a PromQL expression: identifiers outside string literals that are Flink's or {@code up}. */
    static Set<String> metricNames(String expr) {
        Set<String> names = new TreeSet<>();
        Matcher m = NAME.matcher(QUOTED.matcher(expr).replaceAll("\"\""));
        while (m.find()) {
            String token = m.group();
            if (token.startsWith("flink_") || token.equals("up")) {
                names.add(token);
            }
        }
        return names;
    }

    private static List<String> dashboardExpressions() {
        List<String> out = new ArrayList<>();
        collect(OpsFiles.json("docker/grafana/dashboards/gradstream.json"), out);
        return out;
    }

    private static void collect(JsonNode node, List<String> out) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                if (e.getKey().equals("expr") && e.getValue().isTextual()) {
                    out.add(e.getValue().asText());
                } else {
                    collect(e.getValue(), out);
                }
            });
        } else if (node.isArray()) {
            node.forEach(child -> collect(child, out));
        }
    }

    private static List<String> alertExpressions() {
        List<String> out = new ArrayList<>();
        for (JsonNode group : OpsFiles.yaml("docker/prometheus/alerts.yml").path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                out.add(rule.path("expr").asText());
            }
        }
        return out;
    }

    /**
     * A metric group that records the Prometheus name of every metric registered in it: the scope joined with '_',
     * the key of a key-value group in the name and its value as a label, as Flink's reporter does.
     */
    private static final class Recorder extends UnregisteredMetricsGroup {
        private final String scope;
        private final Map<String, Kind> out;

        Recorder(String scope, Map<String, Kind> out) {
            this.scope = scope;
            this.out = out;
        }

        private void record(String name, Kind kind) {
            out.put(scope + "_" + name.replaceAll("[^a-zA-Z0-9:_]", "_"), kind);
        }

        @Override
        public Counter counter(String name) {
            return counter(name, new SimpleCounter());
        }

        @Override
        public <C extends Counter> C counter(String name, C counter) {
            record(name, Kind.COUNTER);
            return counter;
        }

        @Override
        public <T, G extends Gauge<T>> G gauge(String name, G gauge) {
            record(name, Kind.GAUGE);
            return gauge;
        }

        @Override
        public <M extends Meter> M meter(String name, M meter) {
            record(name, Kind.METER);
            return meter;
        }

        @Override
        public <H extends Histogram> H histogram(String name, H histogram) {
            record(name, Kind.HISTOGRAM);
            return histogram;
        }

        @Override
        public MetricGroup addGroup(String name) {
            return new Recorder(scope + "_" + name, out);
        }

        @Override
        public MetricGroup addGroup(String key, String value) {
            return new Recorder(scope + "_" + key, out);
        }
    }
}
