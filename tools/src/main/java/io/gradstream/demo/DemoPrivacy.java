package io.gradstream.demo;

import io.gradstream.core.privacy.Accountant;
import io.gradstream.core.privacy.RdpAccountant;
import io.gradstream.core.privacy.ftrl.TreeAggregationAccountant;
import io.gradstream.core.privacy.prv.PrvAccountant;
import io.gradstream.schemas.PrivacyAccountant;
import io.gradstream.schemas.PrivacyAccountingSpec;
import io.gradstream.schemas.PrivacyMechanism;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.PrivacyUnit;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Differential privacy for the demo, per example: DP-SGD (Abadi et al. 2016, arXiv:1607.00133), whose workers
 * Poisson-sample their slice at rate q as its accountant assumes, or DP-FTRL (Kairouz et al. 2021, arXiv:2103.00039),
 * whose workers take fixed batches of a fresh shuffle of their slice so that each example joins at most one step of
 * every tree (a tree is an epoch). Either way the noise is calibrated to reach {@code targetEpsilon} after the run.
 *
 * @param sampleRate DP-SGD: the probability that an example joins a step; DP-FTRL: the fraction of each worker's
 *     slice in a step's batch (an epoch is then about 1/sampleRate steps)
 * @param seedFile the secret that keys the noise (the model's spec names the file, never its content)
 * @param accountant DP-SGD's accountant (DP-FTRL is accounted by its tree accountant)
 * @param learningRate DP-FTRL's learning rate (the demo's DP-SGD keeps Adam at the non-private rate)
 */
