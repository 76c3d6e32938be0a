package io.gradstream.model;

import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.optim.Hyperparameters;
import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.Optimizers;
import io.gradstream.core.privacy.Accountant;
import io.gradstream.core.privacy.GaussianMechanism;
import io.gradstream.core.privacy.NoiseGenerator;
import io.gradstream.core.privacy.PrivacyPolicy;
import io.gradstream.core.privacy.SecretSeed;
import io.gradstream.core.privacy.ftrl.DpFtrl;
import io.gradstream.core.privacy.ftrl.FtrlConfig;
import io.gradstream.core.schedule.LrSchedule;
import io.gradstream.core.schedule.LrSchedules;
import io.gradstream.core.schedule.ScheduleTable;
import io.gradstream.core.shard.AggregationPolicy;
import io.gradstream.core.shard.ShardInitializer;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardPrivacy;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.schemas.AggregationMode;
import io.gradstream.schemas.ChildSchedule;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.InitSpec;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.PrivacyAccountingSpec;
import io.gradstream.schemas.PrivacyMechanism;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.ScheduleSpec;
import io.gradstream.schemas.WorkerKey;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A validated {@link ModelSpec} in the numeric core's terms: tensor layouts, the optimizer, the schedule, the
 * aggregation policy, the init rule, the output codec and, for a private model, the privacy policy, the noise keyed by
 * the secret the spec refers to, and every shard's clip threshold. Building one is the single place where a spec is
 * checked, against the configured {@link Limits} before anything is allocated; every problem is reported with the
 * offending field and value. A model's incarnation (where its CREATE was read) keys its DP noise, so two lives of one
 * model id never draw the same noise. A model may name the workers it admits ({@link AuthorisedWorkers}) and the
 * encodings of its gradients and parameter deltas ({@link Compression}); a private model, its mechanism and
 * accountant ({@link PrivacyAccountingSpec}: null, as every CREATE before 0.4.0, is DP-SGD with RDP). Not
 * thread-safe (caches schedule values).
 */
public final class ModelConfig {
    private final String modelId;
    private final ModelSpec spec;
    private final Map<String, TensorLayout> tensors;
    private final Optimizer optimizer;
    private final LrSchedule schedule;
    private final AggregationPolicy policy;
    private final InitSpec init;
    private final Encoding outputEncoding;
    private final double baseMomentum;
    private final String incarnation;
    private ScheduleTable table;
    private long lastVersion = -1;
    private Optimizer lastOptimizer;
    private double lastLr = Double.NaN;
    private double lastMomentum = Double.NaN;
    private final PrivacyPolicy privacy;
    private final GaussianMechanism mechanism;
    private final Map<String, double[]> clipThresholds;
    private final ShardPrivacy.ClipCounter clips = new ShardPrivacy.ClipCounter();
    private final AuthorisedWorkers workers;
    private final Compression compression;
    private final CompressionSpec compressionSpec;
    private final PrivacyAccountingSpec accountingSpec;
    /** DP-FTRL's step for this model's shards (one instance per ModelConfig, which a subtask owns); null: DP-SGD. */
    private final DpFtrl ftrl;

