package io.gradstream.ops.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.model.Limits;
import io.gradstream.schemas.AggregationMode;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.PrivacyAccountant;
import io.gradstream.schemas.PrivacyMechanism;
import io.gradstream.schemas.PrivacyUnit;
import io.gradstream.schemas.WorkerKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Spec files: every ModelSpec field maps, YAML and JSON agree, and every refusal names the field and the reason. */
class SpecFilesTest {
    @TempDir
    Path dir;

    static final String FULL = """
            modelId: mlp-1
            tensors:
              - {name: W, shape: [10, 64]}
              - name: b
                shape: [10]
            shardSize: 256
            optimizer: AdamW
            hyperparameters: {lr: 1e-3, betas: [0.9, 0.99], amsgrad: true}
            lrSchedule:
              name: SequentialLR
              hyperparameters: {milestones: [5]}
              children:
                - {name: LinearLR, hyperparameters: {start_factor: 0.1, total_iters: 5}}
                - {name: CosineAnnealingLR, hyperparameters: {T_max: 45}}
            aggregation: {mode: sync, workers: 2, timeoutMs: 5000}
            init: {rule: NORMAL, seed: 7, std: 0.02}
            outputEncoding: BF16
            privacy:
              unit: EXAMPLE
              clipNorm: 1.0
              noiseMultiplier: 1.1
              delta: 1.0e-5
              sampleRate: 0.01
              populationSize: 60000
              seedFile: /etc/gradstream/dp-seed
            workers:
              worker-0: {keyFile: /etc/gradstream/keys/w0.key}
              worker-1: {keyEnv: W1_KEY}
            compression: {inputEncodings: [FP32, int8_block], deltaEncoding: TOPK, deltaTopKFraction: 0.05,
                          snapshotEvery: 10}
            """;

    @Test
    void everyFieldMapsAndYamlAndJsonAgree() throws Exception {
        ModelDefinition d = SpecFiles.read(Files.writeString(dir.resolve("model.yaml"), FULL));
        ModelSpec s = d.spec();
        assertThat(d.modelId()).isEqualTo("mlp-1");
        assertThat(s.getTensors()).hasSize(2);
        assertThat(s.getTensors().get(0).getShape()).containsExactly(10, 64);
        assertThat(s.getShardSize()).isEqualTo(256);
        assertThat(s.getHyperparameters())
                .containsEntry("lr", 1e-3)
                .containsEntry("betas", List.of(0.9, 0.99))
                .containsEntry("amsgrad", true);
        assertThat(s.getLrSchedule().getChildren()).hasSize(2);
        assertThat(s.getLrSchedule().getChildren().get(1).getHyperparameters()).containsEntry("T_max", 45.0);
        assertThat(s.getAggregation().getMode()).isEqualTo(AggregationMode.SYNC);
        assertThat(s.getAggregation().getTimeoutMs()).isEqualTo(5000L);
        assertThat(s.getInit().getRule()).isEqualTo(InitRule.NORMAL);
        assertThat(s.getInit().getSeed()).isEqualTo(7L);
        assertThat(s.getOutputEncoding()).isEqualTo(Encoding.BF16);
        assertThat(s.getPrivacy().getUnit()).isEqualTo(PrivacyUnit.EXAMPLE);
        assertThat(s.getPrivacy().getPopulationSize()).isEqualTo(60000L);
        assertThat(s.getPrivacy().getTargetEpsilon()).isNull();
        assertThat(d.workers())
                .containsEntry("worker-0", new WorkerKey("/etc/gradstream/keys/w0.key", null))
                .containsEntry("worker-1", new WorkerKey(null, "W1_KEY"));
        assertThat(d.compression().getInputEncodings()).containsExactly(Encoding.FP32, Encoding.INT8_BLOCK);
        assertThat(d.compression().getDeltaEncoding()).isEqualTo(Encoding.TOPK);
        assertThat(d.compression().getDeltaTopKFraction()).isEqualTo(0.05);
        assertThat(d.compression().getSnapshotEvery()).isEqualTo(10);
        // A private model from a file is a new model: PRV unless the file names another accountant.
        assertThat(d.privacyAccounting().getAccountant()).isEqualTo(PrivacyAccountant.PRV);
        assertThat(d.privacyAccounting().getMechanism()).isEqualTo(PrivacyMechanism.DP_SGD);
        SpecCheck.check(d.modelId(), s, d.workers(), d.compression(), Limits.DEFAULT); // valid as the job judges it

        String json = """
                {"modelId": "mlp-1",
                 "tensors": {"W": [10, 64], "b": [10]},
                 "shardSize": 256, "optimizer": "AdamW",
                 "hyperparameters": {"lr": 0.001, "betas": [0.9, 0.99], "amsgrad": true},
                 "lrSchedule": {"name": "SequentialLR", "hyperparameters": {"milestones": [5]},
                   "children": [{"name": "LinearLR", "hyperparameters": {"start_factor": 0.1, "total_iters": 5}},
                                {"name": "CosineAnnealingLR", "hyperparameters": {"T_max": 45}}]},
                 "aggregation": {"mode": "SYNC", "workers": 2, "timeoutMs": 5000},
                 "init": {"rule": "NORMAL", "seed": 7, "std": 0.02},
                 "outputEncoding": "BF16",
                 "privacy": {"unit": "EXAMPLE", "clipNorm": 1, "noiseMultiplier": 1.1, "delta": 1e-5,
                   "sampleRate": 0.01, "populationSize": 60000, "seedFile": "/etc/gradstream/dp-seed"},
                 "workers": {"worker-0": {"keyFile": "/etc/gradstream/keys/w0.key"}, "worker-1": {"keyEnv": "W1_KEY"}},
                 "compression": {"inputEncodings": ["FP32", "INT8_BLOCK"], "deltaEncoding": "TOPK",
                   "deltaTopKFraction": 0.05, "snapshotEvery": 10}}
                """;
        assertThat(SpecFiles.read(Files.writeString(dir.resolve("model.json"), json)))
                .isEqualTo(d);
    }

