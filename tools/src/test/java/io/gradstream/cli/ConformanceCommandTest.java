package io.gradstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs {@code gradstream conformance} as a user would, over the copied reference files and broken variants. */
class ConformanceCommandTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path tmp;

    private record Run(int exit, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = GradstreamCli.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(exit, out.toString(), err.toString());
    }

    static Path referenceDir() {
        String dir = System.getProperty("gradstream.reference.dir");
        assertThat(dir).as("surefire sets gradstream.reference.dir").isNotNull();
        return Path.of(dir);
    }

    private static long jsonFiles(Path dir, String sub) throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve(sub))) {
            return s.filter(p -> p.toString().endsWith(".json")).count();
        }
    }

    @Test
    void everyPublicReferenceFilePasses() throws IOException {
        Path ref = referenceDir();
        Run r = run("conformance", ref.toString());
        long checkable = jsonFiles(ref, "optimizers")
                + jsonFiles(ref, "lr_schedulers")
                + jsonFiles(ref, "numeric_formats")
                + jsonFiles(ref, "dp_accounting");
        assertThat(jsonFiles(ref, "dp_accounting")).isEqualTo(4);
        assertThat(checkable).isGreaterThanOrEqualTo(39);
        assertThat(r.err()).isEmpty();
        assertThat(r.lines()).last().isEqualTo(checkable + " passed, 0 failed");
        assertThat(r.exit()).isZero();
        assertThat(r.lines()).filteredOn(l -> l.startsWith("PASS")).hasSize((int) checkable);
        assertThat(r.lines()).noneMatch(l -> l.startsWith("SKIP"));
        assertThat(r.lines())
                .anyMatch(l -> l.startsWith("PASS")
                        && l.contains("prv_epsilon.json")
                        && l.contains("PRV upper bound (max relative error"));
    }

    @Test
    void privacyFilesAreRecomputedAndWritten() throws IOException {
        Path dp = referenceDir().resolve("dp_accounting");
        Path out = tmp.resolve("dp_out");
        Run r = run("conformance", "--output", out.toString(), dp.toString());
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.lines()).last().isEqualTo("4 passed, 0 failed");
        JsonNode in = MAPPER.readTree(dp.resolve("rdp_epsilon_grid.json").toFile());
        JsonNode got = MAPPER.readTree(out.resolve("rdp_epsilon_grid.json").toFile());
        assertThat(got.get("rows").size()).isEqualTo(in.get("rows").size());
        for (int i = 0; i < in.get("rows").size(); i++) {
            JsonNode a = got.get("rows").get(i);
            JsonNode e = in.get("rows").get(i);
            assertThat(a.get("best_alpha").asDouble())
                    .isEqualTo(e.get("best_alpha").asDouble());
            assertThat(a.get("eps").asDouble())
                    .isCloseTo(e.get("eps").asDouble(), org.assertj.core.api.Assertions.withinPercentage(1e-4));
        }
        assertThat(got.get("gradstream").get("tolerance").asDouble()).isEqualTo(1e-6);
        assertThat(got.get("gradstream").get("max_scaled_error").asDouble()).isLessThan(1e-6);
        JsonNode prv = MAPPER.readTree(out.resolve("prv_epsilon.json").toFile());
        assertThat(prv.get("rows").get(0).get("eps_prv_upper").asDouble())
                .isCloseTo(6.777395710070868, org.assertj.core.api.Assertions.within(1e-6));
        assertThat(prv.get("gradstream").get("max_scaled_error").asDouble()).isLessThan(1e-6);
        JsonNode curves = MAPPER.readTree(out.resolve("rdp_per_alpha.json").toFile());
        assertThat(curves.get("cases").get(0).get("rdp").size()).isEqualTo(151);
        JsonNode published =
                MAPPER.readTree(out.resolve("published_values.json").toFile());
        assertThat(published
                        .get("entries")
                        .get(1)
                        .get("computed")
                        .get("noise_multiplier")
                        .asDouble())
                .isEqualTo(1.416015625);
    }

    @Test
    void aTamperedPrivacyFileFails() throws IOException {
        Path dp = referenceDir().resolve("dp_accounting");
        ObjectNode grid =
                (ObjectNode) MAPPER.readTree(dp.resolve("rdp_epsilon_grid.json").toFile());
        ObjectNode row = (ObjectNode) grid.get("rows").get(17);
        row.put("eps", row.get("eps").asDouble() * (1 + 1e-5));
        MAPPER.writeValue(tmp.resolve("grid.json").toFile(), grid);
        ObjectNode pub =
                (ObjectNode) MAPPER.readTree(dp.resolve("published_values.json").toFile());
        ((ObjectNode) pub.get("entries").get(0).get("parameters")).put("steps", 2300);
        MAPPER.writeValue(tmp.resolve("published.json").toFile(), pub);
        ObjectNode curves =
                (ObjectNode) MAPPER.readTree(dp.resolve("rdp_per_alpha.json").toFile());
        ((ObjectNode) curves.get("cases").get(1)).put("noise_multiplier", 0.81);
        MAPPER.writeValue(tmp.resolve("curves.json").toFile(), curves);
        ObjectNode prv =
                (ObjectNode) MAPPER.readTree(dp.resolve("prv_epsilon.json").toFile());
        ObjectNode prvRow = (ObjectNode) prv.get("rows").get(1);
        prvRow.put("eps_prv_upper", prvRow.get("eps_prv_upper").asDouble() + 1e-4);
        MAPPER.writeValue(tmp.resolve("prv.json").toFile(), prv);
        Run r = run("conformance", tmp.toString());
        assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(1);
        assertThat(r.lines()).anyMatch(l -> l.startsWith("FAIL") && l.contains("grid.json"));
        assertThat(r.lines()).anyMatch(l -> l.startsWith("FAIL") && l.contains("published.json"));
        assertThat(r.lines()).anyMatch(l -> l.startsWith("FAIL") && l.contains("curves.json"));
        assertThat(r.lines()).anyMatch(l -> l.startsWith("FAIL") && l.contains("prv.json"));
        assertThat(r.lines()).last().isEqualTo("0 passed, 4 failed");
    }

    @Test
    void torchGeneratedExtraFilesPass() {
        Path extra = referenceDir().resolveSibling("reference-extra");
        Run r = run("conformance", extra.toString());
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.lines()).anyMatch(l -> l.startsWith("PASS") && l.contains("nadam_default__n1024"));
        assertThat(r.lines()).anyMatch(l -> l.startsWith("PASS") && l.contains("sequentiallr_linear_warmup5_cosine"));
        assertThat(r.lines()).anyMatch(l -> l.startsWith("PASS") && l.contains("onecyclelr_adam_linear_threephase"));
        assertThat(r.lines()).last().asString().endsWith(" passed, 0 failed");
    }

    @Test
    void outputWritesWhatTheKernelsComputedInTheInputsShape() throws IOException {
        Path ref = referenceDir();
        Path out = tmp.resolve("out");
        Run r = run(
                "conformance",
                "--output",
                out.toString(),
                ref.resolve("optimizers").toString(),
                ref.resolve("lr_schedulers/steplr_step10_gamma0.5.json").toString(),
                ref.resolve("numeric_formats").toString());
        assertThat(r.exit()).isZero();

        JsonNode in = MAPPER.readTree(
                ref.resolve("optimizers/adam_default__n37__float32.json").toFile());
        JsonNode got =
                MAPPER.readTree(out.resolve("adam_default__n37__float32.json").toFile());
        assertThat(got.get("params_after_step").size())
                .isEqualTo(in.get("params_after_step").size());
        assertThat(got.get("final_state").get("exp_avg").size()).isEqualTo(37);
        assertThat(got.get("final_state").get("step").asDouble()).isEqualTo(25.0);
        // The computed trajectory is our own: close to torch's, but produced by the kernels, not copied.
        double maxDiff = 0;
        for (int t = 0; t < 25; t++) {
            for (int i = 0; i < 37; i++) {
                maxDiff = Math.max(
                        maxDiff,
                        Math.abs(got.get("params_after_step").get(t).get(i).asDouble()
                                - in.get("params_after_step").get(t).get(i).asDouble()));
            }
        }
        assertThat(maxDiff).isGreaterThan(0).isLessThan(1e-4);
        assertThat(got.get("gradstream").get("kernel_dtype").asText()).isEqualTo("float32");

        assertThat(MAPPER.readTree(out.resolve("steplr_step10_gamma0.5.json").toFile())
                        .get("lrs")
                        .size())
                .isEqualTo(50);
        JsonNode fp16 = MAPPER.readTree(out.resolve("fp16_conversion.json").toFile());
        assertThat(fp16.get("cases").get(2).get("f16_bits").asText()).isEqualTo("0x3c00");
        JsonNode int8 =
                MAPPER.readTree(out.resolve("int8_blockwise_quantization.json").toFile());
        assertThat(int8.get("vectors").get(0).get("q"))
                .isEqualTo(MAPPER.readTree(ref.resolve("numeric_formats/int8_blockwise_quantization.json")
                                .toFile())
                        .get("vectors")
                        .get(0)
                        .get("q"));
    }

    @Test
    void aWrongTrajectoryFailsWithExitStatusOne() throws IOException {
        ObjectNode file = (ObjectNode) MAPPER.readTree(referenceDir()
                .resolve("optimizers/adam_default__n37__float32.json")
                .toFile());
        ArrayNode step10 = (ArrayNode) file.get("params_after_step").get(9);
        step10.set(3, MAPPER.getNodeFactory().numberNode(step10.get(3).asDouble() * 1.001));
        Path broken = tmp.resolve("broken_adam.json");
        MAPPER.writeValue(broken.toFile(), file);
        Run r = run("conformance", broken.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.lines().get(0))
                .startsWith("FAIL")
                .contains("broken_adam.json")
                .contains("step 10, element 3");
        assertThat(r.lines()).last().isEqualTo("0 passed, 1 failed");
    }

    @Test
    void aWrongScheduleAndAWrongBitPatternFail() throws IOException {
        ObjectNode sched = (ObjectNode) MAPPER.readTree(referenceDir()
                .resolve("lr_schedulers/steplr_step10_gamma0.5.json")
                .toFile());
        ((ObjectNode) sched.get("hyperparameters")).put("gamma", 0.6);
        MAPPER.writeValue(tmp.resolve("sched.json").toFile(), sched);
        ObjectNode bf16 = (ObjectNode) MAPPER.readTree(
                referenceDir().resolve("numeric_formats/bf16_conversion.json").toFile());
        ((ObjectNode) bf16.get("cases").get(2)).put("bf16_bits", "0x3f81");
        MAPPER.writeValue(tmp.resolve("bf16.json").toFile(), bf16);
        Run r = run("conformance", tmp.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.lines()).anyMatch(l -> l.startsWith("FAIL") && l.contains("sched.json"));
        assertThat(r.lines())
                .anyMatch(l -> l.startsWith("FAIL") && l.contains("bf16.json") && l.contains("1 mismatched"));
    }

    @Test
    void unreadableOrUnknownFilesExitWithTwoAndSayWhy() throws IOException {
        Files.writeString(tmp.resolve("truncated.json"), "{\"optimizer\": \"torch.optim.Adam\", \"grads\": [[1.0");
        Files.writeString(tmp.resolve("other.json"), "{\"hello\": 1}");
        ObjectNode unknownOpt = (ObjectNode) MAPPER.readTree(referenceDir()
                .resolve("optimizers/sgd_plain__n37__float32.json")
                .toFile());
        unknownOpt.put("optimizer", "torch.optim.Adafactor");
        MAPPER.writeValue(tmp.resolve("adafactor.json").toFile(), unknownOpt);
        Files.copy(referenceDir().resolve("optimizers/sgd_plain__n37__float32.json"), tmp.resolve("good.json"));
        Run r = run("conformance", tmp.toString(), tmp.resolve("missing.json").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err())
                .contains("truncated.json: not readable as JSON")
                .contains("other.json: unknown reference file")
                .contains("adafactor.json: Unknown optimizer 'torch.optim.Adafactor'")
                .contains("missing.json: no such file or directory");
        assertThat(r.lines()).anyMatch(l -> l.startsWith("PASS") && l.contains("good.json"));
        assertThat(r.lines()).last().asString().startsWith("1 passed, 0 failed").contains("4 unreadable or unknown");
    }

    @Test
    void invalidHyperparametersInAFileAreNamed() throws IOException {
        ObjectNode file = (ObjectNode) MAPPER.readTree(referenceDir()
                .resolve("optimizers/adam_default__n37__float32.json")
                .toFile());
        ((ObjectNode) file.get("hyperparameters")).put("eps", -1.0);
        MAPPER.writeValue(tmp.resolve("bad_eps.json").toFile(), file);
        Run r = run("conformance", tmp.resolve("bad_eps.json").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("Invalid eps: -1.0");
    }

    @Test
    void aManifestInADirectoryIsNotAReferenceFile() throws IOException {
        Files.copy(referenceDir().resolve("optimizers/sgd_plain__n37__float32.json"), tmp.resolve("a.json"));
        Files.writeString(tmp.resolve("MANIFEST.json"), "{\"files\": [{\"file\": \"a.json\"}]}");
        Run r = run("conformance", tmp.toString());
        assertThat(r.exit()).isZero();
        assertThat(r.lines()).last().isEqualTo("1 passed, 0 failed");
    }

    @Test
    void helpExplainsTheCommand() {
        Run r = run("conformance", "--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("--output").contains("Exit status").contains("1e-4");
        Run top = run("--help");
        assertThat(top.out()).contains("conformance");
        Run none = run("conformance");
        assertThat(none.exit()).isEqualTo(2);
        assertThat(none.err()).contains("Missing required parameter");
    }
}
