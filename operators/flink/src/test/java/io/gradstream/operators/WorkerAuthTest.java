package io.gradstream.operators;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.auth.RecordSignature;
import io.gradstream.model.Limits;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.InitSpec;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.WorkerKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model that names its workers, in the keyed operator: records of other workers, unsigned or wrongly signed records
 * go to the rejected topic as UNAUTHORIZED and change nothing, the listed workers' signed records train, and the list
 * survives a snapshot and changes with an UPDATE.
 */
class WorkerAuthTest {
    private static final byte[] KEY_A = "worker-a-secret-0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] KEY_B = "worker-b-secret-fedcba9876543210".getBytes(StandardCharsets.US_ASCII);
    private static final float[] ONES = {1, 1, 1, 1};

    @TempDir
    Path dir;

    private Map<String, WorkerKey> aAndB;
    private final List<KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate>> open =
            new ArrayList<>();

    @BeforeEach
    void keys() throws Exception {
        aAndB = Map.of(
                "a", keyFile("a", KEY_A),
                "b", keyFile("b", KEY_B));
    }

    private WorkerKey keyFile(String name, byte[] key) throws Exception {
        Path p = Files.write(dir.resolve(name + ".key"), key);
        return WorkerKey.newBuilder().setKeyFile(p.toString()).build();
    }

    @AfterEach
    void close() throws Exception {
        for (var h : open) {
            h.close();
        }
    }

    private KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate> harness(
            OperatorSubtaskState restoreFrom) throws Exception {
        var h = BatchedStepsTest.harness(
                new ShardOptimizerOperator(60_000, 100, BackendSettings.cpu(), Limits.DEFAULT), 1, 0, restoreFrom);
        open.add(h);
        return h;
    }

    /** SGD lr 1 on one shard of 4 zeros, ASYNC: every admitted gradient is one step, parameters = -sum of them. */
    private static ModelSpec spec(InitRule init) {
        return ModelSpec.newBuilder(Records.spec("SGD", Map.of("lr", 1.0), 4, Records.async(100), 4))
                .setInit(InitSpec.newBuilder().setRule(init).build())
                .build();
    }

    private static RawRecord create(ModelSpec spec, Map<String, WorkerKey> workers) {
        return Records.command(ControlCommand.newBuilder()
                .setModelId("m")
                .setType(CommandType.CREATE)
                .setSpec(spec)
                .setWorkers(workers)
                .build());
    }

    private static RawRecord signed(RawRecord r, byte[] key) {
        r.addSignatureHeader(RecordSignature.sign(key, r.key, r.value));
        return r;
    }

    private static RawRecord gradient(String worker, long step) {
        return Records.gradient("m", 0, worker, step, 0, 1, ONES);
    }

    private static List<ParameterUpdate> updates(KeyedTwoInputStreamOperatorTestHarness<?, ?, ?, ParameterUpdate> h) {
        List<ParameterUpdate> out = new ArrayList<>();
        for (Object o : h.getOutput()) {
            if (o instanceof StreamRecord<?> r && r.getValue() instanceof ParameterUpdate u) {
                out.add(u);
            }
        }
        return out;
    }

    private static List<RejectedRecord> rejected(KeyedTwoInputStreamOperatorTestHarness<?, ?, ?, ?> h) {
        List<RejectedRecord> out = new ArrayList<>();
        var side = h.getSideOutput(Rejections.TAG);
        if (side != null) {
            side.forEach(r -> out.add(r.getValue()));
        }
        return out;
    }

    private static float[] last(KeyedTwoInputStreamOperatorTestHarness<?, ?, ?, ParameterUpdate> h) {
        List<ParameterUpdate> u = updates(h);
        return Records.values(u.get(u.size() - 1));
    }

    @Test
    void onlyTheListedWorkersSignedRecordsTrainAndRefusalsChangeNothing() throws Exception {
        var h = harness(null);
        h.processElement2(create(spec(InitRule.ZEROS), aAndB), 0);
        // The attack: another worker's id with a step far ahead would make a's real steps duplicates.
        h.processElement1(gradient("a", 1000), 1); // a's id, unsigned
        h.processElement1(signed(gradient("a", 999), KEY_B), 2); // a's id, b's key
        RawRecord tampered = signed(gradient("a", 998), KEY_A);
        tampered.value = gradient("a", 997).value; // signed, then changed
        h.processElement1(tampered, 3);
        h.processElement1(signed(gradient("c", 1), KEY_A), 4); // not listed
        RawRecord twice = signed(gradient("a", 996), KEY_A);
        twice.addSignatureHeader(twice.signature);
        h.processElement1(twice, 5);
        assertThat(rejected(h)).hasSize(5).allSatisfy(r -> {
            assertThat(r.getReason()).isEqualTo(RejectReason.UNAUTHORIZED);
            assertThat(r.getModelId()).isEqualTo("m");
            assertThat(r.getDetail()).doesNotContain("worker-a-secret").doesNotContain("worker-b-secret");
        });
        assertThat(updates(h)).extracting(ParameterUpdate::getVersion).containsExactly(0L);

        // a's and b's signed steps are applied: the forged step 1000 left no watermark behind.
        RawRecord a1 = signed(gradient("a", 1), KEY_A);
        h.processElement1(a1, 6);
        h.processElement1(signed(gradient("b", 1), KEY_B), 7);
        assertThat(updates(h)).extracting(ParameterUpdate::getVersion).containsExactly(0L, 1L, 2L);
        assertThat(last(h)).containsExactly(-2, -2, -2, -2);

        // A signed record sent again is a duplicate, as any record is.
        h.processElement1(a1, 8);
        assertThat(rejected(h).get(5).getReason()).isEqualTo(RejectReason.DUPLICATE);
        assertThat(updates(h)).hasSize(3);
    }