    @Test
    void defaultsAreTheSchemas() throws Exception {
        ModelDefinition d =
                SpecFiles.read(Files.writeString(dir.resolve("m.yml"), "tensors: {w: [3]}\noptimizer: SGD\n"));
        assertThat(d.modelId()).isNull();
        assertThat(d.workers()).isNull();
        assertThat(d.spec().getShardSize()).isEqualTo(65536);
        assertThat(d.spec().getAggregation().getWorkers()).isEqualTo(1);
        assertThat(d.spec().getInit().getRule()).isEqualTo(InitRule.ZEROS);
        assertThat(d.spec().getPrivacy()).isNull();
        assertThat(d.compression()).isNull();
        assertThat(d.privacyAccounting()).isNull();
        assertThatThrownBy(() -> SpecCheck.check(null, d.spec(), null, null, Limits.DEFAULT))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("modelId: is required");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '"',
            value = {
                "shardsize: 10|shardsize|unknown field (did you mean shardSize?)",
                "tensors: [{name: W, shape: [10, x]}]|tensors[0].shape[1]|expected an integer, got the string 'x'",
                "tensors: [{name: W, shape: [10, 0]}]|tensors[0].shape[1]|0 is out of range [1, 2147483647]",
                "tensors: [{name: W}]|tensors[0].shape|is required",
                "tensors: []|tensors|at least one tensor",
                "tensors: 3|tensors|expected a list of {name, shape} or a map",
                "shardSize: 1.5|shardSize|expected an integer, got the number 1.5",
                "shardSize: 99999999999|shardSize|out of range",
                "aggregation: {mode: EVENTUALLY}|aggregation.mode|'EVENTUALLY' is not one of SYNC, ASYNC",
                "aggregation: {worker: 2}|aggregation.worker|unknown field; the fields here are mode, workers",
                "init: {rule: ONES}|init.rule|is not one of ZEROS, NORMAL, UNIFORM, EXPLICIT",
                "outputEncoding: FP8|outputEncoding|is not one of FP32, FP16, BF16, INT8_BLOCK, TOPK",
                "hyperparameters: {lr: {x: 1}}|hyperparameters.lr|expected a number, true/false, a string or a list",
                "hyperparameters: {betas: [0.9, b]}|hyperparameters.betas[1]|expected a number",
                "privacy: {clipNorm: 1, seedEnv: S}|privacy.delta|is required",
                "privacy: {clipNorm: 1, delta: 1e-5}|privacy.seedFile|needs exactly one of seedFile and seedEnv",
                "workers: {w0: {keyFile: a, keyEnv: B}}|workers.w0|needs exactly one of keyFile and keyEnv",
                "workers: {w0: {key: abc}}|workers.w0.key|unknown field",
                "lrSchedule: {hyperparameters: {}}|lrSchedule.name|is required",
                "lrSchedule: {name: StepLR, children: [{nam: x}]}|lrSchedule.children[0].nam|unknown field",
                "compression: {deltaEncoding: FP8}|compression.deltaEncoding|'FP8' is not one of FP32",
                "compression: {inputEncodings: FP16}|compression.inputEncodings|expected a list of encodings",
                "compression: {inputEncodings: [FP16, X]}|compression.inputEncodings[1]|'X' is not one of",
                "compression: {snapshotEvery: 0.5}|compression.snapshotEvery|expected an integer",
            })
    void refusalsNameTheFieldAndTheReason(String line, String field, String reason) throws Exception {
        String base = "modelId: m\noptimizer: SGD\n";
        String text = line.startsWith("tensors") ? base + line : base + "tensors: {w: [3]}\n" + line;
        Path file = Files.writeString(dir.resolve("bad.yaml"), text + "\n");
        assertThatThrownBy(() -> SpecFiles.read(file))
                .isInstanceOf(SpecException.class)
                .hasMessageStartingWith(file + ": " + field + ": ")
                .hasMessageContaining(reason)
                .extracting(e -> ((SpecException) e).field())
                .isEqualTo(file + ": " + field);
    }

