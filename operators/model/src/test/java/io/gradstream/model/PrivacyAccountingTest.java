package io.gradstream.model;

import static io.gradstream.model.ModelRecords.SMALL;
import static io.gradstream.model.ModelRecords.bytes;
import static io.gradstream.model.ModelRecords.spec;
import static io.gradstream.model.ModelRecords.tensor;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.privacy.Accountant;
import io.gradstream.core.shard.RejectCode;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.PrivacyAccountant;
import io.gradstream.schemas.PrivacyAccountingSpec;
import io.gradstream.schemas.PrivacyMechanism;
import io.gradstream.schemas.PrivacySpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A CREATE's privacyAccounting: which accountant a private model gets (RDP without settings, as every model created
 * before them; PRV by default with them), and which settings are refused before the model exists.
 */
class PrivacyAccountingTest {
    private final ControlLog log = new ControlLog(SMALL, name -> null);
    private ModelSpec privateSpec;

    /** The models that exist: one, {@code m}, with its accounting settings. */
    private static ControlLog.Models existing(ModelSpec spec, PrivacyAccountingSpec accounting) {
        return new ControlLog.Models() {
            @Override
            public ModelSpec spec(String model) {
                return "m".equals(model) ? spec : null;
            }

            @Override
            public String incarnation(String model) {
                return "control-0@1";
            }

            @Override
            public int count() {
                return 1;
            }

            @Override
            public PrivacyAccountingSpec privacyAccounting(String model) {
                return accounting;
            }
        };
    }

    private static final ControlLog.Models NONE = existing(null, null);

    @BeforeEach
    void seed(@TempDir Path dir) throws Exception {
        Path seed = Files.writeString(dir.resolve("seed"), "0123456789abcdef0123456789abcdef\n");
        privateSpec = ModelSpec.newBuilder(spec(InitRule.ZEROS, 64, tensor("w", 10)))
                .setPrivacy(PrivacySpec.newBuilder()
                        .setClipNorm(1.0)
                        .setNoiseMultiplier(1.2)
                        .setDelta(1e-5)
                        .setExpectedPerStep(2.0)
                        .setPopulationSize(1000L)
                        .setSeedFile(seed.toString())
                        .build())
                .build();
    }

    private ControlLog.Change create(ModelSpec spec, PrivacyAccountingSpec accounting, ControlLog.Models models)
            throws Exception {
        return log.read(
                bytes(ControlCommand.newBuilder()
                        .setModelId("m")
                        .setType(CommandType.CREATE)
                        .setSpec(spec)
                        .setPrivacyAccounting(accounting)
                        .build()),
                "control-0@2",
                models);
    }

    private Accountant accountantOf(PrivacyAccountingSpec accounting) throws Exception {
        ControlLog.Created c = (ControlLog.Created) create(privateSpec, accounting, NONE);
        assertThat(c.config().privacyAccounting()).isEqualTo(accounting);
        return c.config().privacy().accountant();
    }

    private String refused(ModelSpec spec, PrivacyAccountingSpec accounting, ControlLog.Models models)
            throws Exception {
        ControlLog.Change change = create(spec, accounting, models);
        assertThat(change).isInstanceOf(ControlLog.Invalid.class);
        assertThat(((ControlLog.Invalid) change).code()).isEqualTo(RejectCode.INVALID_COMMAND);
        return ((ControlLog.Invalid) change).detail();
    }

    @Test
    void aCreateWithoutSettingsKeepsRdpAndSettingsDefaultToPrv() throws Exception {
        assertThat(accountantOf(null)).isEqualTo(Accountant.RDP);
        assertThat(accountantOf(PrivacyAccountingSpec.newBuilder().build())).isEqualTo(Accountant.PRV);
        assertThat(accountantOf(PrivacyAccountingSpec.newBuilder()
                        .setAccountant(PrivacyAccountant.RDP)
                        .build()))
                .isEqualTo(Accountant.RDP);
        assertThat(accountantOf(PrivacyAccountingSpec.newBuilder()
                        .setAccountant(PrivacyAccountant.PRV)
                        .setMechanism(PrivacyMechanism.DP_SGD)
                        .build()))
                .isEqualTo(Accountant.PRV);
    }

    @Test
    void settingsOutsideTheirBoundsAreRefusedWithTheField() throws Exception {
        assertThat(refused(
                        privateSpec,
                        PrivacyAccountingSpec.newBuilder()
                                .setAccountant(PrivacyAccountant.TREE)
                                .build(),
                        NONE))
                .contains("accountant TREE");
        assertThat(refused(
                        privateSpec,
                        PrivacyAccountingSpec.newBuilder()
                                .setStepsPerRestart(-1L)
                                .build(),
                        NONE))
                .contains("stepsPerRestart");
        assertThat(refused(
                        ModelSpec.newBuilder(privateSpec).setPrivacy(null).build(),
                        PrivacyAccountingSpec.newBuilder().build(),
                        NONE))
                .contains("applies to a private model");
    }

