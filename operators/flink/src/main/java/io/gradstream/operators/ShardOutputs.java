package io.gradstream.operators;

import io.gradstream.core.privacy.PrivacyPolicy;
import io.gradstream.core.privacy.SamplingDrift;
import io.gradstream.core.shard.RejectCode;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardState;
import io.gradstream.core.shard.ShardStepper;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.model.Limits;
import io.gradstream.model.ModelConfig;
import io.gradstream.model.RejectedRecords;
import io.gradstream.model.UpdateEncoder;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.StatusEvent;
import io.gradstream.schemas.StatusType;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.TaskInfo;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.operators.Output;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the shard operator sends out, with the metrics that count it: parameter updates (and the status events of a
 * spent budget and of counts that drift from what the accountant assumes), and rejections with their reason. Metrics are per model; refusals of records for models that do not exist
 * count under {@code _unknown}, so hostile model names cannot grow the metric registry.
 */
final class ShardOutputs {
    private static final Logger LOG = LoggerFactory.getLogger(ShardOutputs.class);
    private final Output<StreamRecord<ParameterUpdate>> output;
    private final MetricGroup group;
    private final Limits limits;
    /** This subtask's load, for the placement's skew. */
    final SubtaskLoad load;

    private final UpdateEncoder encoder = new UpdateEncoder();
    private final Map<String, ModelMetrics> metrics = new HashMap<>();
    private final double driftFactor;

    ShardOutputs(Output<StreamRecord<ParameterUpdate>> output, MetricGroup group, Limits limits, double driftFactor) {
        this.load = new SubtaskLoad(group);
        this.output = output;
        this.group = group;
        this.limits = limits;
        this.driftFactor = driftFactor;
    }

    /** Metrics of {@code model}, or of {@code _unknown} for null. */
    ModelMetrics metrics(String model) {
        String name = model == null || model.isEmpty() ? "_unknown" : model;
        return metrics.computeIfAbsent(name, m -> new ModelMetrics(group, m));
    }

    /** Metrics of a known model, its share of clipped contributions brought up to date. */
    ModelMetrics metrics(String model, ModelConfig config) {
        ModelMetrics m = metrics(model);
        if (config.privacy() != null) {
            m.clippedFraction = config.clips().fraction();
        }
        return m;
    }

    /** Releases a deleted model's metrics. */
    void forget(String model) {
        ModelMetrics m = metrics.remove(model);
        if (m != null) {
            m.close();
        }
    }

    /**
     * Publishes a shard's parameters after {@code step} (null: version 0, or a snapshot) and, once, a spent budget.
     */
    void update(ShardKey key, ShardState state, ModelConfig config, ShardStepper.StepResult step) {
        update(key, state, config, step, false);
    }

    /**
     * As above; {@code forceFull}: a full snapshot even where the model's delta stream would send a delta. Advances the
     * delta stream's copy in {@code state}, which the caller stores afterwards.
     */
    void update(ShardKey key, ShardState state, ModelConfig config, ShardStepper.StepResult step, boolean forceFull) {
        ParameterUpdate u = encoder.encode(key, state, config, step, forceFull);
        ModelMetrics m = metrics(key.model());
        int n = u.getPayload().getData().remaining();
        m.bytesOut.inc(n);
        m.payloadOut(n, state.params().length);
        if (step != null) {
            m.applied(state.version(), step.meanLoss());
            if (step.contributions() > 1) {
                m.aggregationWaitMillis.update(step.aggregationWaitMs());
            }
            if (step.latestPublishedAtMs() > 0) {
                m.publishToStepMillis.update(Math.max(0, System.currentTimeMillis() - step.latestPublishedAtMs()));
            }
        }
        if (u.getEpsilonSpent() != null) {
            m.epsilonSpent(u.getEpsilonSpent());
            m.epsilonTarget = config.privacy().targetEpsilon();
        }
        output.collect(new StreamRecord<>(u));
        if (step != null && step.budgetExhausted() && config.isReporter(key)) {
            output.collect(ShardOptimizerOperator.STATUS, new StreamRecord<>(budgetEvent(key, config, step)));
        }
        if (step != null && config.privacy() != null && config.isReporter(key)) {
            PrivacyPolicy p = config.privacy();
            double observed = p.unit() == PrivacyPolicy.Unit.EXAMPLE ? step.examples() : step.contributions();
            SamplingDrift.Crossing crossing = m.drift(driftFactor).observe(observed, p.expectedPerStep());
            if (crossing != null) {
                output.collect(
                        ShardOptimizerOperator.STATUS, new StreamRecord<>(driftEvent(key, config, step, crossing)));
            }
        }
    }

