package io.gradstream.job;

import io.gradstream.core.auth.RecordSignature;
import io.gradstream.core.codec.ErrorFeedback;
import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.Optimizers;
import io.gradstream.core.privacy.PrivacyLedger;
import io.gradstream.core.shard.Contribution;
import io.gradstream.core.shard.PendingStep;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardState;
import io.gradstream.core.shard.ShardStepper;
import io.gradstream.model.Compression;
import io.gradstream.model.Encodings;
import io.gradstream.model.Limits;
import io.gradstream.model.ModelConfig;
import io.gradstream.model.UpdateEncoder;
import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import io.gradstream.schemas.AggregationSpec;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.PrivacyAccountant;
import io.gradstream.schemas.PrivacyAccountingSpec;
import io.gradstream.schemas.PrivacyMechanism;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.PrivacyUnit;
import io.gradstream.schemas.TensorPayload;
import io.gradstream.schemas.WorkerKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A synthetic training run for one model with tensor {@code w} cut into shards: the gradient records K workers
 * publish over T steps, in publish order, and the parameters the kernel gives when applied locally -- SYNC: to the
 * example-weighted mean {@code Σ fl32(n_k·g_k) / N} summed in publish order; ASYNC: to each gradient in turn.
 */
public final class Workload {
    public final String model;
    public final boolean sync;
    public final RawRecord create;
    public final List<RawRecord> gradients = new ArrayList<>();
    public final float[][] expected;
    public final long steps;

    public Workload(
            String optimizer,
            Map<String, Object> hp,
            boolean sync,
            int length,
            int shardSize,
            int workers,
            int steps,
            long seed) {
        this("m", optimizer, hp, sync, length, shardSize, workers, steps, seed);
    }

    /** As above for a model named {@code model} (several workloads can then share the topics). */
    public Workload(
            String model,
            String optimizer,
            Map<String, Object> hp,
            boolean sync,
            int length,
            int shardSize,
            int workers,
            int steps,
            long seed) {
        this(model, optimizer, hp, sync, length, shardSize, workers, steps, seed, "fp32", null);
    }

    /**
     * As above with compression: the workers send {@code gradientEncoding} ({@code fp32}, {@code bf16}, {@code int8},
     * {@code topk:FRACTION}; lossy ones with error feedback per worker and shard, {@code :noef} without), the kernel
     * steps on what the job decodes, and with {@code compression} the CREATE carries it; {@link #expectedUpdates}
     * then holds every update the job must publish, delta stream included, computed without a failure.
     */
    public Workload(
            String model,
            String optimizer,
            Map<String, Object> hp,
            boolean sync,
            int length,
            int shardSize,
            int workers,
            int steps,
            long seed,
            String gradientEncoding,
            CompressionSpec compression) {
        this.model = model;
        this.sync = sync;
        AggregationSpec aggregation = sync ? Records.sync(workers) : Records.async(1_000);
        ModelSpec spec = Records.spec(optimizer, hp, shardSize, aggregation, length);
        create = Records.create(model, spec, compression);
        ModelConfig config = ModelConfig.of(model, spec, null, Limits.DEFAULT, System::getenv, null, compression);
        UpdateEncoder encoder = new UpdateEncoder();
        int shards = (length + shardSize - 1) / shardSize;
        expected = new float[shards][];
        OptimizerState[] states = new OptimizerState[shards];
        ShardState[] published = new ShardState[shards];
        float[][][] residuals = new float[shards][workers][];
        for (int s = 0; s < shards; s++) {
            expected[s] = new float[Math.min(shardSize, length - s * shardSize)];
            states[s] = new OptimizerState();
            published[s] = ShardState.initial(expected[s].clone());
            expectedUpdates.add(new ArrayList<>());
            expectedUpdates.get(s).add(encoder.encode(key(s), published[s], config, null));
            for (int w = 0; w < workers; w++) {
                residuals[s][w] = new float[expected[s].length];
            }
        }
        Optimizer kernel = Optimizers.create(optimizer, hp);
        SplittableRandom rnd = new SplittableRandom(seed);
        ErrorFeedback feedback = new ErrorFeedback();
        for (int t = 0; t < steps; t++) {
            for (int s = 0; s < shards; s++) {
                int len = expected[s].length;
                float[] sum = null;
                long total = 0;
                for (int w = 0; w < workers; w++) {
                    float[] g = new float[len];
                    for (int i = 0; i < len; i++) {
                        g[i] = (float) rnd.nextGaussian();
                    }
                    long n = 1 + rnd.nextInt(64);
                    TensorPayload payload = encode(gradientEncoding, g, residuals[s][w], feedback);
                    g = decode(payload);
                    gradients.add(Records.gradient(model, s, "w" + w, t + 1, sync ? t : 0, n, payload));
                    if (!sync) {
                        kernel.step(expected[s], g, states[s]);
                        published[s] = record(s, published[s], encoder, config);
                    } else if (sum == null) {
                        sum = new float[len];
                        for (int i = 0; i < len; i++) {
                            sum[i] = (float) n * g[i];
                        }
                    } else {
                        for (int i = 0; i < len; i++) {
                            sum[i] = sum[i] + (float) n * g[i];
                        }
                    }
                    total += n;
                }
                if (sync) {
                    for (int i = 0; i < len; i++) {
                        sum[i] = sum[i] / (float) total;
                    }
                    kernel.step(expected[s], sum, states[s]);
                    published[s] = record(s, published[s], encoder, config);
                }
            }
        }
        this.steps = sync ? steps : (long) steps * workers;
    }

