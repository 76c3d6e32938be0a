package io.gradstream.cli;

import static io.gradstream.cli.CliRuns.cli;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gradstream model} and {@code gradstream export} refusing bad input before any Kafka client starts (the
 * brokers named here do not exist), and their help.
 */
class ModelCommandTest {
    static final String[] NOWHERE = {"--bootstrap-servers", "127.0.0.1:1", "--read-timeout", "2s"};

    @TempDir
    Path dir;

    @Test
    void anInvalidSpecIsRefusedWithTheFieldBeforeAnythingIsSent() throws Exception {
        Path spec = Files.writeString(
                dir.resolve("m.yaml"),
                "modelId: m\ntensors: {w: [3]}\noptimizer: SGD\nhyperparameters: {lr: 0.1}\n"
                        + "aggregation: {mode: SYNC, workers: -2}\n");
        var run = cli("model", "create", "--spec", spec.toString(), NOWHERE[0], NOWHERE[1]);
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err())
                .startsWith("gradstream model create: " + spec + ": ")
                .contains("workers");
        assertThat(run.out()).isEmpty();
        Path noLr = Files.writeString(dir.resolve("n.yaml"), "modelId: m\ntensors: {w: [3]}\noptimizer: SGD\n");
        var lr = cli("model", "create", "--spec", noLr.toString(), NOWHERE[0], NOWHERE[1]);
        assertThat(lr.status()).isEqualTo(2);
        assertThat(lr.err()).contains(noLr + ": hyperparameters.lr: ");

        Path missing = dir.resolve("none.yaml");
        var absent = cli("model", "create", "--spec", missing.toString());
        assertThat(absent.status()).isEqualTo(2);
        assertThat(absent.err()).contains(missing + " is not a file");
    }

    @Test
    void aDryRunChecksAndSendsNothing() throws Exception {
        Path spec = Files.writeString(dir.resolve("m.json"), "{\"tensors\": {\"w\": [3]}, \"optimizer\": \"Adam\"}");
        var run = cli("model", "create", "--spec", spec.toString(), "--model-id", "m-1", "--dry-run");
        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out())
                .contains("model m-1: the spec is valid; nothing sent")
                .contains("\"optimizer\": \"Adam\"");
        var noId = cli("model", "create", "--spec", spec.toString(), "--dry-run");
        assertThat(noId.status()).isEqualTo(2);
        assertThat(noId.err()).contains("modelId: is required");
    }

    @Test
    void updatesNeedSomethingToChangeAndReadableValues() {
        var nothing = cli("model", "update", "m");
        assertThat(nothing.status()).isEqualTo(2);
        assertThat(nothing.err()).contains("nothing to update");
        var noValue = cli("model", "update", "m", "lr");
        assertThat(noValue.status()).isEqualTo(2);
        assertThat(noValue.err()).contains("lr: expected KEY=VALUE");
        var badList = cli("model", "update", "m", "betas=[0.9,x]");
        assertThat(badList.status()).isEqualTo(2);
        assertThat(badList.err()).contains("betas[1]: expected a number");
    }

    @Test
    void exportRefusesBadOptionsAndWritesNothing() {
        Path out = dir.resolve("m.bin");
        var format = cli("export", "m", "--format", "pickle", "--output", out.toString());
        assertThat(format.status()).isEqualTo(2);
        assertThat(format.err()).contains("--format must be safetensors or npz, got 'pickle'");
        var both = cli("export", "m", "--format", "npz", "--output", out.toString(), "--version", "3", "--mixed");
        assertThat(both.status()).isEqualTo(2);
        var unreachable = cli(
                "export",
                "m",
                "--format",
                "npz",
                "--output",
                out.toString(),
                NOWHERE[0],
                NOWHERE[1],
                NOWHERE[2],
                NOWHERE[3]);
        assertThat(unreachable.status()).isEqualTo(1);
        assertThat(unreachable.err()).contains("cannot read topic control").endsWith("nothing written\n");
        assertThat(out).doesNotExist();
    }

    @Test
    void helpIsThere() {
        var export = cli("export", "--help");
        assertThat(export.status()).isZero();
        assertThat(export.out()).contains("--version=V").contains("--mixed").contains("worker.properties");
        var model = cli("model", "--help");
        assertThat(model.status()).isZero();
        assertThat(model.out()).contains("create").contains("status").contains("operator.properties");
        assertThat(cli("--help").out()).contains("model").contains("export");
    }
}