    private ModelConfig(
            String modelId,
            ModelSpec spec,
            String incarnation,
            Limits limits,
            Function<String, String> environment,
            Map<String, WorkerKey> workerList,
            CompressionSpec compressionSpec,
            PrivacyAccountingSpec accountingSpec) {
        limits.requireName("model", modelId);
        this.modelId = modelId;
        this.spec = spec;
        this.incarnation = incarnation;
        try {
            tensors = ModelLayouts.of(spec, limits);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("model " + modelId + ": " + e.getMessage(), e);
        }
        optimizer = Optimizers.create(spec.getOptimizer(), javaValues(spec.getHyperparameters()));
        Hyperparameters resolved = optimizer.hyperparameters();
        baseMomentum = resolved.has("betas")
                ? resolved.pair("betas", 0.9, 0.999)[0]
                : resolved.has("momentum") ? resolved.number("momentum", 0) : Double.NaN;
        schedule = spec.getLrSchedule() == null ? LrSchedules.constant() : schedule(spec.getLrSchedule());
        schedule.start(optimizer.learningRate(), baseMomentum); // e.g. OneCycleLR needs a momentum to cycle
        var a = spec.getAggregation();
        if (a.getWorkers() > limits.syncWorkers()) {
            throw new IllegalArgumentException("aggregation.workers " + a.getWorkers() + " is above "
                    + "gradstream.limits.sync-workers = " + limits.syncWorkers());
        }
        policy = new AggregationPolicy(
                a.getMode() == AggregationMode.ASYNC ? AggregationPolicy.Mode.ASYNC : AggregationPolicy.Mode.SYNC,
                a.getWorkers(),
                a.getTimeoutMs(),
                a.getMaxStaleness(),
                limits.workerStepWindow());
        init = spec.getInit();
        if (init.getRule() != InitRule.EXPLICIT && init.getRule() != InitRule.ZEROS) {
            // Validates std / bounds once, here.
            initialValues(new ShardKey(modelId, tensors.keySet().iterator().next(), 0), 1);
        }
        outputEncoding = spec.getOutputEncoding();
        if (outputEncoding == Encoding.TOPK) {
            throw new IllegalArgumentException("outputEncoding TOPK is not allowed for parameters (a sparse "
                    + "parameter update would lose the other values); use FP32, FP16, BF16 or INT8_BLOCK");
        }
        PrivacySpec p = spec.getPrivacy();
        this.accountingSpec = accountingSpec;
        if (p == null) {
            if (accountingSpec != null) {
                throw new IllegalArgumentException(
                        "privacyAccounting applies to a private model; this one has no " + "privacy settings");
            }
            privacy = null;
            mechanism = null;
            clipThresholds = Map.of();
            ftrl = null;
        } else {
            if (policy.mode() != AggregationPolicy.Mode.SYNC) {
                throw new IllegalArgumentException("privacy needs SYNC aggregation: the accountant counts one "
                        + "noised release per version with a fixed expected count, got " + a.getMode());
            }
            boolean isFtrl = accountingSpec != null && accountingSpec.getMechanism() == PrivacyMechanism.DP_FTRL;
            FtrlConfig ftrlConfig = isFtrl ? PrivacySettings.ftrlConfig(accountingSpec, p, optimizer) : null;
            if (isFtrl && PrivacySettings.cyclesMomentum(spec.getLrSchedule())) {
                throw new IllegalArgumentException("DP_FTRL's momentum is fixed for the model's life (it combines the "
                        + "tree's releases); its OneCycleLR schedule would cycle it: set cycle_momentum to false");
            }
            Accountant accountant = isFtrl ? Accountant.RDP : PrivacySettings.accountant(accountingSpec);
            // The secret first: a CREATE that cannot key its noise is refused before any noise calibration runs.
            NoiseGenerator noise = SecretSeed.generator(p.getSeedFile(), p.getSeedEnv(), environment);
            try {
                privacy = isFtrl
                        ? PrivacySettings.ftrlPolicy(p, ftrlConfig.stepsPerTree())
                        : PrivacySettings.privacyPolicy(p, accountant);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("privacy: " + e.getMessage(), e);
            }
            ftrl = isFtrl ? new DpFtrl(ftrlConfig) : null;
            mechanism = new GaussianMechanism(noise, privacy.noiseMultiplier());
            clipThresholds = ShardPrivacy.thresholds(privacy.clipNorm(), tensors.values());
        }
        workers = AuthorisedWorkers.of(workerList, limits, environment);
        this.compressionSpec = compressionSpec;
        compression = Compression.of(compressionSpec);
    }

