package io.gradstream.model;

import static io.gradstream.model.ModelRecords.SMALL;
import static io.gradstream.model.ModelRecords.bytes;
import static io.gradstream.model.ModelRecords.command;
import static io.gradstream.model.ModelRecords.create;
import static io.gradstream.model.ModelRecords.spec;
import static io.gradstream.model.ModelRecords.tensor;
import static io.gradstream.model.ModelRecords.varint;
import static io.gradstream.model.ModelRecords.withModelBounds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.gradstream.core.shard.RejectCode;
import io.gradstream.model.ControlLog.Change;
import io.gradstream.model.ControlLog.Created;
import io.gradstream.model.ControlLog.Deleted;
import io.gradstream.model.ControlLog.Invalid;
import io.gradstream.model.ControlLog.NoOp;
import io.gradstream.model.ControlLog.Paused;
import io.gradstream.model.ControlLog.Resumed;
import io.gradstream.model.ControlLog.Updated;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.ScheduleSpec;
import io.gradstream.schemas.TensorSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control log: each command against the models that exist ends in one {@link Change}, decided before anything
 * is allocated.
 */
class ControlLogTest {

    /** The models that exist, as the operator's broadcast state holds them. */
    private static final class FakeModels implements ControlLog.Models {
        final Map<String, ModelSpec> specs = new HashMap<>();
        final Map<String, String> incarnations = new HashMap<>();

        FakeModels with(String model, ModelSpec spec, String incarnation) {
            specs.put(model, spec);
            incarnations.put(model, incarnation);
            return this;
        }

        @Override
        public ModelSpec spec(String model) {
            return specs.get(model);
        }

        @Override
        public String incarnation(String model) {
            return incarnations.get(model);
        }

        @Override
        public int count() {
            return specs.size();
        }
    }

    /** w [10, 10] in shards of 64, b [3]: 103 elements in 3 shards. */
    private static final ModelSpec SPEC = spec(InitRule.ZEROS, 64, tensor("w", 10, 10), tensor("b", 3));

    private final ControlLog log = new ControlLog(SMALL, name -> null);
    private final FakeModels models = new FakeModels();

    private static Invalid invalid(Change change, RejectCode code) {
        assertThat(change).isInstanceOf(Invalid.class);
        Invalid i = (Invalid) change;
        assertThat(i.code()).as(i.detail()).isEqualTo(code);
        return i;
    }

    private Invalid invalidCreate(ControlLog log, ModelSpec spec) throws Exception {
        Invalid i = invalid(log.read(create("m", spec), "control-0@5", models), RejectCode.INVALID_COMMAND);
        assertThat(i.model()).isEqualTo("m");
        assertThat(i.detail()).startsWith("CREATE m:");
        return i;
    }

    private static ModelSpec withTensors(ModelSpec base, int shardSize, TensorSpec... tensors) {
        return ModelSpec.newBuilder(base)
                .setShardSize(shardSize)
                .setTensors(List.of(tensors))
                .build();
    }

    @Test
    void createIsCreatedWithItsConfigAndIncarnation() throws Exception {
        Change change = log.read(create("m", SPEC), "control-0@5", models);
        assertThat(change).isInstanceOf(Created.class);
        Created c = (Created) change;
        assertThat(c.model()).isEqualTo("m");
        assertThat(c.spec()).isEqualTo(SPEC);
        assertThat(c.incarnation()).isEqualTo("control-0@5");
        assertThat(c.config().incarnation()).isEqualTo("control-0@5");
        assertThat(c.config().modelId()).isEqualTo("m");
        assertThat(c.config().spec()).isEqualTo(SPEC);
        assertThat(c.config().tensors()).containsOnlyKeys("w", "b");
        assertThat(c.config().tensors().get("w").shardCount()).isEqualTo(2);
        assertThat(c.config().tensors().get("b").shardCount()).isEqualTo(1);
        assertThat(c.config().explicitInit()).isFalse();
    }

    @Test
    void theSameCreateAgainIsANoOp() throws Exception {
        Created first = (Created) log.read(create("m", SPEC), "control-0@5", models);
        models.with("m", first.spec(), first.incarnation());
        Change again = log.read(create("m", SPEC), "control-0@6", models);
        assertThat(again).isEqualTo(new NoOp("m"));
        assertThat(models.incarnation("m")).isEqualTo("control-0@5");
    }

