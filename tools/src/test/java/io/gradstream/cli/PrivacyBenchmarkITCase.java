package io.gradstream.cli;

import static io.gradstream.cli.CliRuns.cli;
import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short {@code gradstream bench privacy} end to end (embedded Kafka, the job, the demo's workers): every setting of
 * every run is in the CSV with the epsilon the service reported, within the calibration's tolerance below its target,
 * and the summary table and plot are written. Not the accuracies, which a 20-step run cannot show.
 */
class PrivacyBenchmarkITCase {

    @Test
    void aShortStudyReachesEachTargetWithBothMechanisms(@TempDir Path out) throws Exception {
        CliRuns.CliRun run =
                cli("bench", "privacy", "--runs", "1", "--steps", "20", "--epsilons", "2,8", "--out", out.toString());
        assertThat(run.status()).as(run.out() + run.err()).isZero();
        assertThat(run.out())
                .contains("| epsilon | DP-SGD accuracy | DP-FTRL accuracy | DP-SGD sigma | DP-FTRL sigma |")
                .containsPattern("\\| 2\\.00 \\| 0\\.[0-9]{3} \\[")
                .containsPattern("\\| 8\\.00 \\| 0\\.[0-9]{3} \\[");

        List<String> lines = Files.readAllLines(out.resolve("privacy.csv"));
        assertThat(lines.get(0))
                .isEqualTo("mechanism,target_epsilon,run,epsilon,noise_multiplier,accuracy,loss,seconds");
        assertThat(lines).hasSize(1 + 1 + 2 * 2);
        int ftrl = 0;
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",", -1);
            double accuracy = Double.parseDouble(f[5]);
            assertThat(accuracy).as(line).isBetween(0.0, 1.0);
            if (f[0].equals("non-private")) {
                assertThat(f[3]).as("no epsilon without privacy").isEmpty();
                continue;
            }
            ftrl += f[0].equals("DP-FTRL") ? 1 : 0;
            double target = Double.parseDouble(f[1]);
            assertThat(Double.parseDouble(f[3])).as(line).isBetween(target - 0.01, target);
            assertThat(Double.parseDouble(f[4])).as(line).isPositive();
        }
        assertThat(ftrl).isEqualTo(2);
        BufferedImage plot = ImageIO.read(out.resolve("privacy.png").toFile());
        assertThat(plot.getWidth()).isPositive();
    }

    @Test
    void invalidSettingsAreRefusedBeforeAnythingStarts(@TempDir Path out) {
        CliRuns.CliRun run = cli("bench", "privacy", "--epsilons", "0", "--out", out.toString());
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("every epsilon must be finite and > 0");
        CliRuns.CliRun rate = cli("bench", "privacy", "--sample-rate", "2", "--out", out.toString());
        assertThat(rate.status()).isEqualTo(2);
        assertThat(rate.err()).contains("sample rate must be in (0, 1]");
    }
}