    /**
     * A model without an incarnation (one read from a savepoint of a release before incarnations) within the default
     * limits.
     *
     * @throws IllegalArgumentException naming the problem when the spec is invalid
     */
    public static ModelConfig of(String modelId, ModelSpec spec) {
        return of(modelId, spec, System::getenv);
    }

    /** As {@link #of(String, ModelSpec)} with the environment a private model's {@code seedEnv} is looked up in. */
    public static ModelConfig of(String modelId, ModelSpec spec, Function<String, String> environment) {
        return of(modelId, spec, null, Limits.DEFAULT, environment);
    }

    /**
     * @param incarnation where the model's CREATE was read ({@code topic-partition@offset}), part of its DP noise key;
     *     null for a model restored from a release before incarnations, whose noise keeps the old key
     * @param limits the bounds the spec must stay within
     */
    public static ModelConfig of(
            String modelId, ModelSpec spec, String incarnation, Limits limits, Function<String, String> environment) {
        return of(modelId, spec, incarnation, limits, environment, null);
    }

    /**
     * As above for a model that admits only the workers of {@code workers} (its keys are read here, once).
     *
     * @param workers worker id to where its key is on the task managers; null: any worker, unsigned
     */
    public static ModelConfig of(
            String modelId,
            ModelSpec spec,
            String incarnation,
            Limits limits,
            Function<String, String> environment,
            Map<String, WorkerKey> workers) {
        return of(modelId, spec, incarnation, limits, environment, workers, null);
    }

    /**
     * As above with the model's compression settings.
     *
     * @param compression the CREATE's settings; null: any input encoding, full parameters every step
     */
    public static ModelConfig of(
            String modelId,
            ModelSpec spec,
            String incarnation,
            Limits limits,
            Function<String, String> environment,
            Map<String, WorkerKey> workers,
            CompressionSpec compression) {
        return of(modelId, spec, incarnation, limits, environment, workers, compression, null);
    }

    /**
     * As above with the private model's mechanism and accountant.
     *
     * @param accounting the CREATE's settings; null: DP-SGD accounted with RDP (every model created before 0.4.0)
     */
    public static ModelConfig of(
            String modelId,
            ModelSpec spec,
            String incarnation,
            Limits limits,
            Function<String, String> environment,
            Map<String, WorkerKey> workers,
            CompressionSpec compression,
            PrivacyAccountingSpec accounting) {
        if (spec == null) {
            throw new IllegalArgumentException("CREATE of model " + modelId + " has no spec");
        }
        return new ModelConfig(modelId, spec, incarnation, limits, environment, workers, compression, accounting);
    }

    /** Whether the model is private with mechanism DP-FTRL (its steps run on the CPU, never batched). */
    public boolean isFtrl() {
        return ftrl != null;
    }

    /** The private model's mechanism and accountant as the CREATE gave them, or null. */
    public PrivacyAccountingSpec privacyAccounting() {
        return accountingSpec;
    }

    /** The model's compression settings ({@link Compression#NONE} when its CREATE had none). */
    public Compression compression() {
        return compression;
    }

    /** The compression settings as the CREATE gave them, or null. */
    public CompressionSpec compressionSpec() {
        return compressionSpec;
    }

    /** The workers the model admits with their keys, or null when it admits any worker. */
    public AuthorisedWorkers workers() {
        return workers;
    }

    /** The model's worker list (worker id to where its key is), or null when it admits any worker. */
    public Map<String, WorkerKey> workerList() {
        return workers == null ? null : workers.list();
    }

    /** Where the model's CREATE was read, or null for a model from before incarnations. */
    public String incarnation() {
        return incarnation;
    }

    /** The model's privacy policy, or null when it is not private. */
    public PrivacyPolicy privacy() {
        return privacy;
    }

    /** What the stepper needs for a private step of {@code key}, or null when the model is not private. */
    public ShardPrivacy privacy(ShardKey key) {
        return privacy == null
                ? null
                : new ShardPrivacy(
                        privacy,
                        mechanism,
                        clipThresholds.get(key.tensor())[key.shard()],
                        key,
                        clips,
                        incarnation,
                        ftrl);
    }

