package io.gradstream.ops.capacity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.gradstream.core.codec.Encoding;
import io.gradstream.ops.capacity.CapacityModel.Deployment;
import io.gradstream.ops.capacity.CapacityModel.Plan;
import io.gradstream.ops.capacity.CapacityModel.Workload;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CapacityModelTest {
    private static final double DRAIN = Rates.DRAIN_BYTES_PER_SECOND;
    private static final CapacityModel MODEL = new CapacityModel(Rates.measured());
    private static final Deployment D = Deployment.standard();

    @Test
    void theCalibrationReproducesTheMeasuredDrainRate() {
        Plan p = MODEL.plan(Workload.plain(1_000_000, 1, "Adam"), D);
        assertThat(p.elementStepsPerSlotSecond() * p.bytesInPerElement()).isCloseTo(DRAIN, within(1.0));
        assertThat(p.bytesInPerElement()).isCloseTo(4 + 128.0 / 65_536, within(1e-9));
    }

    @Test
    void theCalibrationReproducesTheMeasuredBf16SpeedUp() {
        Plan fp32 = MODEL.plan(Workload.plain(1_000_000, 1, "Adam"), D);
        Plan bf16 =
                MODEL.plan(new Workload(1_000_000, 1, "Adam", Encoding.BF16, Encoding.BF16, 0.01, 1, 65_536, false), D);
        assertThat(bf16.elementStepsPerSlotSecond() / fp32.elementStepsPerSlotSecond())
                .isCloseTo(Rates.BF16_SPEED_UP, within(1e-9));
    }

    @Test
    void slotsGrowWithElementStepsAndPartitionsAndBrokersCoverTheBytes() {
        Plan small = MODEL.plan(Workload.plain(10_000_000, 10, "Adam"), D);
        Plan big = MODEL.plan(Workload.plain(1_000_000_000, 10, "Adam"), D);
        assertThat(small.slots()).isEqualTo((int) Math.ceil(1e8 / small.elementStepsPerSlotSecond()));
        assertThat(big.slots()).isEqualTo((int) Math.ceil(1e10 / big.elementStepsPerSlotSecond()));
        assertThat(big.taskManagers()).isEqualTo((big.slots() + 7) / 8);
        assertThat(big.gradientPartitions()).isGreaterThanOrEqualTo(big.slots());
        assertThat(big.gradientPartitions() * 184e6).isGreaterThanOrEqualTo(big.gradientBytesPerSecond());
        assertThat(big.brokers() * 184e6)
                .isGreaterThanOrEqualTo(3 * (big.gradientBytesPerSecond() + big.parameterBytesPerSecond()));
    }

    @Test
    void halfTheBytesBuysLessThanTwiceTheSteps() {
        Plan fp32 = MODEL.plan(Workload.plain(1_000_000_000, 10, "Adam"), D);
        Plan bf16 = MODEL.plan(
                new Workload(1_000_000_000, 10, "Adam", Encoding.BF16, Encoding.BF16, 0.01, 1, 65_536, false), D);
        double speedUp = bf16.elementStepsPerSlotSecond() / fp32.elementStepsPerSlotSecond();
        // Moving bytes halves, the step and the codecs do not.
        assertThat(speedUp).isGreaterThan(1.0).isLessThan(2.0);
        assertThat(bf16.gradientBytesPerSecond() / fp32.gradientBytesPerSecond())
                .isCloseTo(0.5, within(1e-3));
    }

    @Test
    void stateBytesFollowTheSerializersLayout() {
        assertThat(CapacityModel.stateBytesPerParameter(Workload.plain(1, 1, "Adam")))
                .isEqualTo(12);
        assertThat(CapacityModel.stateBytesPerParameter(Workload.plain(1, 1, "SGD")))
                .isEqualTo(4);
        assertThat(CapacityModel.stateBytesPerParameter(
                        new Workload(1, 1, "Adam", Encoding.FP32, Encoding.TOPK, 0.01, 1, 65_536, true)))
                .as("a delta stream keeps the subscribers' copy")
                .isEqualTo(16);
        assertThat(CapacityModel.stateBytesPerParameter(
                        new Workload(1, 1, "Adam", Encoding.FP32, Encoding.FP32, 0.01, 4, 65_536, false)))
                .as("a SYNC step of 4 contributions keeps their pending sum")
                .isEqualTo(16);
    }

    @Test
    void stateBeyondTheHeapLimitGoesToRocksDb() {
        Plan heap = MODEL.plan(Workload.plain(10_000_000, 1, "Adam"), D);
        assertThat(heap.stateBackend()).isEqualTo("hashmap");
        assertThat(heap.heapBytesPerTaskManager()).isEqualTo(2 * heap.stateBytes() / heap.taskManagers() + (2L << 30));
        Plan tiny = MODEL.plan(Workload.plain(10_000_000_000L, 1, "Adam"), new Deployment(64, 3, 10, 8L << 30));
        assertThat(tiny.stateBackend()).isEqualTo("rocksdb");
    }

    @Test
    void withoutADeltaStreamTopKOutputIsFullFp32Snapshots() {
        Plan p =
                MODEL.plan(new Workload(1_000_000, 1, "Adam", Encoding.TOPK, Encoding.TOPK, 0.01, 1, 65_536, false), D);
        assertThat(p.bytesOutPerElement()).isCloseTo(4 + 128.0 / 65_536, within(1e-9));
        assertThat(p.bytesInPerElement()).isCloseTo((4 + 8 * 656 + 128) / 65_536.0, within(1e-9));
    }

    @Test
    void invalidWorkloadsAreRefusedWithTheirReason() {
        assertThatThrownBy(() -> Workload.plain(0, 1, "Adam")).hasMessageContaining("parameters must be positive");
        assertThatThrownBy(() -> Workload.plain(1, 1, "Adum")).hasMessageContaining("Adum");
        assertThatThrownBy(() -> Rates.measured(1e12, 1.5, 1e8)).hasMessageContaining("do not fit the model");
        assertThatThrownBy(() -> Rates.measured(288e6, 3.0, 1e8))
                .as("halving the bytes cannot more than halve the time")
                .hasMessageContaining("do not fit the model");
    }

    @Test
    void theTableInDocsScalingIsTheModelsOutput() throws Exception {
        Path doc = Path.of("..", "docs", "scaling.md");
        String table = MODEL.table(CapacityModel.standardWorkloads(), D);
        assertThat(Files.readString(doc))
                .as("docs/scaling.md holds `gradstream capacity --table` verbatim; regenerate it after changing "
                        + "the model or its measured rates")
                .contains(table);
    }
}