    @Test
    void missingRequiredFieldsAndSyntaxErrorsAreNamed() throws Exception {
        Path noOptimizer = Files.writeString(dir.resolve("a.yaml"), "tensors: {w: [3]}\n");
        assertThatThrownBy(() -> SpecFiles.read(noOptimizer)).hasMessageContaining("optimizer: is required: SGD, Adam");
        Path duplicate = Files.writeString(dir.resolve("b.yaml"), "optimizer: SGD\noptimizer: Adam\n");
        assertThatThrownBy(() -> SpecFiles.read(duplicate))
                .hasMessageContaining("not valid YAML")
                .hasMessageContaining("optimizer")
                .hasMessageContaining("line 2");
        Path json = Files.writeString(dir.resolve("c.json"), "{\"optimizer\": \"SGD\",\n \"tensors\": {\"w\": [3]\n");
        assertThatThrownBy(() -> SpecFiles.read(json)).hasMessageContaining("not valid JSON");
    }

    @Test
    void theJobsOwnChecksRefuseWhatTheFileCannotTell() throws Exception {
        ModelDefinition ok = SpecFiles.read(Files.writeString(dir.resolve("m.yaml"), FULL));
        Limits l = Limits.DEFAULT;
        // Hyperparameters as torch validates them, with the parameter's name.
        ModelSpec badLr = ModelSpec.newBuilder(ok.spec())
                .setHyperparameters(Map.of("lr", -1.0))
                .build();
        assertThatThrownBy(() -> SpecCheck.check("m", badLr, null, null, l))
                .isInstanceOf(SpecException.class)
                .hasMessageStartingWith("hyperparameters.lr: ")
                .hasMessageContaining("-1.0");
        ModelSpec unknown = ModelSpec.newBuilder(ok.spec())
                .setHyperparameters(Map.of("momentum_typo", 0.9))
                .build();
        assertThatThrownBy(() -> SpecCheck.check("m", unknown, null, null, l))
                .hasMessageStartingWith("hyperparameters.momentum_typo: ");
        // delta must be below 1/populationSize.
        var privacy = io.gradstream.schemas.PrivacySpec.newBuilder(ok.spec().getPrivacy())
                .setDelta(0.5)
                .build();
        ModelSpec badDelta = ModelSpec.newBuilder(ok.spec()).setPrivacy(privacy).build();
        assertThatThrownBy(() -> SpecCheck.check("m", badDelta, null, null, l))
                .hasMessageStartingWith("privacy: ")
                .hasMessageContaining("delta");
        // A model id the job refuses.
        assertThatThrownBy(() -> SpecCheck.check("a/b", ok.spec(), null, null, l))
                .isInstanceOf(SpecException.class)
                .hasMessageStartingWith("modelId: ");
        // Compression settings the job refuses (an FP32 delta stream saves nothing).
        var fp32Deltas = io.gradstream.schemas.CompressionSpec.newBuilder()
                .setDeltaEncoding(Encoding.FP32)
                .build();
        assertThatThrownBy(() -> SpecCheck.check("m", ok.spec(), null, fp32Deltas, l))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("FP32");
        // The seed lives on the task managers: a private spec is valid without it here.
        SpecCheck.check("m", ok.spec(), ok.workers(), null, l);
    }

