package io.gradstream.cli;

import static io.gradstream.cli.CliRuns.cli;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.bench.LatencySplit;
import io.gradstream.bench.PipelineBenchmark;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

/**
 * {@code gradstream bench pipeline}'s latency window: documented in its help, refused out of range before a broker
 * starts, and carried into the benchmark's options.
 */
class PipelineOptionsTest {

    @Test
    void helpExplainsTheLatencyWindowAndItsDefault() {
        var run = cli("bench", "pipeline", "--help");
        assertThat(run.status()).isZero();
        assertThat(run.out().replaceAll("\\s+", " "))
                .contains("--latency-duration=S")
                .contains("Seconds of the latency phase")
                .contains("(default 30: three at-least-once checkpoint intervals");
    }

    @Test
    void aLatencyWindowOutOfRangeIsRefusedBeforeAnythingStarts() {
        for (String seconds : List.of("0", "-5", "601")) {
            var run = cli("bench", "pipeline", "--latency-duration", seconds);
            assertThat(run.status()).as(seconds).isEqualTo(2);
            assertThat(run.err()).as(seconds).contains("--latency-duration must be >= 1");
            assertThat(run.out()).as(seconds).doesNotContain("bench:");
        }
    }

    @Test
    void theOptionsCarryTheWindowAndRefuseLessThanOneSecond() {
        var o = new PipelineBenchmark.Options(
                16,
                1024,
                2,
                Duration.ofSeconds(5),
                Duration.ofSeconds(8),
                new Configuration(),
                10,
                1,
                List.of(),
                Duration.ofSeconds(45),
                LatencySplit.APPEND,
                Map.of("log.flush.interval.ms", "1000"));
        assertThat(o.latency()).isEqualTo(Duration.ofSeconds(45));
        assertThat(o.split().timestampType()).isEqualTo(TimestampType.LOG_APPEND_TIME);
        assertThat(o.broker()).containsExactly(Map.entry("log.flush.interval.ms", "1000"));
        var defaults = new PipelineBenchmark.Options(
                16, 1024, 2, Duration.ofSeconds(5), Duration.ofSeconds(8), new Configuration());
        assertThat(defaults.latency())
                .isEqualTo(PipelineBenchmark.Options.DEFAULT_LATENCY)
                .isEqualTo(Duration.ofSeconds(30));
        assertThat(defaults.split()).isEqualTo(LatencySplit.SEND);
        assertThat(defaults.split().timestampType()).isEqualTo(TimestampType.CREATE_TIME);
        assertThat(defaults.broker()).isEmpty();
        assertThatThrownBy(() -> new PipelineBenchmark.Options(
                        16,
                        1024,
                        2,
                        Duration.ofSeconds(5),
                        Duration.ofSeconds(8),
                        new Configuration(),
                        1,
                        1,
                        List.of(),
                        Duration.ofMillis(999),
                        LatencySplit.SEND,
                        Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--latency-duration must be >= 1 s");
    }

    @Test
    void brokerSettingsNeedTheEmbeddedBroker() {
        var run = cli(
                "bench",
                "pipeline",
                "--bootstrap-servers",
                "127.0.0.1:1",
                "--broker",
                "log.flush.interval.ms=1000",
                "--runs",
                "1");
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("--broker sets the embedded broker; with --bootstrap-servers there is none");
        assertThat(run.out()).doesNotContain("bench:");
    }

    @Test
    void helpNamesTheEmbeddedBrokersFlushAndHowToTurnItOff() {
        var run = cli("bench", "pipeline", "--help");
        assertThat(run.out().replaceAll("\\s+", " "))
                .contains("--broker=KEY=VALUE")
                .contains("flush.interval.ms=9223372036854775807 for Kafka's default")
                .contains("the embedded broker flushes every 500 ms");
    }
}
