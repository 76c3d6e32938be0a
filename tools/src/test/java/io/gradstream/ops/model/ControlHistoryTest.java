package io.gradstream.ops.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.model.Limits;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.TensorSpec;
import io.gradstream.schemas.WorkerKey;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The control topic replayed with the job's rules: state, merged updates, and refused commands that change nothing. */
class ControlHistoryTest {
    private final AvroRecords<ControlCommand> avro = new AvroRecords<>(ControlCommand.class);
    private final ControlHistory h = new ControlHistory(Limits.DEFAULT);
    private long clock;

    static ModelSpec spec(String optimizer, double lr) {
        return ModelSpec.newBuilder()
                .setTensors(List.of(new TensorSpec("w", List.of(4, 3))))
                .setOptimizer(optimizer)
                .setHyperparameters(Map.of("lr", lr))
                .build();
    }

    private void apply(ControlCommand c) {
        apply(c.getModelId(), c);
    }

    private void apply(String key, ControlCommand c) {
        h.accept(key.getBytes(StandardCharsets.UTF_8), avro.encode(c), ++clock);
    }

    @Test
    void followsALifeOfCommands() {
        apply(ControlSender.create(new ModelDefinition("m", spec("Adam", 0.1), null, null), 0));
        assertThat(h.model("m").state()).isEqualTo(ControlHistory.State.ACTIVE);
        assertThat(h.model("m").createdAtMs()).isEqualTo(1);

        apply(ControlSender.of("m", CommandType.PAUSE, 0));
        assertThat(h.model("m").state()).isEqualTo(ControlHistory.State.PAUSED);

        Map<String, WorkerKey> workers = Map.of("w0", new WorkerKey(null, "W0_KEY"));
        apply(ControlSender.update("m", Map.of("lr", 0.01, "weight_decay", 0.1), null, workers, 0));
        ControlHistory.Model m = h.model("m");
        assertThat(m.state()).as("an update keeps the pause").isEqualTo(ControlHistory.State.PAUSED);
        assertThat(m.spec().getHyperparameters()).containsEntry("lr", 0.01).containsEntry("weight_decay", 0.1);
        assertThat(m.workers()).isEqualTo(workers);
        assertThat(m.updates()).isEqualTo(1);

        apply(ControlSender.of("m", CommandType.RESUME, 0));
        apply(ControlSender.of("m", CommandType.DELETE, 0));
        assertThat(h.model("m").state()).isEqualTo(ControlHistory.State.DELETED);
        assertThat(h.refused()).isZero();

        apply(ControlSender.create(new ModelDefinition("m", spec("SGD", 0.5), null, null), 0));
        assertThat(h.model("m").state()).isEqualTo(ControlHistory.State.ACTIVE);
        assertThat(h.model("m").spec().getOptimizer()).isEqualTo("SGD");
        assertThat(h.model("m").updates()).isZero();
    }

    @Test
    void compressionIsFixedByTheCreateAndSnapshotsNeedADeltaStream() {
        var deltas = io.gradstream.schemas.CompressionSpec.newBuilder()
                .setDeltaEncoding(io.gradstream.schemas.Encoding.INT8_BLOCK)
                .build();
        apply(ControlSender.create(new ModelDefinition("d", spec("Adam", 0.1), null, deltas), 0));
        apply(ControlSender.create(new ModelDefinition("f", spec("Adam", 0.1), null, null), 0));
        assertThat(h.model("d").hasDeltaStream()).isTrue();
        assertThat(h.model("f").hasDeltaStream()).isFalse();
        apply(ControlSender.of("d", CommandType.SNAPSHOT, 0));
        assertThat(h.refused()).isZero();
        apply(ControlSender.of("f", CommandType.SNAPSHOT, 0)); // no delta stream
        apply(ControlSender.create(new ModelDefinition("f", spec("Adam", 0.1), null, deltas), 0)); // other settings
        ControlCommand update = ControlSender.update("d", Map.of("lr", 0.2), null, null, 0);
        update.setCompression(deltas); // only a CREATE may carry compression
        apply(update);
        assertThat(h.refused()).isEqualTo(3);
        assertThat(h.model("d").spec().getHyperparameters()).containsEntry("lr", 0.1);
        assertThat(h.model("f").compression()).isNull();
    }

    @Test
    void commandsTheJobRefusesChangeNothing() {
        apply(ControlSender.create(new ModelDefinition("m", spec("Adam", 0.1), null, null), 0));
        // The same CREATE again: a no-op, not a refusal.
        apply(ControlSender.create(new ModelDefinition("m", spec("Adam", 0.1), null, null), 0));
        assertThat(h.refused()).isZero();
        // Another spec for an existing model, an invalid update, commands for unknown models, a wrong key, garbage.
        apply(ControlSender.create(new ModelDefinition("m", spec("SGD", 0.1), null, null), 0));
        apply(ControlSender.update("m", Map.of("lr", -1.0), null, null, 0));
        apply(ControlSender.of("ghost", CommandType.PAUSE, 0));
        apply(ControlSender.update("ghost", Map.of("lr", 1.0), null, null, 0));
        apply("other", ControlSender.of("m", CommandType.DELETE, 0));
        apply(ControlSender.create(new ModelDefinition("bad", spec("NoSuchOptimizer", 0.1), null, null), 0));
        h.accept("m".getBytes(StandardCharsets.UTF_8), new byte[] {1, 2, 3}, 99);
        assertThat(h.refused()).isEqualTo(7);
        assertThat(h.models()).containsOnlyKeys("m");
        ControlHistory.Model m = h.model("m");
        assertThat(m.state()).isEqualTo(ControlHistory.State.ACTIVE);
        assertThat(m.spec()).isEqualTo(spec("Adam", 0.1));
    }
}
