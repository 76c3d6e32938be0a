package io.gradstream.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.cli.GradstreamCli;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short {@code gradstream bench soak} (2 minutes; {@code -Dsoak.minutes=0.5} for local iteration): no restart, every
 * hostile record rejected, checkpoints completing throughout, FLAT at a threshold meant for gross leaks, and a CSV and a
 * readable PNG of the series.
 */
class SoakBenchmarkITCase {

    @Test
    void aShortSoakIsFlatAndRejectsEveryHostileRecord(@TempDir Path out) throws Exception {
        String minutes = System.getProperty("soak.minutes", "2");
        StringWriter text = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = GradstreamCli.execute(
                new PrintWriter(text),
                new PrintWriter(err),
                "bench",
                "soak",
                "--minutes",
                minutes,
                "--probe",
                "16",
                "--hostile-every",
                "3",
                "--sample-every",
                "4",
                "--seed",
                "7",
                // Two minutes cannot tell a leak from a warm-up step of a few MiB in the second half (CI saw +6 MiB/min
                // once); this run catches gross leaks (each hostile round retained would be > 20 MiB/min), and the
                // 1 MiB/min verdict is the 30-minute run's in docs/benchmarks.md.
                "--max-heap-slope",
                "12",
                "--out",
                out.toString(),
                // Ghost-model gradients wait this long before they are refused; the run waits for all of them.
                "-D",
                "gradstream.unknown-model-grace=10 s");
        String report = text.toString();
        System.out.println(report);
        assertThat(exit).as(report + err).isZero();
        assertThat(report)
                .contains("FLAT")
                .doesNotContain("GROWING")
                .containsPattern("probe: [1-9][0-9]* updates/s")
                .containsPattern("hostile records: [1-9][0-9]* sent, 0 not rejected; other records rejected: 0");

        List<String> csv = Files.readAllLines(out.resolve("soak.csv"));
        assertThat(csv.get(0))
                .isEqualTo(
                        "seconds,heap_after_gc_mib,state_bytes,checkpoint_id,checkpoint_ms,"
                                + "checkpoints_completed,checkpoints_failed,restarts,lag_records,rejected,updates,updates_per_s");
        double runSeconds = Double.parseDouble(minutes) * 60;
        assertThat(csv).hasSizeGreaterThanOrEqualTo((int) (runSeconds / 4));
        long[][] rows = csv.stream()
                .skip(1)
                .map(l -> Arrays.stream(l.split(","))
                        .mapToLong(v -> (long) Double.parseDouble(v))
                        .toArray())
                .toArray(long[][]::new);
        for (long[] r : rows) {
            assertThat(r[6]).as("failed checkpoints").isZero();
            assertThat(r[7]).as("restarts").isZero();
            assertThat(r[1]).as("heap after GC, MiB").isPositive();
        }
        // Checkpoints complete throughout: in every quarter of the run the count moves on (every 10 s by default).
        int quarter = rows.length / 4;
        for (int q = 0; q < 4; q++) {
            long[] first = rows[q * quarter];
            long[] last = rows[Math.min(rows.length - 1, (q + 1) * quarter)];
            assertThat(last[5]).as("checkpoints completed in quarter %d", q + 1).isGreaterThan(first[5]);
        }
        assertThat(rows[rows.length - 1][2]).as("checkpointed state bytes").isPositive();
        assertThat(rows[rows.length - 1][9]).as("rejected").isPositive();

        BufferedImage png = ImageIO.read(out.resolve("soak.png").toFile());
        assertThat(png).isNotNull();
        assertThat(png.getWidth()).isEqualTo(PngPlot.WIDTH);
        assertThat(png.getHeight()).isEqualTo(PngPlot.height(7));
    }

    @Test
    void invalidArgumentsAreRefused() {
        StringWriter err = new StringWriter();
        int exit = GradstreamCli.execute(
                new PrintWriter(new StringWriter()), new PrintWriter(err), "bench", "soak", "--minutes", "0");
        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("--minutes");
    }

    @Test
    void helpNamesTheOptions() {
        StringWriter out = new StringWriter();
        int exit = GradstreamCli.execute(
                new PrintWriter(out), new PrintWriter(new StringWriter()), "bench", "soak", "--help");
        assertThat(exit).isZero();
        assertThat(out.toString())
                .contains("--minutes", "--rate", "--out", "--hostile-every", "--seed", "FLAT", "GROWING");
    }
}