    @Test
    void theReadmesExampleIsValid() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        int start = readme.indexOf("```yaml\nmodelId: mlp-1");
        assertThat(start).as("the README's spec file example").isPositive();
        String yaml = readme.substring(start + 8, readme.indexOf("```", start + 8));
        ModelDefinition d = SpecFiles.read(Files.writeString(dir.resolve("readme.yaml"), yaml));
        assertThat(d.spec().getPrivacy().getTargetEpsilon()).isEqualTo(8.0);
        assertThat(d.compression().getDeltaEncoding()).isEqualTo(Encoding.INT8_BLOCK);
        assertThat(d.privacyAccounting().getAccountant()).isEqualTo(PrivacyAccountant.PRV);
        SpecCheck.check(d.modelId(), d.spec(), d.workers(), d.compression(), d.privacyAccounting(), Limits.DEFAULT);
    }

    @Test
    void keyValueArgumentsReadLikeSpecValues() {
        assertThat(SpecFiles.hyperparameterArgument("lr", "0.01")).isEqualTo(0.01);
        assertThat(SpecFiles.hyperparameterArgument("lr", "1e-4")).isEqualTo(1e-4);
        assertThat(SpecFiles.hyperparameterArgument("step_size", "10")).isEqualTo(10.0);
        assertThat(SpecFiles.hyperparameterArgument("nesterov", "true")).isEqualTo(true);
        assertThat(SpecFiles.hyperparameterArgument("betas", "[0.9,0.99]")).isEqualTo(List.of(0.9, 0.99));
        assertThat(SpecFiles.hyperparameterArgument("anneal_strategy", "cos")).isEqualTo("cos");
        assertThatThrownBy(() -> SpecFiles.hyperparameterArgument("lr", ""))
                .isInstanceOf(SpecException.class)
                .hasMessageStartingWith("lr: has no value");
        assertThatThrownBy(() -> SpecFiles.hyperparameterArgument("betas", "[0.9, x]"))
                .hasMessageStartingWith("betas[1]: expected a number");
    }

    @Test
    void thePrivacyBlockTakesTheAccountantAndItsBoundsAreTheJobs() throws Exception {
        String base = "modelId: p\ntensors: {w: [3]}\noptimizer: SGD\nhyperparameters: {lr: 0.1}\n"
                + "privacy: {clipNorm: 1, noiseMultiplier: 1.1, delta: 1.0e-5, sampleRate: 0.01, populationSize: "
                + "60000, seedEnv: DP_SEED";
        ModelDefinition prv = SpecFiles.read(Files.writeString(dir.resolve("prv.yaml"), base + "}\n"));
        assertThat(prv.privacyAccounting().getAccountant()).isEqualTo(PrivacyAccountant.PRV);
        ModelDefinition rdp = SpecFiles.read(Files.writeString(dir.resolve("rdp.yaml"), base + ", accountant: rdp}\n"));
        assertThat(rdp.privacyAccounting().getAccountant()).isEqualTo(PrivacyAccountant.RDP);
        SpecCheck.check(rdp.modelId(), rdp.spec(), null, null, rdp.privacyAccounting(), Limits.DEFAULT);
        assertThat(ControlSender.create(rdp, 0).getPrivacyAccounting()).isEqualTo(rdp.privacyAccounting());

        assertThatThrownBy(
                        () -> SpecFiles.read(Files.writeString(dir.resolve("x.yaml"), base + ", accountant: gdp}\n")))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("privacy.accountant")
                .hasMessageContaining("RDP, PRV, TREE");
        assertThatThrownBy(
                        () -> SpecFiles.read(Files.writeString(dir.resolve("y.yaml"), base + ", efficientTree: 3}\n")))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("privacy.efficientTree");
        ModelDefinition tree = SpecFiles.read(Files.writeString(dir.resolve("t.yaml"), base + ", accountant: TREE}\n"));
        assertThatThrownBy(() -> SpecCheck.check(
                        tree.modelId(), tree.spec(), null, null, tree.privacyAccounting(), Limits.DEFAULT))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("TREE");
        assertThat(ModelStatus.accounting(null)).contains("RDP");
        assertThat(ModelStatus.accounting(prv.privacyAccounting())).isEqualTo("DP_SGD, accountant PRV");
    }

    @Test
    void aDpFtrlPrivacyBlockPassesTheJobsChecksAndItsMisfitsAreNamed() throws Exception {
        String base = "modelId: f\ntensors: {w: [3]}\noptimizer: SGD\nhyperparameters: {lr: 0.1}\n"
                + "privacy: {clipNorm: 1, noiseMultiplier: 1.1, delta: 1.0e-5, expectedPerStep: 10, populationSize: "
                + "60000, seedEnv: DP_SEED, mechanism: DP_FTRL";
        ModelDefinition ftrl =
                SpecFiles.read(Files.writeString(dir.resolve("ftrl.yaml"), base + ", stepsPerRestart: 100}\n"));
        assertThat(ftrl.privacyAccounting().getAccountant()).isEqualTo(PrivacyAccountant.TREE);
        assertThat(ftrl.privacyAccounting().getStepsPerRestart()).isEqualTo(100L);
        SpecCheck.check(ftrl.modelId(), ftrl.spec(), null, null, ftrl.privacyAccounting(), Limits.DEFAULT);
        ModelDefinition noRestart = SpecFiles.read(Files.writeString(dir.resolve("nr.yaml"), base + "}\n"));
        assertThatThrownBy(() -> SpecCheck.check(
                        noRestart.modelId(),
                        noRestart.spec(),
                        null,
                        null,
                        noRestart.privacyAccounting(),
                        Limits.DEFAULT))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("stepsPerRestart");
    }
}
