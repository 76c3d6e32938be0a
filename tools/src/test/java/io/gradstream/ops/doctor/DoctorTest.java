package io.gradstream.ops.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.cli.GradstreamCli;
import io.gradstream.ops.doctor.Check.Result;
import io.gradstream.ops.doctor.Check.Status;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The doctor's verdict logic and report format, and the checks that need no service. */
class DoctorTest {

    @Test
    void reportHasOneAlignedLinePerCheckAndASummary() {
        List<Doctor.Finding> findings = Doctor.run(List.of(
                Check.of("java", () -> Result.ok("OpenJDK 17")),
                Check.of("kafka topics", () -> Result.warn("retention\n  may delete")),
                Check.of("flink", () -> {
                    throw new java.io.IOException("connection refused");
                })));
        assertThat(Doctor.format(findings))
                .containsExactly(
                        "OK    java          OpenJDK 17",
                        "WARN  kafka topics  retention; may delete",
                        "FAIL  flink         connection refused",
                        "1 OK, 1 WARN, 1 FAIL");
        assertThat(Doctor.exitStatus(findings)).isEqualTo(1);
        assertThat(Doctor.exitStatus(findings.subList(0, 2)))
                .as("warnings alone do not fail")
                .isZero();
    }

    @Test
    void javaBefore17Fails() throws Exception {
        assertThat(Checks.java(Runtime.Version.parse("17.0.2")).run().status()).isEqualTo(Status.OK);
        assertThat(Checks.java(Runtime.Version.parse("21")).run().status()).isEqualTo(Status.OK);
        Result old = Checks.java(Runtime.Version.parse("11.0.20")).run();
        assertThat(old.status()).isEqualTo(Status.FAIL);
        assertThat(old.detail()).contains("11.0.20").contains("Java 17 or newer");
    }

    @Test
    void memoryWarnsBelowOneGibAndFailsAbovePhysical() throws Exception {
        long gib = 1L << 30;
        assertThat(Checks.memory(2 * gib, 16 * gib).run())
                .isEqualTo(Result.ok("max heap 2.0 GiB of 16.0 GiB physical"));
        assertThat(Checks.memory(gib / 2, 16 * gib).run().status()).isEqualTo(Status.WARN);
        assertThat(Checks.memory(32 * gib, 16 * gib).run().status()).isEqualTo(Status.FAIL);
        assertThat(Checks.memory(2 * gib, 0).run()).isEqualTo(Result.ok("max heap 2.0 GiB"));
    }

    @Test
    void openclListsDevicesAndFailsOnlyWhenTheJobNeedsOne() throws Exception {
        var cpu = io.gradstream.operators.BackendSettings.cpu();
        var opencl = new io.gradstream.operators.BackendSettings(
                io.gradstream.operators.BackendSettings.Kind.OPENCL, java.util.Map.of(), 64, 2);
        var device = new io.gradstream.opencl.ClDevice(
                "NVIDIA CUDA", "NVIDIA H100", "OpenCL 3.0 CUDA", 80L << 30, 20L << 30, true, true);
        Check.Result listed = Checks.opencl(cpu, () -> List.of(device)).run();
        assertThat(listed.status()).isEqualTo(Status.OK);
        assertThat(listed.detail())
                .isEqualTo("1 device(s): NVIDIA CUDA: NVIDIA H100 (OpenCL 3.0 CUDA, 80.0 GiB, fp64)");
        assertThat(Checks.opencl(cpu, List::of).run().status()).isEqualTo(Status.WARN);
        Check.Result none = Checks.opencl(opencl, List::of).run();
        assertThat(none.status()).isEqualTo(Status.FAIL);
        assertThat(none.detail()).contains("gradstream.backend is opencl");
        Check.Result noRuntime = Checks.opencl(opencl, () -> {
                    throw new io.gradstream.opencl.OpenClException(0, "libOpenCL.so not loadable");
                })
                .run();
        assertThat(noRuntime.status()).isEqualTo(Status.FAIL);
        assertThat(noRuntime.detail()).contains("libOpenCL.so not loadable");
    }

    @Test
    void parametersTopicMustBeCompacted() {
        List<String> topics = List.of("control", "gradients", "parameters", "rejected", "status");
        assertThat(KafkaChecks.verdict("parameters", topics, "compact").status())
                .isEqualTo(Status.OK);
        assertThat(KafkaChecks.verdict("parameters", topics, "compact,delete").status())
                .isEqualTo(Status.WARN);
        Result delete = KafkaChecks.verdict("parameters", topics, "delete");
        assertThat(delete.status()).isEqualTo(Status.FAIL);
        assertThat(delete.detail()).contains("parameters has cleanup.policy=delete, must be compact");
    }

    @Test
    void invalidJobConfigurationFailsWithTheKey(@TempDir Path tmp) throws Exception {
        Path bad = Files.writeString(tmp.resolve("job.yaml"), "gradstream.delivery: SOMETIMES\n");
        StringWriter out = new StringWriter();
        int rc = GradstreamCli.execute(
                new PrintWriter(out),
                new PrintWriter(new StringWriter()),
                "doctor",
                "--config",
                bad.toString(),
                "--skip",
                "kafka,kafka topics,flink,job restarts,checkpoint");
        assertThat(rc).isEqualTo(1);
        assertThat(out.toString())
                .contains("FAIL  job config  " + bad + ": Invalid gradstream.delivery: 'SOMETIMES'")
                .contains("OK    java")
                .doesNotContain("kafka")
                .doesNotContain("flink")
                .doesNotContain("consumer lag")
                .doesNotContain("rejections");
    }

    @Test
    void unreachableFlinkFailsWithTheAddress() throws Exception {
        int port;
        try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort(); // closed again: nothing listens there
        }
        Result r = Doctor.run(List.of(Checks.flink("http://127.0.0.1:" + port)))
                .get(0)
                .result();
        assertThat(r.status()).isEqualTo(Status.FAIL);
        assertThat(r.detail()).contains("127.0.0.1:" + port).contains("connection refused");
    }
}
