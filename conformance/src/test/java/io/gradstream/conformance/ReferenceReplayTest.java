package io.gradstream.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradstream.core.optim.CpuStepBackend;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Replays every file of the reference data set (and of our torch-generated extras) on the CPU backend: each must pass
 * within the reference README's tolerance for its kind, which is asserted here as well as inside the replay.
 */
class ReferenceReplayTest {
    /**
     * The README's bounds: float32 kernels against either trajectory, scaled by H_i; schedules are double arithmetic;
     * numeric formats bit for bit; privacy accounting relative (our contract, tighter than Opacus' own tests).
     */
    private static final Map<String, Double> README_TOLERANCE =
            Map.of("optimizers", 1e-4, "lr_schedulers", 1e-12, "numeric_formats", 0.0, "dp_accounting", 1e-6);

    private final ReferenceReplay cpu = new ReferenceReplay(CpuStepBackend.INSTANCE);

    @TestFactory
    Stream<DynamicTest> everyReferenceFilePassesOnTheCpuBackend() throws IOException {
        return replayAll(ReferenceFiles.dir());
    }

    @TestFactory
    Stream<DynamicTest> everyExtraFilePassesOnTheCpuBackend() throws IOException {
        return replayAll(ReferenceFiles.extraDir());
    }

    @Test
    void theReferenceSetIsComplete() throws IOException {
        // 14 configurations x 2 dtypes, 4 schedules, 3 numeric formats, 4 accounting files (the README's table).
        Map<String, Long> perKind =
                Map.of("optimizers", 28L, "lr_schedulers", 4L, "numeric_formats", 3L, "dp_accounting", 4L);
        Path dir = ReferenceFiles.dir();
        List<Path> files = ReferenceReplay.files(dir);
        perKind.forEach((kind, count) -> assertThat(
                        files.stream().filter(f -> kind(dir, f).equals(kind)).count())
                .as(kind)
                .isEqualTo(count));
        assertThat(files).hasSize(39);
    }

    @Test
    void optimizerFilesAreSteppedByTheGivenBackend() throws ReferenceFormatException {
        Verdict v = cpu.replay(ReferenceFiles.dir().resolve("optimizers/adam_default__n37__float32.json"));
        JsonNode meta = v.computed().get("gradstream");
        assertThat(meta.get("backend").asText()).isEqualTo("cpu");
        assertThat(meta.get("kernel_dtype").asText()).isEqualTo("float32");
        assertThat(v.computed().get("params_after_step")).hasSize(25);
        assertThat(v.detail()).startsWith("Adam, 25 steps, n=37");
    }

    @Test
    void aManifestIsNoReferenceFile() throws ReferenceFormatException {
        JsonNode manifest = Json.read(ReferenceFiles.extraDir().resolve("MANIFEST.json"));
        assertThat(ReferenceReplay.isManifest(manifest)).isTrue();
        assertThat(ReferenceReplay.isManifest(ReferenceFiles.load("lr_schedulers/steplr_step10_gamma0.5.json")))
                .isFalse();
        assertThatThrownBy(() -> cpu.replay(manifest))
                .isInstanceOf(ReferenceFormatException.class)
                .hasMessageStartingWith("unknown reference file");
    }

    @Test
    void malformedValuesInAKnownFormatAreBadInputNotACrash() {
        ObjectNode file = (ObjectNode) ReferenceFiles.load("optimizers/sgd_plain__n37__float32.json");
        file.putArray("grads").addArray().add(1.0);
        assertThatThrownBy(() -> cpu.replay(file))
                .isInstanceOf(ReferenceFormatException.class)
                .hasMessageContaining("grads has 1 steps but params_after_step has 25");
        ObjectNode bits = (ObjectNode) ReferenceFiles.load("numeric_formats/fp16_conversion.json");
        ((ObjectNode) bits.get("cases").get(0)).put("f32_bits", "0xzz");
        assertThatThrownBy(() -> cpu.replay(bits))
                .isInstanceOf(ReferenceFormatException.class)
                .hasMessageContaining("is not a hex bit pattern: 0xzz");
    }

    private Stream<DynamicTest> replayAll(Path dir) throws IOException {
        List<Path> files = ReferenceReplay.files(dir).stream()
                .filter(f -> !f.getFileName().toString().equals("MANIFEST.json"))
                .toList();
        assertThat(files).as(dir.toString()).isNotEmpty();
        return files.stream()
                .map(f -> DynamicTest.dynamicTest(dir.relativize(f).toString(), () -> {
                    Verdict v = cpu.replay(f);
                    Double tolerance = README_TOLERANCE.get(kind(dir, f));
                    assertThat(tolerance).as("kind of " + f).isNotNull();
                    assertThat(v.status()).as(v.detail()).isEqualTo(Verdict.Status.PASS);
                    assertThat(v.maxScaledError()).as(v.detail()).isLessThanOrEqualTo(tolerance);
                    assertThat(v.tolerance()).isEqualTo(tolerance);
                }));
    }

    /** The file's directory under the set's root: its kind. */
    private static String kind(Path dir, Path file) {
        return dir.relativize(file).getName(0).toString();
    }
}
