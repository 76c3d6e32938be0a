package io.gradstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.kafka.EmbeddedKafka;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;

/**
 * Short runs of {@code gradstream bench pipeline}: every phase of every run reports a number, every gradient of every
 * backlog is applied, and the summary has a median/min/max row for everything, encodings beside FP32 included.
 */
class PipelineBenchmarkITCase {

    private static final String NUMBER = "([0-9]+(?:\\.[0-9]+)?)";

    /** {@code bench pipeline} on 2 shards of 1024 floats with one publisher, then {@code more}; returns its output. */
    private static String smallBench(String... more) {
        List<String> args = new ArrayList<>(
                List.of("bench", "pipeline", "--shards", "2", "--shard-size", "1024", "--workers", "1", "--runs", "2"));
        args.addAll(List.of(more));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = GradstreamCli.execute(new PrintWriter(out), new PrintWriter(err), args.toArray(String[]::new));
        String text = out.toString();
        assertThat(exit).as(text + err).isZero();
        return text;
    }

    @Test
    void repeatedRunsAtParallelismTwoWithEncodingsReportEveryRowAndDrainEveryRecord() {
        String text = smallBench(
                "--warmup",
                "2",
                "--duration",
                "2",
                "--latency-duration",
                "3",
                "--parallelism",
                "2",
                "--encoding",
                "bf16,topk:0.1");
        assertThat(text).doesNotContain("NaN").doesNotContain("Infinity");
        assertThat(text).contains("parallelism 2").contains("encodings [fp32, bf16, topk:0.1]");

        // Both copy loops copy every record of the backlog, in each run.
        assertThat(count(text, "(?m)^copy loop: [0-9.]+ MB/s \\(([0-9]+) records\\)$"))
                .hasSize(2);
        assertThat(count(text, "(?m)^pipelined copy loop: [0-9.]+ MB/s \\(([0-9]+) records\\)$"))
                .hasSize(2);
        List<Long> backlog = count(text, "(?m)^copy loop: [0-9.]+ MB/s \\(([0-9]+) records\\)$");
        assertThat(count(text, "(?m)^pipelined copy loop: [0-9.]+ MB/s \\(([0-9]+) records\\)$"))
                .isEqualTo(backlog);

        // The job applies every gradient of every backlog, for each encoding, and every ratio is finite and positive.
        Matcher fp32 = Pattern.compile("(?m)^drain: " + NUMBER + " steps/s, " + NUMBER + " MB/s, ([0-9]+) of ([0-9]+) "
                        + "gradients applied \\(pipeline / copy loop = " + NUMBER
                        + ", pipeline / pipelined copy loop = "
                        + NUMBER + "\\)$")
                .matcher(text);
        int fp32Drains = 0;
        while (fp32.find()) {
            fp32Drains++;
            assertThat(Double.parseDouble(fp32.group(1))).isPositive();
            assertThat(fp32.group(3)).isEqualTo(fp32.group(4));
            assertThat(Long.parseLong(fp32.group(4))).isEqualTo(backlog.get(0));
            assertThat(Double.parseDouble(fp32.group(5))).isPositive();
            assertThat(Double.parseDouble(fp32.group(6))).isPositive();
        }
        assertThat(fp32Drains).isEqualTo(2);
        for (String encoding : List.of("bf16", "topk:0.1")) {
            Matcher m = Pattern.compile("(?m)^drain " + Pattern.quote(encoding) + ": " + NUMBER + " steps/s, in "
                            + NUMBER + " MB/s, out " + NUMBER + " MB/s, ([0-9]+) of ([0-9]+) gradients applied$")
                    .matcher(text);
            int drains = 0;
            while (m.find()) {
                drains++;
                assertThat(Double.parseDouble(m.group(1))).as(encoding).isPositive();
                assertThat(m.group(4)).as(encoding).isEqualTo(m.group(5));
            }
            assertThat(drains).as(encoding).isEqualTo(2);
            assertThat(count(
                            text,
                            "(?m)^drain " + Pattern.quote(encoding)
                                    + " steps/s / fp32's \\(same run\\) = ([0-9]+)\\.[0-9]+$"))
                    .hasSize(2);
        }
        // Run 1 drains FP32 first, run 2 drains it last (the encodings rotated by the run's index).
        List<String> order = new ArrayList<>();
        Matcher drainLine = Pattern.compile("(?m)^drain( [a-z0-9:.]+)?: ").matcher(text);
        while (drainLine.find()) {
            order.add(drainLine.group(1) == null ? "fp32" : drainLine.group(1).trim());
        }
        assertThat(order).containsExactly("fp32", "bf16", "topk:0.1", "bf16", "topk:0.1", "fp32");
        assertThat(count(text, "(?m)^live: ([0-9]+) steps/s, input [0-9.]+ MB/s, output [0-9.]+ MB/s$"))
                .hasSize(2)
                .allMatch(n -> n > 0);
        assertEachLatencySplitWithinItsWhole(text, 3, "the job's send");

        // The summary: median, min and max of every row, and one row per encoding.
        assertThat(text).contains("summary: 2 runs, parallelism 2");
        for (String row : List.of(
                "copy loop MB/s",
                "pipelined copy loop MB/s",
                "drain MB/s",
                "drain steps/s",
                "drain / copy loop",
                "drain / pipelined copy loop",
                "live steps/s",
                "live in MB/s",
                "live out MB/s",
                "p50 ms at half the live load",
                "p99 ms at half the live load",
                "p99 ms of its part up to the job's send")) {
            assertThat(text)
                    .as(row)
                    .containsPattern("(?m)^\\| " + Pattern.quote(row) + " \\| " + NUMBER + " \\| " + NUMBER + " \\| "
                            + NUMBER + " \\|$");
        }
        assertThat(text).containsPattern("p99 <= 50 ms in [0-2] of 2 runs");
        for (String encoding : List.of("fp32", "bf16", "topk:0.1")) {
            String cell = NUMBER + " \\[" + NUMBER + ", " + NUMBER + "\\]";
            assertThat(text)
                    .as(encoding)
                    .containsPattern("(?m)^\\| " + Pattern.quote(encoding) + " \\| [1-9][0-9]* \\| [1-9][0-9]* \\| "
                            + cell + " \\| " + cell + " \\| " + cell + " \\| " + cell + " \\|$");
        }
        // FP32's own ratio is 1 in every run; BF16 gradients are about half of FP32's bytes.
        assertThat(text).containsPattern("(?m)^\\| fp32 \\| .* \\| 1\\.00 \\[1\\.00, 1\\.00\\] \\|$");
        Matcher bytes = Pattern.compile("(?m)^\\| (fp32|bf16) \\| ([0-9]+) \\|").matcher(text);
        List<Long> recordBytes = new ArrayList<>();
        while (bytes.find()) {
            recordBytes.add(Long.parseLong(bytes.group(2)));
        }
        assertThat(recordBytes).hasSize(2);
        assertThat((double) recordBytes.get(1) / recordBytes.get(0)).isBetween(0.45, 0.55);
    }