    @Test
    void theSettingsAreFixedForTheModelsLife() throws Exception {
        PrivacyAccountingSpec prv = PrivacyAccountingSpec.newBuilder().build();
        ControlLog.Models m = existing(privateSpec, prv);
        assertThat(create(privateSpec, prv, m)).isInstanceOf(ControlLog.NoOp.class);
        assertThat(refused(privateSpec, null, m)).contains("other privacyAccounting settings");
        ControlLog.Change update = log.read(
                bytes(ControlCommand.newBuilder()
                        .setModelId("m")
                        .setType(CommandType.UPDATE_HYPERPARAMETERS)
                        .setHyperparameters(Map.of("lr", 0.1))
                        .setPrivacyAccounting(prv)
                        .build()),
                "control-0@3",
                m);
        assertThat(((ControlLog.Invalid) update).detail()).contains("fixed by the model's CREATE");
        // An update without settings keeps the model's.
        ControlLog.Updated kept = (ControlLog.Updated) log.read(
                bytes(ControlCommand.newBuilder()
                        .setModelId("m")
                        .setType(CommandType.UPDATE_HYPERPARAMETERS)
                        .setHyperparameters(Map.of("lr", 0.1))
                        .build()),
                "control-0@3",
                m);
        assertThat(kept.config().privacy().accountant()).isEqualTo(Accountant.PRV);
    }

    /** The private spec with SGD without weight decay, as DP-FTRL takes it. */
    private ModelSpec ftrlSpec() {
        return ModelSpec.newBuilder(privateSpec)
                .setHyperparameters(Map.of("lr", 0.1))
                .build();
    }

    private static PrivacyAccountingSpec ftrl(Long stepsPerRestart, boolean efficient) {
        return PrivacyAccountingSpec.newBuilder()
                .setMechanism(PrivacyMechanism.DP_FTRL)
                .setStepsPerRestart(stepsPerRestart)
                .setEfficientTree(efficient)
                .build();
    }

    @Test
    void dpFtrlIsAcceptedWithTheTreeAccountantAndItsVariant() throws Exception {
        for (boolean efficient : new boolean[] {true, false}) {
            ControlLog.Created c = (ControlLog.Created) create(ftrlSpec(), ftrl(64L, efficient), NONE);
            assertThat(c.config().isFtrl()).isTrue();
            var dp = c.config().privacy(new io.gradstream.core.shard.ShardKey("m", "w", 0));
            assertThat(dp.isFtrl()).isTrue();
            assertThat(dp.ftrl().config().variant())
                    .isEqualTo(
                            efficient
                                    ? io.gradstream.core.privacy.ftrl.TreeVariant.HONAKER
                                    : io.gradstream.core.privacy.ftrl.TreeVariant.PLAIN);
            assertThat(dp.ftrl().config().stepsPerTree()).isEqualTo(64);
            assertThat(c.config().privacy().noiseMultiplier()).isEqualTo(1.2);
        }
        PrivacyAccountingSpec tree = PrivacyAccountingSpec.newBuilder(ftrl(8L, true))
                .setAccountant(PrivacyAccountant.TREE)
                .build();
        assertThat(((ControlLog.Created) create(ftrlSpec(), tree, NONE))
                        .config()
                        .isFtrl())
                .isTrue();
        assertThat(((ControlLog.Created) create(ftrlSpec(), null, NONE))
                        .config()
                        .isFtrl())
                .isFalse();
    }

    @Test
    void dpFtrlDerivesItsNoiseFromTheTreeAccountant() throws Exception {
        ModelSpec target = ModelSpec.newBuilder(ftrlSpec())
                .setPrivacy(PrivacySpec.newBuilder(ftrlSpec().getPrivacy())
                        .setNoiseMultiplier(null)
                        .setTargetEpsilon(8.0)
                        .setPlannedSteps(400L)
                        .build())
                .build();
        ControlLog.Created c = (ControlLog.Created) create(target, ftrl(100L, true), NONE);
        double sigma = c.config().privacy().noiseMultiplier();
        assertThat(sigma)
                .isEqualTo(io.gradstream.core.privacy.ftrl.TreeAggregationAccountant.noiseMultiplierFor(
                        8.0, 1e-5, 400, 100));
        assertThat(io.gradstream.core.privacy.ftrl.TreeAggregationAccountant.epsilon(sigma, 400, 100, 1e-5)
                        .epsilon())
                .isLessThanOrEqualTo(8.0)
                .isGreaterThan(7.5);
    }