    @Test
    void anotherSpecForAnExistingModelIsInvalid() throws Exception {
        models.with("m", SPEC, "control-0@5");
        ModelSpec other = ModelSpec.newBuilder(SPEC).setShardSize(32).build();
        Invalid i = invalidCreate(log, other);
        assertThat(i.detail()).contains("exists with another spec");
    }

    @Test
    void aCreateBeyondTheModelLimitIsInvalid() throws Exception {
        for (int n = 0; n < SMALL.models() - 1; n++) {
            models.with("m" + n, SPEC, "control-0@" + n);
        }
        assertThat(log.read(create("last", SPEC), "control-0@9", models)).isInstanceOf(Created.class);
        models.with("last", SPEC, "control-0@9");
        Invalid i = invalid(log.read(create("m", SPEC), "control-0@10", models), RejectCode.INVALID_COMMAND);
        assertThat(i.detail()).contains("gradstream.limits.models = " + SMALL.models());
        assertThat(i.model()).isEqualTo("m");
        // An existing model's repeated CREATE is still a no-op at the limit.
        assertThat(log.read(create("last", SPEC), "control-0@11", models)).isEqualTo(new NoOp("last"));
    }

    @Test
    void twoToTheThirtyOneShardsOfOneElementAreInvalid() throws Exception {
        ModelSpec huge = withTensors(SPEC, 1, tensor("w", Integer.MAX_VALUE));
        assertThat(invalidCreate(log, huge).detail()).contains("gradstream.limits.model-elements");
        // With room for the elements, the shard count is what refuses it.
        ControlLog roomy = new ControlLog(
                withModelBounds(Limits.DEFAULT, Limits.MAX_SHARD_ELEMENTS, 1 << 16, 1L << 40), name -> null);
        assertThat(invalidCreate(roomy, huge).detail()).contains("gradstream.limits.model-shards");
    }

    @Test
    void aShardSizeAboveShardElementsIsInvalid() throws Exception {
        ModelSpec spec = ModelSpec.newBuilder(SPEC)
                .setShardSize(SMALL.shardElements() + 1)
                .build();
        assertThat(invalidCreate(log, spec).detail()).contains("gradstream.limits.shard-elements");
        for (int size : new int[] {0, -1, Integer.MIN_VALUE}) {
            assertThat(invalidCreate(
                                    log,
                                    ModelSpec.newBuilder(SPEC)
                                            .setShardSize(size)
                                            .build())
                            .detail())
                    .contains("shardSize");
        }
    }

    @Test
    void shapesWhoseProductOverflowsAreInvalid() throws Exception {
        ControlLog defaults = new ControlLog(Limits.DEFAULT, name -> null);
        int max = Integer.MAX_VALUE;
        // 2^32 overflows an int; (2^31 - 1)^3 and 2^93 overflow a long; 2^64 wraps a long to 0.
        for (TensorSpec t : new TensorSpec[] {
            tensor("t", 65536, 65536),
            tensor("t", max, max, max),
            tensor("t", 1 << 20, 1 << 20, 1 << 24),
            tensor("t", 1 << 30, 1 << 30, 1 << 30, 8),
            tensor("t", 1, max, 1, max)
        }) {
            Invalid i = invalidCreate(defaults, withTensors(SPEC, 64, t));
            assertThat(i.detail()).contains("gradstream.limits.model-elements");
        }
    }

    @Test
    void shapesWhoseProductOverflowsAreInvalidUnderTheLargestModelElements() throws Exception {
        ControlLog roomy = new ControlLog(
                withModelBounds(Limits.DEFAULT, Limits.MAX_SHARD_ELEMENTS, 1 << 16, 1L << 40), name -> null);
        Invalid i = invalidCreate(
                roomy, withTensors(SPEC, Limits.MAX_SHARD_ELEMENTS, tensor("t", 1 << 20, 1 << 20, 1 << 24)));
        assertThat(i.detail()).contains("gradstream.limits.model-elements");
    }