    /** The model's reporter shard says when the counts leave (or re-enter) the band the accountant assumes. */
    private static StatusEvent driftEvent(
            ShardKey key, ModelConfig config, ShardStepper.StepResult step, SamplingDrift.Crossing crossing) {
        String unit = config.privacy().unit() == PrivacyPolicy.Unit.EXAMPLE ? "examples" : "contributions";
        return StatusEvent.newBuilder()
                .setModelId(key.model())
                .setType(StatusType.OTHER)
                .setVersion(step.version())
                .setEpsilonSpent(step.epsilon())
                .setTargetEpsilon(
                        config.privacy().hasBudget() ? config.privacy().targetEpsilon() : null)
                .setDetail(crossing.describe(!config.isFtrl()).replace("contributions", unit))
                .setRaisedAtMs(System.currentTimeMillis())
                .build();
    }

    /**
     * Publishes a shard whose step has run, with the step's metrics; or, for a step taken back because its result was
     * not finite, sends the gradient that completed it to the rejected topic (a SYNC timeout has none: it is counted
     * and logged).
     *
     * @param stepMicros how long its optimizer loop took when it ran alone, or -1 when it ran in a batch
     */
    void stepped(StepBatch.Ran ran, long stepMicros) {
        StepBatch.Entry b = ran.entry();
        ModelMetrics m = metrics(b.shardKey().model());
        if (ran.refused() != null) {
            if (b.record() != null) {
                reject(
                        ran.refused().code(),
                        ran.refused().detail(),
                        b.record(),
                        b.shardKey().model(),
                        true,
                        true);
            } else {
                m.rejected(ran.refused().code());
                LOG.warn("shard {}: {}", b.key(), ran.refused().detail());
            }
            return;
        }
        if (stepMicros >= 0) {
            m.stepMicros.update(stepMicros);
        }
        load.stepped();
        m.stateBytes(b.shardKey().toString(), b.state()); // the Flink key may carry the placement's salt
        if (b.before() != null) {
            m.norms(
                    b.gradientNorm(),
                    ModelMetrics.distance(b.before(), b.state().params()));
        }
        update(b.shardKey(), b.state(), b.config(), b.result());
    }

    /**
     * After the last step the budget allows, the model's reporter shard announces it, once: the step is applied
     * exactly once per version, and a replay after a restore re-emits it within the same checkpoint epoch.
     */
    private static StatusEvent budgetEvent(ShardKey key, ModelConfig config, ShardStepper.StepResult step) {
        return StatusEvent.newBuilder()
                .setModelId(key.model())
                .setType(StatusType.BUDGET_EXHAUSTED)
                .setVersion(step.version())
                .setEpsilonSpent(step.epsilon())
                .setTargetEpsilon(config.privacy().targetEpsilon())
                .setDetail("privacy budget spent: epsilon " + step.epsilon() + " of "
                        + config.privacy().targetEpsilon()
                        + " at delta " + config.privacy().delta() + " after " + step.version() + " steps; further "
                        + "gradients are rejected with BUDGET_EXHAUSTED")
                .setRaisedAtMs(System.currentTimeMillis())
                .build();
    }

    /**
     * Publishes version 0 of a rule-initialised model's shards that this subtask owns (their key group), so that the
     * work is spread and a shard's version 0 leaves before its steps, from the same subtask.
     */
    void initialValues(ModelConfig config, TaskInfo task) {
        for (TensorLayout t : config.tensors().values()) {
            for (int s = 0; s < t.shardCount(); s++) {
                ShardKey key = new ShardKey(config.modelId(), t.name(), s);
                if (KeyGroupRangeAssignment.assignKeyToParallelOperator(
                                key.toString(),
                                task.getMaxNumberOfParallelSubtasks(),
                                task.getNumberOfParallelSubtasks())
                        == task.getIndexOfThisSubtask()) {
                    update(key, ShardState.initial(config.initialValues(key, t.shardLength(s))), config, null);
                }
            }
        }
    }

    /**
     * Sends a refused record to the rejected topic.
     *
     * @param known whether {@code model} exists, so that its metrics count the refusal
     * @param counted whether to count it in the metrics (control records are not)
     */
    void reject(RejectCode code, String detail, RawRecord record, String model, boolean known, boolean counted) {
        if (counted) {
            metrics(known ? model : null).rejected(code);
        }
        output.collect(
                Rejections.TAG,
                new StreamRecord<>(RejectedRecords.of(
                        code,
                        detail,
                        new RejectedRecords.Source(
                                record.topic, record.partition, record.offset, record.key, record.value),
                        model,
                        limits)));
    }
}