    @Test
    void dpFtrlSettingsThatDoNotFitAreRefusedWithTheReason() throws Exception {
        assertThat(refused(ftrlSpec(), ftrl(null, true), NONE)).contains("stepsPerRestart must be in [1");
        assertThat(refused(ftrlSpec(), ftrl(0L, true), NONE)).contains("stepsPerRestart must be in [1");
        assertThat(refused(ftrlSpec(), ftrl(Long.MAX_VALUE, true), NONE)).contains("stepsPerRestart");
        for (PrivacyAccountant a : new PrivacyAccountant[] {PrivacyAccountant.RDP, PrivacyAccountant.PRV}) {
            assertThat(refused(
                            ftrlSpec(),
                            PrivacyAccountingSpec.newBuilder(ftrl(8L, true))
                                    .setAccountant(a)
                                    .build(),
                            NONE))
                    .contains("DP_FTRL is accounted with TREE");
        }
        ModelSpec adam = ModelSpec.newBuilder(ftrlSpec())
                .setOptimizer("Adam")
                .setHyperparameters(Map.of("lr", 0.01))
                .build();
        assertThat(refused(adam, ftrl(8L, true), NONE)).contains("use optimizer SGD");
        ModelSpec decay = ModelSpec.newBuilder(privateSpec).build();
        assertThat(refused(decay, ftrl(8L, true), NONE)).contains("weight_decay");
        ModelSpec sampled = ModelSpec.newBuilder(ftrlSpec())
                .setPrivacy(PrivacySpec.newBuilder(ftrlSpec().getPrivacy())
                        .setSampleRate(0.002)
                        .build())
                .build();
        assertThat(refused(sampled, ftrl(8L, true), NONE)).contains("sampleRate does not apply to DP_FTRL");
        ModelSpec noPopulation = ModelSpec.newBuilder(ftrlSpec())
                .setPrivacy(PrivacySpec.newBuilder(ftrlSpec().getPrivacy())
                        .setPopulationSize(null)
                        .setSampleRate(null)
                        .build())
                .build();
        assertThat(refused(noPopulation, ftrl(8L, true), NONE)).contains("populationSize");
        ModelSpec tight = ModelSpec.newBuilder(ftrlSpec())
                .setPrivacy(PrivacySpec.newBuilder(ftrlSpec().getPrivacy())
                        .setTargetEpsilon(0.5)
                        .build())
                .build();
        assertThat(refused(tight, ftrl(8L, true), NONE)).contains("exceeded by the first step (TREE epsilon");
        ModelSpec both = ModelSpec.newBuilder(ftrlSpec())
                .setPrivacy(PrivacySpec.newBuilder(ftrlSpec().getPrivacy())
                        .setPlannedSteps(100L)
                        .setTargetEpsilon(8.0)
                        .build())
                .build();
        assertThat(refused(both, ftrl(8L, true), NONE)).contains("not both");
    }

    /** DP-FTRLM's momentum is fixed at CREATE: a OneCycleLR that would cycle it is refused, not silently ignored. */
    @Test
    void dpFtrlRefusesAScheduleThatCyclesMomentum() throws Exception {
        Map<String, Object> oneCycle = new java.util.HashMap<>(Map.of("max_lr", 0.5, "total_steps", 100.0));
        ModelSpec cycling = ModelSpec.newBuilder(ftrlSpec())
                .setHyperparameters(Map.of("lr", 0.1, "momentum", 0.9))
                .setLrSchedule(io.gradstream.schemas.ScheduleSpec.newBuilder()
                        .setName("OneCycleLR")
                        .setHyperparameters(oneCycle)
                        .build())
                .build();
        assertThat(refused(cycling, ftrl(8L, true), NONE)).contains("set cycle_momentum to false");
        oneCycle.put("cycle_momentum", false);
        ModelSpec fixed = ModelSpec.newBuilder(cycling)
                .setLrSchedule(io.gradstream.schemas.ScheduleSpec.newBuilder()
                        .setName("OneCycleLR")
                        .setHyperparameters(oneCycle)
                        .build())
                .build();
        assertThat(create(fixed, ftrl(8L, true), NONE)).isInstanceOf(ControlLog.Created.class);
        // The same schedule on a DP-SGD model cycles momentum as torch does.
        assertThat(create(
                        ModelSpec.newBuilder(cycling)
                                .setPrivacy(privateSpec.getPrivacy())
                                .build(),
                        PrivacyAccountingSpec.newBuilder()
                                .setAccountant(PrivacyAccountant.RDP)
                                .build(),
                        NONE))
                .isInstanceOf(ControlLog.Created.class);
    }
}