    @Test
    void aModelAboveModelElementsIsInvalid() throws Exception {
        // 1024 elements are allowed, in 16 shards of 64.
        assertThat(log.read(create("m", withTensors(SPEC, 64, tensor("w", 960), tensor("b", 64))), "c-0@1", models))
                .isInstanceOf(Created.class);
        Invalid i = invalidCreate(log, withTensors(SPEC, 64, tensor("w", 960), tensor("b", 65)));
        assertThat(i.detail())
                .contains("gradstream.limits.model-elements = 1024")
                .contains("tensor b");
    }

    @Test
    void aModelAboveModelShardsIsInvalid() throws Exception {
        // 17 shards of one element, within 1024 elements.
        Invalid i = invalidCreate(log, withTensors(SPEC, 1, tensor("w", 17)));
        assertThat(i.detail()).contains("gradstream.limits.model-shards = 16");
    }

    @Test
    void aPrivacySeedFileThatIsNotARegularFileIsInvalid() throws Exception {
        assumeTrue(Files.exists(Path.of("/dev/zero")), "needs /dev/zero");
        ModelSpec spec = ModelSpec.newBuilder(SPEC)
                .setPrivacy(privacy().setSeedFile("/dev/zero").build())
                .build();
        Invalid i = invalidCreate(log, spec);
        assertThat(i.detail()).contains("/dev/zero").contains("not a regular file");
    }

    @Test
    void aPrivateModelWithARegularSeedFileIsCreated(@TempDir Path dir) throws Exception {
        Path seed = dir.resolve("seed");
        Files.writeString(seed, "0123456789abcdef0123456789abcdef\n");
        ModelSpec spec = ModelSpec.newBuilder(SPEC)
                .setPrivacy(privacy().setSeedFile(seed.toString()).build())
                .build();
        Created c = (Created) log.read(create("m", spec), "control-0@5", models);
        assertThat(c.config().privacy()).isNotNull();
        // A directory is not a regular file either.
        ModelSpec directory = ModelSpec.newBuilder(SPEC)
                .setPrivacy(privacy().setSeedFile(dir.toString()).build())
                .build();
        assertThat(invalidCreate(log, directory).detail()).contains("not a regular file");
    }

    private static PrivacySpec.Builder privacy() {
        return PrivacySpec.newBuilder()
                .setClipNorm(1.0)
                .setNoiseMultiplier(1.2)
                .setDelta(1e-5)
                .setExpectedPerStep(2.0)
                .setPopulationSize(1000L);
    }

    @Test
    void aCreateWithoutASpecIsInvalid() throws Exception {
        ControlCommand c = ControlCommand.newBuilder()
                .setModelId("m")
                .setType(CommandType.CREATE)
                .build();
        Invalid i = invalid(log.read(bytes(c), "control-0@5", models), RejectCode.INVALID_COMMAND);
        assertThat(i.detail()).contains("no spec");
    }

    @Test
    void aCreateWithAnInvalidSpecIsInvalid() throws Exception {
        assertThat(invalidCreate(
                                log,
                                ModelSpec.newBuilder(SPEC).setOptimizer("Nope").build())
                        .detail())
                .contains("Unknown optimizer");
        assertThat(invalidCreate(
                                log,
                                ModelSpec.newBuilder(SPEC).setTensors(List.of()).build())
                        .detail())
                .contains("no tensors");
        assertThat(invalidCreate(log, withTensors(SPEC, 64, tensor("w", 3, 0))).detail())
                .contains("non-positive dimension");
        assertThat(invalidCreate(log, withTensors(SPEC, 64, tensor("w", 3), tensor("w", 4)))
                        .detail())
                .contains("listed twice");
    }

    @Test
    void aModelNameThatIsNotANameIsInvalidWithoutAModel() throws Exception {
        for (String name : new String[] {"", "a/b", "a\tb", "x".repeat(SMALL.nameLength() + 1)}) {
            Invalid i = invalid(log.read(create(name, SPEC), "control-0@5", models), RejectCode.INVALID_COMMAND);
            assertThat(i.model()).isNull();
            assertThat(i.detail()).startsWith("CREATE: ");
        }
    }