    /** A DP-FTRL workload's spec and settings, and each shard's contributions in publish order; null otherwise. */
    private ModelSpec privateSpec;

    private PrivacyAccountingSpec accounting;
    private List<List<Contribution>> contributions;

    /**
     * A private DP-FTRL model (Kairouz et al. 2021; CONTRIBUTION unit, SGD with momentum, the efficient tree restarting
     * every {@code stepsPerTree} steps, noise keyed by {@code seedFile}) trained SYNC by K workers over T steps.
     * Its noise depends on where its CREATE lands: {@link #expectAt} computes the expected parameters then.
     */
    public static Workload dpFtrl(
            String model,
            int length,
            int shardSize,
            int workers,
            int steps,
            long stepsPerTree,
            Path seedFile,
            long seed) {
        ModelSpec spec = ModelSpec.newBuilder(Records.spec(
                        "SGD", Map.of("lr", 0.1, "momentum", 0.9), shardSize, Records.sync(workers), length))
                .setPrivacy(PrivacySpec.newBuilder()
                        .setUnit(PrivacyUnit.CONTRIBUTION)
                        .setClipNorm(3.0)
                        .setNoiseMultiplier(1.0)
                        .setDelta(1e-5)
                        .setExpectedPerStep((double) workers)
                        .setPopulationSize(1000L)
                        .setSeedFile(seedFile.toString())
                        .build())
                .build();
        PrivacyAccountingSpec accounting = PrivacyAccountingSpec.newBuilder()
                .setMechanism(PrivacyMechanism.DP_FTRL)
                .setAccountant(PrivacyAccountant.TREE)
                .setStepsPerRestart(stepsPerTree)
                .setEfficientTree(true)
                .build();
        return new Workload(model, spec, accounting, length, shardSize, workers, steps, seed);
    }

    private Workload(
            String model,
            ModelSpec spec,
            PrivacyAccountingSpec accounting,
            int length,
            int shardSize,
            int workers,
            int steps,
            long seed) {
        this.model = model;
        this.sync = true;
        this.steps = steps;
        this.privateSpec = spec;
        this.accounting = accounting;
        create = Records.command(ControlCommand.newBuilder()
                .setModelId(model)
                .setType(io.gradstream.schemas.CommandType.CREATE)
                .setSpec(spec)
                .setPrivacyAccounting(accounting)
                .build());
        int shards = (length + shardSize - 1) / shardSize;
        expected = new float[shards][];
        contributions = new ArrayList<>();
        for (int s = 0; s < shards; s++) {
            expected[s] = new float[Math.min(shardSize, length - s * shardSize)];
            contributions.add(new ArrayList<>());
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int t = 0; t < steps; t++) {
            for (int s = 0; s < shards; s++) {
                for (int w = 0; w < workers; w++) {
                    float[] g = new float[expected[s].length];
                    for (int i = 0; i < g.length; i++) {
                        // Some contributions above the clip norm, so that the service's clipping takes part.
                        g[i] = (float) (rnd.nextGaussian() * (rnd.nextInt(4) == 0 ? 3 : 0.2));
                    }
                    long n = 1 + rnd.nextInt(64);
                    gradients.add(Records.gradient(model, s, "w" + w, t + 1, t, n, g));
                    contributions.get(s).add(new Contribution("w" + w, t + 1, t, n, g, Double.NaN, 0));
                }
            }
        }
    }

    /**
     * A DP-FTRL workload's expected parameters once its CREATE was written at {@code incarnation}
     * ({@code topic-partition@offset}, the model's noise key): the core's {@link ShardStepper} applied to the valid
     * contributions in publish order, as the operator applies them.
     */
    public void expectAt(String incarnation) {
        ModelConfig config =
                ModelConfig.of(model, privateSpec, incarnation, Limits.DEFAULT, System::getenv, null, null, accounting);
        for (int s = 0; s < expected.length; s++) {
            ShardKey key = key(s);
            ShardState state = ShardState.initial(new float[expected[s].length]);
            for (Contribution c : contributions.get(s)) {
                Contribution copy = new Contribution(
                        c.workerId(),
                        c.workerStep(),
                        c.baseVersion(),
                        c.numExamples(),
                        c.gradient().clone(),
                        c.loss(),
                        c.publishedAtMs());
                ShardStepper.Outcome o = ShardStepper.offer(
                        state, copy, config.policy(), config.optimizerAt(state.version()), config.privacy(key));
                if (o instanceof ShardStepper.Rejected r) {
                    throw new IllegalStateException("a valid DP-FTRL contribution was refused: " + r);
                }
            }
            if (state.version() != steps) {
                throw new IllegalStateException("shard " + s + " reached version " + state.version());
            }
            expected[s] = state.params().clone();
        }
    }