    /** Contributions clipped so far on this subtask. */
    public ShardPrivacy.ClipCounter clips() {
        return clips;
    }

    /** The shard that reports model-wide events (the first tensor's shard 0), so each is published once. */
    public boolean isReporter(ShardKey key) {
        return key.shard() == 0
                && key.tensor().equals(tensors.keySet().iterator().next());
    }

    public String modelId() {
        return modelId;
    }

    public ModelSpec spec() {
        return spec;
    }

    public Map<String, TensorLayout> tensors() {
        return tensors;
    }

    public AggregationPolicy policy() {
        return policy;
    }

    public boolean explicitInit() {
        return init.getRule() == InitRule.EXPLICIT;
    }

    public Encoding outputEncoding() {
        return outputEncoding;
    }

    /** A codec for the published parameters (a new instance: codecs are not thread-safe). */
    public PayloadCodec outputCodec() {
        return Encodings.encoder(outputEncoding);
    }

    /** Rule-based initial values of a shard (ZEROS, NORMAL, UNIFORM): a pure function of seed and key. */
    public float[] initialValues(ShardKey key, int length) {
        ShardInitializer.Rule rule = switch (init.getRule()) {
            case ZEROS, EXPLICIT -> ShardInitializer.Rule.ZEROS;
            case NORMAL -> ShardInitializer.Rule.NORMAL;
            case UNIFORM -> ShardInitializer.Rule.UNIFORM;
        };
        double a = init.getRule() == InitRule.NORMAL ? init.getStd() : init.getLow();
        return ShardInitializer.initialValues(rule, init.getSeed(), a, init.getHigh(), key, length);
    }

    /**
     * The optimizer for a shard's step at {@code version} (0 = its first step): the spec's hyperparameters with the
     * schedule's learning rate (and, for OneCycleLR, momentum) at that index.
     */
    public Optimizer optimizerAt(long version) {
        if (version == lastVersion) {
            return lastOptimizer;
        }
        if (table == null) {
            table = new ScheduleTable(schedule, optimizer.learningRate(), baseMomentum);
        }
        double lr = table.lr(version);
        double momentum = table.momentum(version);
        // Shards at different versions alternate here; without a schedule (or on its flat stretches) the values
        // repeat, and building an optimizer (its hyperparameter map) for every step is not free.
        if (lastOptimizer == null
                || Double.doubleToLongBits(lr) != Double.doubleToLongBits(lastLr)
                || Double.doubleToLongBits(momentum) != Double.doubleToLongBits(lastMomentum)) {
            Optimizer o = optimizer.withLearningRate(lr);
            if (!Double.isNaN(momentum) && !Double.isNaN(baseMomentum)) {
                o = o.withMomentum(momentum);
            }
            lastOptimizer = o;
            lastLr = lr;
            lastMomentum = momentum;
        }
        lastVersion = version;
        return lastOptimizer;
    }

    private static LrSchedule schedule(ScheduleSpec s) {
        return LrSchedules.create(s.getName(), scheduleValues(s));
    }

    private static Map<String, Object> scheduleValues(ScheduleSpec s) {
        Map<String, Object> hp = javaValues(s.getHyperparameters());
        if (!s.getChildren().isEmpty()) {
            List<Object> children = new ArrayList<>();
            for (ChildSchedule c : s.getChildren()) {
                children.add(Map.of("scheduler", c.getName(), "hyperparameters", javaValues(c.getHyperparameters())));
            }
            hp.put("schedulers", children);
        }
        return hp;
    }

    /** Avro map values (Double, Boolean, CharSequence, List of Double) as the core's plain Java values. */
    static Map<String, Object> javaValues(Map<String, Object> avro) {
        Map<String, Object> out = new LinkedHashMap<>();
        avro.forEach((k, v) -> out.put(k, v instanceof CharSequence cs ? cs.toString() : v));
        return out;
    }
}