    @Test
    void commandsOnAnUnknownModelAreInvalid() throws Exception {
        models.with("m", SPEC, "control-0@5");
        for (CommandType type : new CommandType[] {
            CommandType.UPDATE_HYPERPARAMETERS, CommandType.PAUSE, CommandType.RESUME, CommandType.DELETE
        }) {
            Invalid i = invalid(log.read(command("x", type), "control-0@6", models), RejectCode.INVALID_COMMAND);
            assertThat(i.model()).isEqualTo("x");
            assertThat(i.detail()).contains(type.name()).contains("no model 'x'");
        }
    }

    @Test
    void commandsOnAnExistingModel() throws Exception {
        models.with("m", SPEC, "control-0@5");
        assertThat(log.read(command("m", CommandType.PAUSE), "control-0@6", models))
                .isEqualTo(new Paused("m"));
        assertThat(log.read(command("m", CommandType.RESUME), "control-0@7", models))
                .isEqualTo(new Resumed("m"));
        assertThat(log.read(command("m", CommandType.DELETE), "control-0@8", models))
                .isEqualTo(new Deleted("m"));
    }

    private byte[] update(String model, Map<String, Object> hp) {
        return bytes(ControlCommand.newBuilder()
                .setModelId(model)
                .setType(CommandType.UPDATE_HYPERPARAMETERS)
                .setHyperparameters(hp)
                .build());
    }

    @Test
    void anUpdateWithAnInvalidValueIsInvalid() throws Exception {
        models.with("m", SPEC, "control-0@5");
        for (Map<String, Object> hp :
                List.<Map<String, Object>>of(Map.of("lr", -1.0), Map.of("momentum", -0.5), Map.of("lr", Double.NaN))) {
            Invalid i = invalid(log.read(update("m", hp), "control-0@6", models), RejectCode.INVALID_COMMAND);
            assertThat(i.model()).isEqualTo("m");
            assertThat(i.detail())
                    .startsWith("UPDATE_HYPERPARAMETERS m:")
                    .contains(hp.keySet().iterator().next());
        }
        // The model's spec is unchanged.
        assertThat(models.spec("m")).isEqualTo(SPEC);
    }

    @Test
    void aValidUpdateIsUpdatedKeepingTheIncarnation() throws Exception {
        models.with("m", SPEC, "control-0@5");
        Change change = log.read(update("m", Map.of("lr", 0.5, "momentum", 0.9)), "control-0@6", models);
        assertThat(change).isInstanceOf(Updated.class);
        Updated u = (Updated) change;
        assertThat(u.model()).isEqualTo("m");
        assertThat(u.spec().getHyperparameters())
                .containsEntry("lr", 0.5)
                .containsEntry("momentum", 0.9)
                .containsEntry("weight_decay", 0.01)
                .hasSize(3);
        assertThat(u.spec().getTensors()).isEqualTo(SPEC.getTensors());
        assertThat(u.config().incarnation()).isEqualTo("control-0@5");
        assertThat(u.config().optimizerAt(0).learningRate()).isEqualTo(0.5);
    }

    @Test
    void anUpdateOfAModelFromBeforeIncarnationsKeepsNone() throws Exception {
        models.with("m", SPEC, null);
        Updated u = (Updated) log.read(update("m", Map.of("lr", 0.2)), "control-0@6", models);
        assertThat(u.config().incarnation()).isNull();
    }

    @Test
    void anUpdateWithANewScheduleReplacesIt() throws Exception {
        models.with("m", SPEC, "control-0@5");
        ScheduleSpec step = ScheduleSpec.newBuilder()
                .setName("StepLR")
                .setHyperparameters(Map.of("step_size", 2.0, "gamma", 0.5))
                .build();
        byte[] cmd = bytes(ControlCommand.newBuilder()
                .setModelId("m")
                .setType(CommandType.UPDATE_HYPERPARAMETERS)
                .setLrSchedule(step)
                .build());
        Updated u = (Updated) log.read(cmd, "control-0@6", models);
        assertThat(u.spec().getLrSchedule()).isEqualTo(step);
        assertThat(u.config().optimizerAt(0).learningRate()).isEqualTo(0.1);
        assertThat(u.config().optimizerAt(2).learningRate()).isCloseTo(0.05, within(1e-12));
    }

