package io.gradstream.cli;

import static io.gradstream.cli.CliRuns.cli;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@code gradstream local --encoding} and {@code --dp} are checked before anything starts. */
class LocalEncodingTest {

    @Test
    void anUnknownEncodingIsRefusedNamingTheForms() {
        CliRuns.CliRun run = cli("local", "--demo", "--encoding", "topk", "--kafka-port", "0");
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("--encoding: ").contains("topk:FRACTION");
        assertThat(run.out()).doesNotContain("Flink Web UI");
    }

    @Test
    void anEncodingWithoutTheDemoIsRefused() {
        CliRuns.CliRun run = cli("local", "--encoding", "bf16", "--kafka-port", "0");
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("--encoding applies to the demo");
    }

    @Test
    void anUnknownPrivacyMechanismIsRefusedNamingTheChoices() {
        CliRuns.CliRun run = cli("local", "--demo", "--dp", "dp-sgd", "--kafka-port", "0");
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("--dp takes sgd or ftrl, not 'dp-sgd'");
        assertThat(run.out()).doesNotContain("Flink Web UI");
    }

    @Test
    void privacyWithoutTheDemoIsRefused() {
        CliRuns.CliRun run = cli("local", "--dp", "ftrl", "--kafka-port", "0");
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("--dp applies to the demo");
    }

    @Test
    void ftrlsLearningRateWithDpSgdIsRefused() {
        CliRuns.CliRun run = cli("local", "--demo", "--dp", "--dp-lr", "0.1", "--kafka-port", "0");
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("--dp-lr is DP-FTRL's learning rate");
    }
}
