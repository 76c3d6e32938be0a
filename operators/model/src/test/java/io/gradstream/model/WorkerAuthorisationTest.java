package io.gradstream.model;

import static io.gradstream.model.ModelRecords.SMALL;
import static io.gradstream.model.ModelRecords.bytes;
import static io.gradstream.model.ModelRecords.fp32;
import static io.gradstream.model.ModelRecords.gradient;
import static io.gradstream.model.ModelRecords.key;
import static io.gradstream.model.ModelRecords.spec;
import static io.gradstream.model.ModelRecords.tensor;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.auth.RecordSignature;
import io.gradstream.core.shard.RejectCode;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.WorkerKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model's worker list: how CREATE and UPDATE set it (and when it makes them invalid), and how admission refuses
 * records of unlisted workers and records without their worker's valid signature as UNAUTHORIZED.
 */
class WorkerAuthorisationTest {
    private static final byte[] KEY_A = "key-of-worker-a-0123456789".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] KEY_B = "key-of-worker-b-9876543210".getBytes(StandardCharsets.US_ASCII);
    private static final Function<String, String> ENV = Map.of("KEY_B", "key-of-worker-b-9876543210\n")::get;
    private static final ModelSpec SPEC = spec(InitRule.ZEROS, 4, tensor("w", 4));

    @TempDir
    Path dir;

    private final GradientAdmission admission = new GradientAdmission(SMALL);

    /** The models that exist, with their worker lists. */
    private static final class Models implements ControlLog.Models {
        final Map<String, ModelSpec> specs = new HashMap<>();
        final Map<String, Map<String, WorkerKey>> workers = new HashMap<>();

        @Override
        public ModelSpec spec(String model) {
            return specs.get(model);
        }

        @Override
        public String incarnation(String model) {
            return "control-0@0";
        }

        @Override
        public int count() {
            return specs.size();
        }

        @Override
        public Map<String, WorkerKey> workers(String model) {
            return workers.get(model);
        }

        void apply(ControlLog.Change change) {
            if (change instanceof ControlLog.Created c) {
                specs.put(c.model(), c.spec());
                workers.put(c.model(), c.config().workerList());
            } else if (change instanceof ControlLog.Updated u) {
                specs.put(u.model(), u.spec());
                workers.put(u.model(), u.config().workerList());
            }
        }
    }

    private Map<String, WorkerKey> aAndB() throws Exception {
        Path a = Files.write(dir.resolve("a.key"), KEY_A);
        Map<String, WorkerKey> list = new LinkedHashMap<>();
        list.put("a", WorkerKey.newBuilder().setKeyFile(a.toString()).build());
        list.put("b", WorkerKey.newBuilder().setKeyEnv("KEY_B").build());
        return list;
    }

    private static byte[] create(Map<String, WorkerKey> workers) {
        return bytes(ControlCommand.newBuilder()
                .setModelId("m")
                .setType(CommandType.CREATE)
                .setSpec(SPEC)
                .setWorkers(workers)
                .build());
    }

    private static GradientBatch from(String worker, long step) {
        return gradient("m", "w", 0, fp32(1, 2, 3, 4))
                .setWorkerId(worker)
                .setWorkerStep(step)
                .build();
    }

    /** Admits {@code b} carrying the given signature headers. */
    private GradientAdmission.Admission admit(ModelConfig config, GradientBatch b, byte[] signature, int headers) {
        byte[] value = bytes(b);
        var parsed = (GradientAdmission.Parsed) admission.decode(key(b), value);
        byte[] recordKey = key(b).getBytes(StandardCharsets.UTF_8);
        return admission.admit(parsed, config, new GradientAdmission.Envelope(recordKey, value, signature, headers));
    }

    private static byte[] signature(byte[] key, GradientBatch b) {
        return RecordSignature.sign(key, key(b).getBytes(StandardCharsets.UTF_8), bytes(b));
    }

    private static GradientAdmission.Refused unauthorized(GradientAdmission.Admission a) {
        assertThat(a).isInstanceOf(GradientAdmission.Refused.class);
        GradientAdmission.Refused r = (GradientAdmission.Refused) a;
        assertThat(r.code()).as(r.detail()).isEqualTo(RejectCode.UNAUTHORIZED);
        return r;
    }

    @Test
    void listedWorkersWithTheirSignatureAreAdmittedAndEverythingElseIsUnauthorized() throws Exception {
        ModelConfig config = ModelConfig.of("m", SPEC, "control-0@0", SMALL, ENV, aAndB());
        GradientBatch a = from("a", 1);
        GradientBatch b = from("b", 1);
        assertThat(admit(config, a, signature(KEY_A, a), 1)).isInstanceOf(GradientAdmission.Contribute.class);
        // b's key came from the environment with a trailing newline, as a key file's would.
        assertThat(admit(config, b, signature(KEY_B, b), 1)).isInstanceOf(GradientAdmission.Contribute.class);

        assertThat(unauthorized(admit(config, from("c", 1), signature(KEY_A, from("c", 1)), 1))
                        .detail())
                .contains("worker c is not one of the model's 2 authorised workers");
        assertThat(unauthorized(admit(config, a, null, 0)).detail()).contains("no gradstream-signature header");
        assertThat(unauthorized(admit(config, a, signature(KEY_B, a), 1)).detail())
                .contains("not worker a's signature");
        assertThat(unauthorized(admit(config, a, signature(KEY_A, from("a", 2)), 1))
                        .detail())
                .contains("not worker a's signature");
        assertThat(unauthorized(admit(config, a, signature(KEY_A, a), 2)).detail())
                .contains("2 gradstream-signature headers");
        assertThat(unauthorized(admit(config, a, new byte[31], 1)).detail()).contains("has 31 bytes");
        assertThat(unauthorized(admit(config, a, new byte[33], 1)).detail()).contains("more than 32 bytes");
        // The unsigned entry point is for models without a list.
        assertThat(admission.admit((GradientAdmission.Parsed) admission.decode(key(a), bytes(a)), config))
                .isInstanceOf(GradientAdmission.Refused.class);
        // A model without a list admits anyone, signed or not.
        ModelConfig open = ModelConfig.of("m", SPEC, "control-0@0", SMALL, ENV, null);
        assertThat(admit(open, from("c", 1), null, 0)).isInstanceOf(GradientAdmission.Contribute.class);
        assertThat(admit(open, a, new byte[5], 3)).isInstanceOf(GradientAdmission.Contribute.class);
    }

    @Test
    void authorisationComesBeforeEveryOtherCheckAndCoversInit() throws Exception {
        ModelSpec explicit = spec(InitRule.EXPLICIT, 4, tensor("w", 4));
        ModelConfig config = ModelConfig.of("m", explicit, "control-0@0", SMALL, ENV, aAndB());
        GradientBatch init = gradient("m", "w", 0, fp32(1, 2, 3, 4))
                .setWorkerId("a")
                .setKind(GradientKind.INIT)
                .build();
        unauthorized(admit(config, init, null, 0));
        assertThat(admit(config, init, signature(KEY_A, init), 1)).isInstanceOf(GradientAdmission.Initialize.class);
        // An unlisted worker learns nothing of the model: not even that its tensor does not exist.
        GradientBatch probe = gradient("m", "nope", 0, fp32(1)).setWorkerId("c").build();
        unauthorized(admit(config, probe, null, 0));
    }

    @Test
    void anUnreadableKeyRefusesOnlyItsWorkerAndNamesTheReferenceNeverAKey() throws Exception {
        Map<String, WorkerKey> list = aAndB();
        list.put(
                "gone",
                WorkerKey.newBuilder()
                        .setKeyFile(dir.resolve("missing.key").toString())
                        .build());
        list.put("dev", WorkerKey.newBuilder().setKeyFile("/dev/zero").build());
        list.put("short", WorkerKey.newBuilder().setKeyEnv("SHORT").build());
        Function<String, String> env =
                Map.of("KEY_B", new String(KEY_B, StandardCharsets.US_ASCII), "SHORT", "abc")::get;
        ModelConfig config = ModelConfig.of("m", SPEC, "control-0@0", SMALL, env, list);
        GradientBatch gone = from("gone", 1);
        assertThat(unauthorized(admit(config, gone, new byte[32], 1)).detail())
                .contains("cannot be read on this task manager")
                .contains("keyFile " + dir.resolve("missing.key"));
        assertThat(unauthorized(admit(config, from("dev", 1), new byte[32], 1)).detail())
                .contains("not a regular file");
        assertThat(unauthorized(admit(config, from("short", 1), new byte[32], 1))
                        .detail())
                .contains("keyEnv SHORT holds 3 bytes")
                .doesNotContain("abc");
        GradientBatch a = from("a", 1);
        assertThat(admit(config, a, signature(KEY_A, a), 1)).isInstanceOf(GradientAdmission.Contribute.class);
        assertThat(config.workers().toString()).doesNotContain("key-of-worker");
    }

    @Test
    void createAndUpdateSetTheListAndInvalidListsAreRefused() throws Exception {
        ControlLog log = new ControlLog(SMALL, ENV);
        Models models = new Models();
        Map<String, WorkerKey> list = aAndB();
        ControlLog.Change created = log.read(create(list), "control-0@1", models);
        assertThat(created).isInstanceOf(ControlLog.Created.class);
        assertThat(((ControlLog.Created) created).config().workerList()).isEqualTo(list);
        models.apply(created);

        // The same CREATE is a no-op; one with another list (or none) is refused.
        assertThat(log.read(create(list), "control-0@2", models)).isInstanceOf(ControlLog.NoOp.class);
        Map<String, WorkerKey> onlyA = new HashMap<>(list);
        onlyA.remove("b");
        assertThat(((ControlLog.Invalid) log.read(create(onlyA), "control-0@3", models)).detail())
                .contains("another worker list");
        assertThat(log.read(create(null), "control-0@4", models)).isInstanceOf(ControlLog.Invalid.class);

        // An UPDATE without workers keeps the list; one with workers replaces it.
        ControlLog.Change lr = log.read(
                bytes(ControlCommand.newBuilder()
                        .setModelId("m")
                        .setType(CommandType.UPDATE_HYPERPARAMETERS)
                        .setHyperparameters(Map.of("lr", 0.5))
                        .build()),
                "control-0@5",
                models);
        assertThat(((ControlLog.Updated) lr).config().workerList()).isEqualTo(list);
        ControlLog.Change added = log.read(
                bytes(ControlCommand.newBuilder()
                        .setModelId("m")
                        .setType(CommandType.UPDATE_HYPERPARAMETERS)
                        .setWorkers(Map.of(
                                "c", WorkerKey.newBuilder().setKeyEnv("KEY_B").build()))
                        .build()),
                "control-0@6",
                models);
        ModelConfig updated = ((ControlLog.Updated) added).config();
        assertThat(updated.workerList()).containsOnlyKeys("c");
        GradientBatch c = from("c", 1);
        assertThat(admit(updated, c, signature(KEY_B, c), 1)).isInstanceOf(GradientAdmission.Contribute.class);

        // Invalid lists: too many workers (SMALL allows 8), bad ids, bad key references.
        Map<String, WorkerKey> many = new HashMap<>();
        for (int i = 0; i < 9; i++) {
            many.put("w" + i, WorkerKey.newBuilder().setKeyEnv("KEY_B").build());
        }
        assertInvalidCreate(log, many, "gradstream.limits.sync-workers = 8");
        assertInvalidCreate(
                log, Map.of("", WorkerKey.newBuilder().setKeyEnv("K").build()), "worker id");
        assertInvalidCreate(
                log,
                Map.of("x".repeat(17), WorkerKey.newBuilder().setKeyEnv("K").build()),
                "name-length = 16");
        assertInvalidCreate(log, Map.of("x", WorkerKey.newBuilder().build()), "exactly one of keyFile and keyEnv");
        assertInvalidCreate(
                log,
                Map.of(
                        "x",
                        WorkerKey.newBuilder().setKeyEnv("K").setKeyFile("/k").build()),
                "exactly one of keyFile and keyEnv");
        assertInvalidCreate(
                new ControlLog(Limits.DEFAULT, ENV), // a record of SMALL's 4 KiB cannot hold the path
                Map.of("x", WorkerKey.newBuilder().setKeyFile("/".repeat(5000)).build()),
                "more than 4096");
        // A key that cannot be read does not make the CREATE invalid: every subtask must agree on the models.
        ControlLog.Change missing = new ControlLog(SMALL, ENV)
                .read(
                        bytes(ControlCommand.newBuilder()
                                .setModelId("n")
                                .setType(CommandType.CREATE)
                                .setSpec(SPEC)
                                .setWorkers(Map.of(
                                        "x",
                                        WorkerKey.newBuilder()
                                                .setKeyEnv("UNSET")
                                                .build()))
                                .build()),
                        "control-0@9",
                        new Models());
        assertThat(missing).isInstanceOf(ControlLog.Created.class);
    }

    private static void assertInvalidCreate(ControlLog log, Map<String, WorkerKey> list, String detail)
            throws Exception {
        ControlLog.Change change = log.read(
                bytes(ControlCommand.newBuilder()
                        .setModelId("new")
                        .setType(CommandType.CREATE)
                        .setSpec(SPEC)
                        .setWorkers(list)
                        .build()),
                "control-0@7",
                new Models());
        assertThat(change).isInstanceOf(ControlLog.Invalid.class);
        ControlLog.Invalid i = (ControlLog.Invalid) change;
        assertThat(i.code()).isEqualTo(RejectCode.INVALID_COMMAND);
        assertThat(i.detail()).contains(detail);
    }
}