    @Test
    void undecodableBytesAreInvalidWithoutAModel() throws Exception {
        Random random = new Random(11);
        for (int n = 0; n < 100; n++) {
            byte[] garbage = new byte[random.nextInt(1, 200)];
            random.nextBytes(garbage);
            Change change = log.read(garbage, "control-0@6", models);
            if (change instanceof Invalid i && i.code() == RejectCode.UNDECODABLE) {
                assertThat(i.model()).isNull();
                assertThat(i.detail()).startsWith("not a ControlCommand");
            } else {
                // Random bytes can spell a command by chance; it must then still be refused (no model exists).
                assertThat(change).isInstanceOf(Invalid.class);
            }
        }
        for (byte[] bad : new byte[][] {null, new byte[0], varint(1L << 31), Arrays.copyOf(create("m", SPEC), 20)}) {
            Invalid i = invalid(log.read(bad, "control-0@6", models), RejectCode.UNDECODABLE);
            assertThat(i.model()).isNull();
        }
    }

    @Test
    void aCommandWithMoreItemsThanTheModelLimitsAllowIsTooLargeBeforeItIsDecoded() throws Exception {
        // SMALL's bounds with room for the record's bytes: 16 shards, so 8 x 16 + 4096 = 4224 items.
        Limits limits = new Limits(1 << 20, 1024, 64, 16, 1024, 4, 8, 100, 1000, 16, 1 << 16, 1 << 20);
        assertThat(limits.controlItems()).isEqualTo(4224);
        TensorSpec[] tensors = new TensorSpec[2200];
        for (int i = 0; i < tensors.length; i++) {
            tensors[i] = tensor("t" + i, 1); // 2 items each: the tensor and its dimension
        }
        byte[] many = create("m", withTensors(SPEC, 1, tensors));
        Invalid i =
                invalid(new ControlLog(limits, name -> null).read(many, "control-0@7", models), RejectCode.TOO_LARGE);
        assertThat(i.model()).isNull();
        assertThat(i.detail()).contains("4224").contains("gradstream.limits.model-shards");
        // Where the limits allow 2200 shards, the same command is a model.
        Limits roomy = withModelBounds(limits, 64, 4096, 1 << 20);
        assertThat(new ControlLog(roomy, name -> null).read(many, "control-0@7", models))
                .isInstanceOf(Created.class);
    }

    @Test
    void aCommandUnderAnotherKeyThanItsModelIdIsInvalidBeforeAnythingChanges() throws Exception {
        models.with("m", SPEC, "control-0@1");
        byte[] delete = command("m", CommandType.DELETE);
        for (String key : new String[] {"x", "", "m ", "M", "m/w/0"}) {
            Invalid i = invalid(
                    log.read(key.getBytes(java.nio.charset.StandardCharsets.UTF_8), delete, "control-0@8", models),
                    RejectCode.INVALID_COMMAND);
            assertThat(i.model()).isNull();
            assertThat(i.detail()).contains("record key").contains("model id");
        }
        invalid(log.read(null, delete, "control-0@8", models), RejectCode.INVALID_COMMAND);
        invalid(
                log.read(
                        "m".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        create("n", SPEC),
                        "control-0@8",
                        models),
                RejectCode.INVALID_COMMAND);
        assertThat(log.read("m".getBytes(java.nio.charset.StandardCharsets.UTF_8), delete, "control-0@8", models))
                .isInstanceOf(Deleted.class);
        // Undecodable records keep their reason: the key is only compared with a command that was read.
        invalid(
                log.read("m".getBytes(java.nio.charset.StandardCharsets.UTF_8), new byte[] {1}, "control-0@8", models),
                RejectCode.UNDECODABLE);
    }

    @Test
    void aRecordAboveRecordBytesIsTooLarge() throws Exception {
        byte[] big = new byte[SMALL.recordBytes() + 1];
        Invalid i = invalid(log.read(big, "control-0@6", models), RejectCode.TOO_LARGE);
        assertThat(i.model()).isNull();
        assertThat(i.detail()).contains("gradstream.limits.record-bytes");
        // A valid CREATE padded past the limit by a long model name is refused for its size, not its name.
        byte[] padded = create("x".repeat(SMALL.recordBytes()), SPEC);
        invalid(log.read(padded, "control-0@6", models), RejectCode.TOO_LARGE);
    }
}