public record DemoPrivacy(
        Mechanism mechanism,
        double targetEpsilon,
        double delta,
        double clipNorm,
        double sampleRate,
        Path seedFile,
        Accountant accountant,
        double learningRate) {

    /** The mechanism a private demo runs. */
    public enum Mechanism {
        /** DP-SGD with Adam: Poisson sampling, noise on every step's sum. */
        DP_SGD,
        /** DP-FTRL with momentum (DP-FTRLM) and the efficient (Honaker) tree: no sampling, tree-aggregated noise. */
        DP_FTRL
    }

    /** DP-FTRL's learning rate unless one is given: tuned on the demo (see docs/dp-ftrl.md, "On the demo"). */
    public static final double FTRL_LEARNING_RATE = 0.5;

    /** DP-FTRLM's momentum, the paper's 0.9. */
    static final double FTRL_MOMENTUM = 0.9;

    public DemoPrivacy {
        checkRates(sampleRate, learningRate);
    }

    /**
     * The demo's own bounds on the rates (the model's checks come with its CREATE).
     *
     * @throws IllegalArgumentException naming the rate that is out of bounds
     */
    public static void checkRates(double sampleRate, double learningRate) {
        if (!(sampleRate > 0 && sampleRate <= 1)) {
            throw new IllegalArgumentException("the sample rate must be in (0, 1], got " + sampleRate);
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("the learning rate must be finite and > 0, got " + learningRate);
        }
    }

    /** DP-SGD accounted with {@code accountant}. */
    public static DemoPrivacy dpSgd(
            double targetEpsilon,
            double delta,
            double clipNorm,
            double sampleRate,
            Path seedFile,
            Accountant accountant) {
        return new DemoPrivacy(
                Mechanism.DP_SGD, targetEpsilon, delta, clipNorm, sampleRate, seedFile, accountant, FTRL_LEARNING_RATE);
    }

    /** DP-SGD accounted with PRV, the default for new models. */
    public static DemoPrivacy dpSgd(
            double targetEpsilon, double delta, double clipNorm, double sampleRate, Path seedFile) {
        return dpSgd(targetEpsilon, delta, clipNorm, sampleRate, seedFile, Accountant.PRV);
    }

    /** DP-FTRL with {@code learningRate}. */
    public static DemoPrivacy dpFtrl(
            double targetEpsilon,
            double delta,
            double clipNorm,
            double sampleRate,
            Path seedFile,
            double learningRate) {
        return new DemoPrivacy(
                Mechanism.DP_FTRL, targetEpsilon, delta, clipNorm, sampleRate, seedFile, Accountant.RDP, learningRate);
    }

    boolean ftrl() {
        return mechanism == Mechanism.DP_FTRL;
    }

    /** DP-FTRL: the examples each worker puts in a step, the same for every worker (the divisor is fixed). */
    int batchPerWorker(int workers, int population) {
        return Math.max(1, (int) Math.floor(sampleRate * (population / workers)));
    }

    /** DP-FTRL: the steps of one tree, an epoch over the smallest worker slice. */
    long stepsPerTree(int workers, int population) {
        return (population / workers) / batchPerWorker(workers, population);
    }

    /** The CREATE's privacyAccounting. */
    PrivacyAccountingSpec accounting(int workers, int population) {
        if (!ftrl()) {
            return PrivacyAccountingSpec.newBuilder()
                    .setAccountant(PrivacyAccountant.valueOf(accountant.name()))
                    .setMechanism(PrivacyMechanism.DP_SGD)
                    .build();
        }
        return PrivacyAccountingSpec.newBuilder()
                .setAccountant(PrivacyAccountant.TREE)
                .setMechanism(PrivacyMechanism.DP_FTRL)
                .setStepsPerRestart(stepsPerTree(workers, population))
                .setEfficientTree(true)
                .build();
    }

    /** The model spec's privacy settings for a run of {@code steps} steps. */
    PrivacySpec spec(int workers, int population, int steps) {
        PrivacySpec.Builder b = PrivacySpec.newBuilder()
                .setUnit(PrivacyUnit.EXAMPLE)
                .setClipNorm(clipNorm)
                .setTargetEpsilon(targetEpsilon)
                .setPlannedSteps((long) steps)
                .setDelta(delta)
                .setPopulationSize((long) population)
                .setSeedFile(seedFile.toString());
        return ftrl()
                ? b.setExpectedPerStep((double) workers * batchPerWorker(workers, population))
                        .build()
                : b.setSampleRate(sampleRate).build();
    }

    /** The optimizer: DP-SGD keeps the demo's Adam; DP-FTRL takes SGD's learning rate and momentum as FTRL's. */
    String optimizer(String nonPrivate) {
        return ftrl() ? "SGD" : nonPrivate;
    }

    Map<String, Object> hyperparameters(Map<String, Object> nonPrivate) {
        return ftrl() ? Map.of("lr", learningRate, "momentum", FTRL_MOMENTUM) : nonPrivate;
    }

    /** The noise multiplier the service derives for {@code steps} steps. */
    double noiseMultiplier(int steps, int workers, int population) {
        if (ftrl()) {
            return TreeAggregationAccountant.noiseMultiplierFor(
                    targetEpsilon, delta, steps, stepsPerTree(workers, population));
        }
        return accountant == Accountant.PRV
                ? PrvAccountant.noiseMultiplier(targetEpsilon, delta, sampleRate, steps)
                : RdpAccountant.noiseMultiplierFor(targetEpsilon, delta, sampleRate, steps);
    }

    /** What the demo prints about the mechanism, after "demo: ". */
    String describe(int workers, int population, double sigma) {
        if (ftrl()) {
            return String.format(
                    java.util.Locale.ROOT,
                    "DP-FTRL per example (tree aggregation, no sampling): target epsilon %.2f at delta %.0e, "
                            + "clip %.2f, %d examples per worker and step, a tree of %d steps per epoch, "
                            + "learning rate %.3g, momentum %.1f, noise multiplier %.3f",
                    targetEpsilon,
                    delta,
                    clipNorm,
                    batchPerWorker(workers, population),
                    stepsPerTree(workers, population),
                    learningRate,
                    FTRL_MOMENTUM,
                    sigma);
        }
        return String.format(
                java.util.Locale.ROOT,
                "DP-SGD per example: target epsilon %.2f (%s accountant) at delta %.0e, clip %.2f, "
                        + "sample rate %.3f (expected batch %.0f of %d), noise multiplier %.3f",
                targetEpsilon,
                accountant,
                delta,
                clipNorm,
                sampleRate,
                sampleRate * population,
                population,
                sigma);
    }

    /** The name of the accounting in the result line. */
    public String accountingName() {
        return ftrl() ? "tree" : accountant.name();
    }

    /**
     * The rows a worker trains on in each step: DP-SGD's Poisson sample of the slice, or DP-FTRL's next batch of the
     * epoch's shuffle (each row at most once per tree; the last partial batch of an epoch is left out).
     */
    Rows rows(int[] slice, int workers, int population, SplittableRandom rnd) {
        if (!ftrl()) {
            return step -> ExampleClipping.poissonSample(slice, sampleRate, rnd);
        }
        int batch = batchPerWorker(workers, population);
        long perTree = stepsPerTree(workers, population);
        int[] shuffled = slice.clone();
        return step -> {
            int inTree = (int) (step % perTree);
            if (inTree == 0) {
                shuffle(shuffled, rnd);
            }
            return Arrays.copyOfRange(shuffled, inTree * batch, (inTree + 1) * batch);
        };
    }

    /** A worker's rows per step. */
    @FunctionalInterface
    interface Rows {
        /** The rows of step {@code step} (0-based); called for steps 0, 1, 2, ... in order. */
        int[] of(long step);
    }

    /** Fisher–Yates. */
    private static void shuffle(int[] a, SplittableRandom rnd) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