    @Test
    void initRecordsOfAnExplicitModelMustBeSignedToo() throws Exception {
        var h = harness(null);
        h.processElement2(create(spec(InitRule.EXPLICIT), aAndB), 0);
        RawRecord init = Records.batch(GradientBatch.newBuilder()
                .setModelId("m")
                .setTensor("w")
                .setShard(0)
                .setWorkerId("a")
                .setWorkerStep(0)
                .setBaseVersion(0)
                .setKind(GradientKind.INIT)
                .setPayload(Records.payload(new float[] {1, 2, 3, 4}))
                .build());
        h.processElement1(init, 1);
        assertThat(rejected(h))
                .singleElement()
                .extracting(RejectedRecord::getReason)
                .isEqualTo(RejectReason.UNAUTHORIZED);
        assertThat(updates(h)).isEmpty();
        h.processElement1(signed(init, KEY_A), 2);
        assertThat(updates(h))
                .singleElement()
                .satisfies(u -> assertThat(Records.values(u)).containsExactly(1, 2, 3, 4));
    }

    @Test
    void aWorkerWhoseKeyIsMissingIsRefusedAndTheJobGoesOn() throws Exception {
        var h = harness(null);
        Path missing = dir.resolve("not-mounted.key");
        h.processElement2(
                create(
                        spec(InitRule.ZEROS),
                        Map.of(
                                "a", aAndB.get("a"),
                                "late",
                                        WorkerKey.newBuilder()
                                                .setKeyFile(missing.toString())
                                                .build())),
                0);
        h.processElement1(signed(gradient("late", 1), KEY_B), 1);
        assertThat(rejected(h)).singleElement().satisfies(r -> {
            assertThat(r.getReason()).isEqualTo(RejectReason.UNAUTHORIZED);
            assertThat(r.getDetail()).contains("keyFile " + missing).contains("cannot be read");
        });
        h.processElement1(signed(gradient("a", 1), KEY_A), 2);
        assertThat(updates(h)).extracting(ParameterUpdate::getVersion).containsExactly(0L, 1L);
    }

    @Test
    void anUpdateAddsAWorkerAndTheListSurvivesASnapshot() throws Exception {
        var h = harness(null);
        h.processElement2(create(spec(InitRule.ZEROS), Map.of("a", aAndB.get("a"))), 0);
        h.processElement1(signed(gradient("b", 1), KEY_B), 1);
        assertThat(rejected(h))
                .singleElement()
                .extracting(RejectedRecord::getReason)
                .isEqualTo(RejectReason.UNAUTHORIZED);
        h.processElement2(
                Records.command(ControlCommand.newBuilder()
                        .setModelId("m")
                        .setType(CommandType.UPDATE_HYPERPARAMETERS)
                        .setWorkers(aAndB)
                        .build()),
                2);
        h.processElement1(signed(gradient("b", 1), KEY_B), 3);
        assertThat(updates(h)).extracting(ParameterUpdate::getVersion).containsExactly(0L, 1L);

        OperatorSubtaskState snapshot = h.snapshot(1, 4);
        var restored = harness(snapshot);
        restored.processElement1(gradient("a", 1), 5); // still refused unsigned after the restore
        restored.processElement1(signed(gradient("a", 1), KEY_A), 6);
        assertThat(rejected(restored))
                .singleElement()
                .extracting(RejectedRecord::getReason)
                .isEqualTo(RejectReason.UNAUTHORIZED);
        assertThat(updates(restored)).extracting(ParameterUpdate::getVersion).containsExactly(2L);
        assertThat(last(restored)).containsExactly(-2, -2, -2, -2);
    }

    @Test
    void aSignedRecordKeepsItsSignatureWhileItWaitsForItsModel() throws Exception {
        var h = harness(null);
        h.processElement1(signed(gradient("a", 1), KEY_A), 0); // before the CREATE: it waits
        h.processElement1(gradient("b", 1), 1); // waits too, unsigned
        OperatorSubtaskState snapshot = h.snapshot(1, 2);
        var restored = harness(snapshot);
        restored.processElement2(create(spec(InitRule.ZEROS), aAndB), 3);
        restored.setProcessingTime(1_000); // the waiting room's retry
        assertThat(updates(restored)).extracting(ParameterUpdate::getVersion).containsExactly(0L, 1L);
        assertThat(rejected(restored)).singleElement().satisfies(r -> {
            assertThat(r.getReason()).isEqualTo(RejectReason.UNAUTHORIZED);
            assertThat(r.getDetail()).contains("no gradstream-signature header");
        });
    }

    @Test
    void signatureHeadersAreKeptBoundedAndCounted() {
        RawRecord r = gradient("a", 1);
        r.addSignatureHeader(new byte[1 << 20]);
        r.addSignatureHeader(null);
        assertThat(r.signature).hasSize(RecordSignature.BYTES + 1);
        assertThat(r.signatureHeaders).isEqualTo(2);
        RawRecord empty = gradient("a", 1);
        empty.addSignatureHeader(null);
        assertThat(empty.signature).isEmpty();
        assertThat(empty.signatureHeaders).isOne();
    }
}