    /** Whether the expected parameters wait for {@link #expectAt}. */
    public boolean isPrivate() {
        return privateSpec != null;
    }

    /**
     * Every update each shard must publish, by version (index = version): the payload bytes, kind and base of a
     * failure-free run, delta stream included.
     */
    public final List<List<ParameterUpdate>> expectedUpdates = new ArrayList<>();

    private ShardKey key(int s) {
        return new ShardKey(model, "w", s);
    }

    /** The shard after one more step ({@code expected[s]}), and its update, as the job publishes it. */
    private ShardState record(int s, ShardState before, UpdateEncoder encoder, ModelConfig config) {
        ShardState after = new ShardState(
                expected[s].clone(),
                new OptimizerState(),
                before.version() + 1,
                new PendingStep(),
                Map.of(),
                PrivacyLedger.EMPTY);
        after.published(before.published() != null ? before.published() : seed(s, config));
        expectedUpdates.get(s).add(encoder.encode(key(s), after, config, null));
        return after;
    }

    /** A delta stream's copy at version 0: what subscribers decoded from the CREATE's full update. */
    private float[] seed(int s, ModelConfig config) {
        return config.compression().hasDeltaStream()
                ? UpdateEncoder.publishedAfterSnapshot(new float[expected[s].length], config)
                : null;
    }

    private static TensorPayload encode(String how, float[] g, float[] residual, ErrorFeedback feedback) {
        boolean noFeedback = how.endsWith(":noef");
        String name = noFeedback ? how.substring(0, how.length() - 5) : how;
        PayloadCodec codec;
        if (name.startsWith("topk:")) {
            double f = Double.parseDouble(name.substring(5));
            codec = PayloadCodecs.topK(Compression.topK(f, g.length));
        } else {
            codec = PayloadCodecs.forEncoding(
                    switch (name) {
                        case "fp32" -> io.gradstream.core.codec.Encoding.FP32;
                        case "bf16" -> io.gradstream.core.codec.Encoding.BF16;
                        case "fp16" -> io.gradstream.core.codec.Encoding.FP16;
                        case "int8" -> io.gradstream.core.codec.Encoding.INT8_BLOCK;
                        default -> throw new IllegalArgumentException(how);
                    });
        }
        byte[] bytes = new byte[codec.maxEncodedSize(g.length)];
        boolean lossy = codec.encoding() == io.gradstream.core.codec.Encoding.TOPK
                || codec.encoding() == io.gradstream.core.codec.Encoding.INT8_BLOCK;
        int n = lossy && !noFeedback
                ? feedback.compress(g, residual, codec, ByteBuffer.wrap(bytes))
                : codec.encode(g, 0, g.length, ByteBuffer.wrap(bytes));
        return new TensorPayload(Encodings.avro(codec.encoding()), g.length, ByteBuffer.wrap(bytes, 0, n));
    }

    private static float[] decode(TensorPayload p) {
        byte[] data = new byte[p.getData().remaining()];
        p.getData().duplicate().get(data);
        return Encodings.decoder(p.getEncoding()).decode(data, p.getElementCount());
    }

    public int shards() {
        return expected.length;
    }

    /**
     * Makes the model admit only its workers {@code w0 .. w(K-1)}: their keys ({@code keys[k]}) go to files under
     * {@code dir}, the CREATE names them, and every gradient carries its worker's signature. The training is the same.
     */
    public Workload authorise(Path dir, byte[][] keys) throws IOException {
        var avro = new AvroRecords<>(ControlCommand.class);
        Map<String, WorkerKey> workers = new HashMap<>();
        for (int k = 0; k < keys.length; k++) {
            Path file = Files.write(dir.resolve(model + "-w" + k + ".key"), keys[k]);
            workers.put(
                    "w" + k, WorkerKey.newBuilder().setKeyFile(file.toString()).build());
        }
        create.value = avro.encode(ControlCommand.newBuilder(avro.decode(create.value))
                .setWorkers(workers)
                .build());
        var batches = new AvroRecords<>(GradientBatch.class);
        for (RawRecord r : gradients) {
            int k = Integer.parseInt(batches.decode(r.value).getWorkerId().substring(1));
            r.addSignatureHeader(RecordSignature.sign(keys[k], r.key, r.value));
        }
        return this;
    }
}
