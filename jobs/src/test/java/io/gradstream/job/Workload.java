package io.gradstream.job;

import io.gradstream.core.auth.RecordSignature;
import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.Optimizers;
import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import io.gradstream.schemas.AggregationSpec;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.WorkerKey;
import java.io.IOException;
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
        this.model = model;
        this.sync = sync;
        AggregationSpec aggregation = sync ? Records.sync(workers) : Records.async(1_000);
        create = Records.create(model, Records.spec(optimizer, hp, shardSize, aggregation, length));
        int shards = (length + shardSize - 1) / shardSize;
        expected = new float[shards][];
        OptimizerState[] states = new OptimizerState[shards];
        for (int s = 0; s < shards; s++) {
            expected[s] = new float[Math.min(shardSize, length - s * shardSize)];
            states[s] = new OptimizerState();
        }
        Optimizer kernel = Optimizers.create(optimizer, hp);
        SplittableRandom rnd = new SplittableRandom(seed);
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
                    gradients.add(Records.gradient(model, s, "w" + w, t + 1, sync ? t : 0, n, g));
                    if (!sync) {
                        kernel.step(expected[s], g, states[s]);
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
                }
            }
        }
        this.steps = sync ? steps : (long) steps * workers;
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