    /** --bootstrap-servers: the runs use that broker (no embedded one) and leave none of their topics behind. */
    @Test
    void anExternalBrokerIsUsedAndLeftWithoutTheRunsTopics() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            String text = smallBench(
                    "--bootstrap-servers",
                    kafka.bootstrapServers(),
                    "--warmup",
                    "1",
                    "--duration",
                    "1",
                    "--latency-duration",
                    "2",
                    "--split-at",
                    "append");
            assertThat(text).contains("broker " + kafka.bootstrapServers());
            assertEachLatencySplitWithinItsWhole(text, 2, "the broker's append");
            Matcher drain = Pattern.compile("(?m)^drain: .* ([0-9]+) of ([0-9]+) gradients applied")
                    .matcher(text);
            int drains = 0;
            while (drain.find()) {
                drains++;
                assertThat(drain.group(1)).isEqualTo(drain.group(2));
            }
            assertThat(drains).isEqualTo(2);
            try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()))) {
                assertThat(admin.listTopics().names().get(30, TimeUnit.SECONDS))
                        .as("topics the runs left behind")
                        .isEmpty();
            }
        }
    }

    @Test
    void invalidArgumentsAreRefused() {
        for (String[] args : List.of(
                new String[] {"--shards", "0"},
                new String[] {"--runs", "0"},
                new String[] {"--parallelism", "0"},
                new String[] {"--encoding", "fp33"},
                new String[] {"--split-at", "middle"})) {
            StringWriter err = new StringWriter();
            String[] argv = new String[args.length + 2];
            argv[0] = "bench";
            argv[1] = "pipeline";
            System.arraycopy(args, 0, argv, 2, args.length);
            int exit = GradstreamCli.execute(new PrintWriter(new StringWriter()), new PrintWriter(err), argv);
            assertThat(exit).as(String.join(" ", args)).isEqualTo(2);
            assertThat(err.toString()).contains(args[0]);
        }
    }

    /** Both runs split every update's latency at {@code point}, and each part's percentiles are within the whole's. */
    private static void assertEachLatencySplitWithinItsWhole(String text, int seconds, String point) {
        Matcher latency = Pattern.compile("(?m)^latency at [0-9]+ steps/s over " + seconds
                        + " s: p50 ([0-9.]+) ms, p99 ([0-9.]+) ms \\(([0-9]+) updates\\); up to " + Pattern.quote(point)
                        + ": p50 ([0-9.]+) ms, p99 ([0-9.]+) ms$")
                .matcher(text);
        int latencyLines = 0;
        while (latency.find()) {
            latencyLines++;
            assertThat(Long.parseLong(latency.group(3))).isPositive();
            // Each update's part up to the split is at most its whole latency, so each percentile is too.
            assertThat(Double.parseDouble(latency.group(4))).isBetween(0.0, Double.parseDouble(latency.group(1)));
            assertThat(Double.parseDouble(latency.group(5))).isBetween(0.0, Double.parseDouble(latency.group(2)));
        }
        assertThat(latencyLines).isEqualTo(2);
        assertThat(text).as("every update carried the split's timestamp").doesNotContain("not split");
        assertThat(text)
                .containsPattern("p99 of the part up to " + Pattern.quote(point) + " <= 50 ms in [0-2] of 2 runs");
    }

    private static List<Long> count(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        List<Long> values = new ArrayList<>();
        while (m.find()) {
            values.add(Long.parseLong(m.group(1)));
        }
        return values;
    }
}
