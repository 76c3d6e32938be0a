package io.gradstream.ops.capacity;

import io.gradstream.core.codec.Encoding;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Per-element costs and per-component rates. {@link #measured} holds this project's measurements (docs/scaling.md
 * says which benchmark gave each); every one can be replaced by a user's own.
 *
 * @param byteCostNs slot time per byte a subtask consumes or produces through Kafka and Flink (decode, step and
 *     encode excluded)
 * @param elementCostNs slot time per element step that depends on neither the bytes nor the optimizer: the
 *     shard's bookkeeping (the step's undo copy, finiteness checks, state access). With {@code byteCostNs}
 *     calibrated from two {@code bench pipeline} drains at p = 1: FP32 and BF16 (in and out)
 * @param stepCostNs optimizer step time per element of a 64 Ki shard (JMH), by canonical optimizer name
 * @param encodeCostNs encode time per element of a 64 Ki shard (JMH), by encoding
 * @param decodeCostNs decode time per element of a 64 Ki shard (JMH), by encoding
 * @param partitionBytesPerSecond what one partition takes from one producer (loopback, 1 MiB batches)
 * @param brokerBytesPerSecond what one broker writes (its log, all partitions, replicas included)
 * @param checkpointBytesPerSecond what one TaskManager writes to checkpoint storage
 * @param recordOverheadBytes Avro fields, key and Kafka framing per record, beside the payload
 */
