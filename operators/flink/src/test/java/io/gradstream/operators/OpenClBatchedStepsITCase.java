package io.gradstream.operators;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.opencl.ClConfig;
import io.gradstream.opencl.ClContext;
import io.gradstream.schemas.ParameterUpdate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The shard operator with its steps batched onto a real OpenCL device (POCL's CPU device in CI): it publishes what
 * the direct CPU path publishes, bit for bit where the device rounds division and sqrt correctly (POCL), and an
 * OpenCL device that does not exist leaves the CPU in its place without failing the job.
 */
class OpenClBatchedStepsITCase {

    @BeforeEach
    void requireOpenCl() {
        Optional<String> reason = ClContext.unavailableReason(ClConfig.defaults());
        if (reason.isPresent()) {
            String message = "no OpenCL device (" + reason.get() + "); install pocl-opencl-icd ocl-icd-libopencl1 "
                    + "ocl-icd-opencl-dev for a CPU device";
            if ("1".equals(System.getenv("GRADSTREAM_REQUIRE_TOOLS"))) {
                throw new AssertionError("GRADSTREAM_REQUIRE_TOOLS=1 but " + message);
            }
            Assumptions.abort("SKIPPED: " + message);
        }
    }

    private String backend;

    private Map<String, float[]> run(BackendSettings settings) throws Exception {
        List<RawRecord> work = BatchedStepsTest.workload(5);
        KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate> h =
                BatchedStepsTest.harness(settings, null);
        try {
            backend = ((ShardOptimizerOperator) h.getOperator()).steps().backendName();
            h.processElement2(Records.create("m", BatchedStepsTest.ADAM), 0);
            for (RawRecord r : work) {
                h.processElement1(r, 1);
            }
            h.setProcessingTime(60_000);
            return BatchedStepsTest.byShardVersion(h);
        } finally {
            h.close();
        }
    }

    @Test
    void batchesOnTheDevicePublishWhatTheCpuPublishes() throws Exception {
        Map<String, float[]> expected = run(BackendSettings.cpu());
        assertThat(expected).hasSize(3 * 6);
        Map<String, float[]> device = run(new BackendSettings(BackendSettings.Kind.OPENCL, Map.of(), 3, 10));
        assertThat(backend).startsWith("opencl:").endsWith("+cpu-fallback");
        boolean exact;
        try (ClContext ctx = ClContext.open(ClConfig.defaults())) {
            exact = ctx.device().correctlyRoundedDivideSqrt();
        }
        if (exact) {
            BatchedStepsTest.assertSameBits(device, expected);
        } else {
            // OpenCL allows 3 ulp for sqrt and 2.5 for division without -cl-fp32-correctly-rounded-divide-sqrt.
            assertThat(device.keySet()).containsExactlyElementsOf(expected.keySet());
            expected.forEach((k, v) -> {
                for (int i = 0; i < v.length; i++) {
                    assertThat(device.get(k)[i])
                            .as(k)
                            .isCloseTo(v[i], org.assertj.core.data.Offset.offset(1e-6f * Math.max(1f, Math.abs(v[i]))));
                }
            });
        }
    }

    @Test
    void residentSlotsAreWrittenBackBeforeEveryCheckpointBarrier() throws Exception {
        List<RawRecord> work = BatchedStepsTest.workload(5); // as run()
        BackendSettings plain = new BackendSettings(BackendSettings.Kind.OPENCL, Map.of(), 3, 10);
        BackendSettings resident = new BackendSettings(BackendSettings.Kind.OPENCL, Map.of(), 3, 10, 64L << 20);
        // The reference: the same device and kernels, slots moved both ways on every step.
        Map<String, float[]> expected = run(plain);

        var first = BatchedStepsTest.harness(resident, null);
        Map<String, float[]> beforeRestore;
        org.apache.flink.runtime.checkpoint.OperatorSubtaskState snapshot;
        try {
            first.setProcessingTime(0);
            first.processElement2(Records.create("m", BatchedStepsTest.ADAM), 0);
            work.subList(0, 15).forEach(r -> BatchedStepsTest.process(first, r));
            ShardOptimizerOperator function = (ShardOptimizerOperator) first.getOperator();
            assertThat(function.steps().residentDirtyKeys())
                    .as("slots newer on the device than in keyed state")
                    .isNotEmpty();
            first.prepareSnapshotPreBarrier(1); // flushes the batch, then writes the device's slots back
            assertThat(function.steps().residentDirtyKeys()).isEmpty();
            snapshot = first.snapshot(1, 10);
            beforeRestore = BatchedStepsTest.byShardVersion(first);
        } finally {
            first.close();
        }
        // Continued without residency from the checkpoint: only right if the checkpoint holds the device's slots.
        var restored = BatchedStepsTest.harness(plain, snapshot);
        try {
            work.subList(15, work.size()).forEach(r -> BatchedStepsTest.process(restored, r));
            restored.setProcessingTime(60_000);
            Map<String, float[]> all = new java.util.TreeMap<>(beforeRestore);
            all.putAll(BatchedStepsTest.byShardVersion(restored));
            BatchedStepsTest.assertSameBits(all, expected);
        } finally {
            restored.close();
        }
    }

    @Test
    void aMissingDeviceLeavesTheCpuInItsPlace() throws Exception {
        Map<String, float[]> expected = run(BackendSettings.cpu());
        Map<String, float[]> fallback =
                run(new BackendSettings(BackendSettings.Kind.OPENCL, Map.of(ClConfig.DEVICE, "99"), 3, 10));
        assertThat(backend).isEqualTo("cpu");
        BatchedStepsTest.assertSameBits(fallback, expected);
    }
}
