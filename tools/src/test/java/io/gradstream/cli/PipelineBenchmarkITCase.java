package io.gradstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** A short run of {@code gradstream bench pipeline}: every phase reports a number. */
class PipelineBenchmarkITCase {

    @Test
    void aShortRunReportsThroughputLatencyAndTheCopyLoop() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = GradstreamCli.execute(
                new PrintWriter(out),
                new PrintWriter(err),
                "bench",
                "pipeline",
                "--shards",
                "2",
                "--shard-size",
                "1024",
                "--workers",
                "1",
                "--warmup",
                "2",
                "--duration",
                "3");
        String text = out.toString();
        assertThat(exit).as(text + err).isZero();
        assertThat(text)
                .containsPattern("copy loop: [0-9.]+ MB/s \\([0-9]+ records\\)")
                .containsPattern("drain: [1-9][0-9]* steps/s, [0-9.]+ MB/s \\(pipeline / copy loop = [0-9.]+\\)")
                .containsPattern("live: [0-9]+ steps/s, input [0-9.]+ MB/s")
                .containsPattern("latency at [0-9]+ steps/s: p50 [0-9.]+ ms, p99 [0-9.]+ ms \\([1-9][0-9]* updates\\)");
        assertThat(text).doesNotContain("NaN").doesNotContain("Infinity");
    }

    @Test
    void invalidArgumentsAreRefused() {
        StringWriter err = new StringWriter();
        int exit = GradstreamCli.execute(
                new PrintWriter(new StringWriter()), new PrintWriter(err), "bench", "pipeline", "--shards", "0");
        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("--shards");
    }
}