public record Rates(
        double byteCostNs,
        double elementCostNs,
        Map<String, Double> stepCostNs,
        Map<Encoding, Double> encodeCostNs,
        Map<Encoding, Double> decodeCostNs,
        double partitionBytesPerSecond,
        double brokerBytesPerSecond,
        double checkpointBytesPerSecond,
        int recordOverheadBytes) {
    public Rates {
        stepCostNs = Map.copyOf(stepCostNs);
        encodeCostNs = Map.copyOf(encodeCostNs);
        decodeCostNs = Map.copyOf(decodeCostNs);
        CapacityModel.require(byteCostNs >= 0 && elementCostNs >= 0, "costs must not be negative");
        CapacityModel.require(
                partitionBytesPerSecond > 0 && brokerBytesPerSecond > 0 && checkpointBytesPerSecond > 0,
                "rates must be positive");
    }

    /**
     * The FP32 Adam drain rate of {@code bench pipeline} at p = 1, hashmap, at-least-once: median of 20 runs in two
     * invocations (docs/benchmarks.md, "Pipeline", build {@code 32eaab2}).
     */
    public static final double DRAIN_BYTES_PER_SECOND = 548.5e6;

    /** BF16 gradients and snapshots against FP32, steps/s in the same {@code bench pipeline} run: median of 6. */
    public static final double BF16_SPEED_UP = 1.63;

    /** One TaskManager's checkpoint write rate to local disk ({@code CapacityValidationITCase}). */
    public static final double CHECKPOINT_BYTES_PER_SECOND = 200e6;

    /** {@link #measured(double, double, double)} with this project's own drain and checkpoint rates. */
    public static Rates measured() {
        return measured(DRAIN_BYTES_PER_SECOND, BF16_SPEED_UP, CHECKPOINT_BYTES_PER_SECOND);
    }

    /**
     * The rates measured here (docs/benchmarks.md): JMH per 64 Ki shard for steps and codecs, STACK.md's Kafka
     * produce rate with 1 MiB batches for a partition and a broker, and {@code byteCostNs} and {@code
     * elementCostNs} calibrated from the job's FP32 Adam drain rate {@code drainBytesPerSecond} at p = 1 and the
     * steps/s of BF16 in and out relative to it, {@code bf16SpeedUp} ({@code bench pipeline --encoding bf16}).
     */
    public static Rates measured(double drainBytesPerSecond, double bf16SpeedUp, double checkpointBytesPerSecond) {
        Map<String, Double> step = Map.of(
                "SGD", 8.3, "Adam", 26.5, "AdamW", 25.6, "RMSprop", 18.3, "Adagrad", 18.6, "Adamax", 15.8, "NAdam",
                33.2, "RAdam", 33.2, "LAMB", 308.0, "Lion", 19.6);
        Map<Encoding, Double> encode = Map.of(
                Encoding.FP32,
                40.3,
                Encoding.BF16,
                27.6,
                Encoding.FP16,
                41.7,
                Encoding.INT8_BLOCK,
                49.2,
                Encoding.TOPK,
                555.6);
        Map<Encoding, Double> decode = Map.of(
                Encoding.FP32,
                21.0,
                Encoding.BF16,
                31.7,
                Encoding.FP16,
                109.6,
                Encoding.INT8_BLOCK,
                34.3,
                Encoding.TOPK,
                3.9);
        Rates uncalibrated = new Rates(
                0,
                0,
                perElement(step),
                perElement(encode),
                perElement(decode),
                184e6,
                184e6,
                checkpointBytesPerSecond,
                CapacityModel.RECORD_OVERHEAD_BYTES);
        // An FP32 Adam element step at p = 1 took 1 / (drain / 4 B) seconds, a BF16 one that divided by the
        // speed-up. What the codecs and the step do not explain is byteCost x bytes + elementCost in both: two
        // equations in two unknowns.
        CapacityModel bare = new CapacityModel(uncalibrated);
        CapacityModel.Plan fp32 =
                bare.plan(CapacityModel.Workload.plain(1, 1, "Adam"), CapacityModel.Deployment.standard());
        CapacityModel.Plan bf16 = bare.plan(
                new CapacityModel.Workload(1, 1, "Adam", Encoding.BF16, Encoding.BF16, 0.01, 1, 65_536, false),
                CapacityModel.Deployment.standard());
        double rest32 = 1e9 / (drainBytesPerSecond / fp32.bytesInPerElement()) - fp32.slotNsPerElementStep();
        double rest16 =
                1e9 / (drainBytesPerSecond / fp32.bytesInPerElement()) / bf16SpeedUp - bf16.slotNsPerElementStep();
        double bytes32 = fp32.bytesInPerElement() + fp32.bytesOutPerElement();
        double bytes16 = bf16.bytesInPerElement() + bf16.bytesOutPerElement();
        double byteCost = (rest32 - rest16) / (bytes32 - bytes16);
        double elementCost = rest32 - byteCost * bytes32;
        CapacityModel.require(
                byteCost > 0 && elementCost >= 0,
                String.format(
                        Locale.ROOT,
                        "the drain rate and BF16 speed-up do not fit the model (%.3f ns/B, %.3f ns/element):"
                                + " the drain is faster than the codecs and the step alone, or BF16 gains more"
                                + " than its bytes",
                        byteCost,
                        elementCost));
        return new Rates(
                byteCost,
                elementCost,
                uncalibrated.stepCostNs,
                uncalibrated.encodeCostNs,
                uncalibrated.decodeCostNs,
                uncalibrated.partitionBytesPerSecond,
                uncalibrated.brokerBytesPerSecond,
                checkpointBytesPerSecond,
                CapacityModel.RECORD_OVERHEAD_BYTES);
    }

    /** The same rates with another partition and broker write rate (a user's own Kafka measurements). */
    public Rates withKafka(double partitionBytesPerSecond, double brokerBytesPerSecond) {
        return new Rates(
                byteCostNs,
                elementCostNs,
                stepCostNs,
                encodeCostNs,
                decodeCostNs,
                partitionBytesPerSecond,
                brokerBytesPerSecond,
                checkpointBytesPerSecond,
                recordOverheadBytes);
    }

    private static <K> Map<K, Double> perElement(Map<K, Double> microsPerShard) {
        Map<K, Double> out = new java.util.HashMap<>();
        microsPerShard.forEach((k, us) -> out.put(k, us * 1000 / 65_536));
        return out;
    }

    double step(String optimizer) {
        return Objects.requireNonNull(stepCostNs.get(optimizer), () -> "no measured step cost for " + optimizer);
    }

    double encode(Encoding e) {
        return Objects.requireNonNull(encodeCostNs.get(e), () -> "no measured encode cost for " + e);
    }

    double decode(Encoding e) {
        return Objects.requireNonNull(decodeCostNs.get(e), () -> "no measured decode cost for " + e);
    }
}
