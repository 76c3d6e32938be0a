package io.gradstream.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.demo.Digits;
import io.gradstream.schemas.Encoding;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The study's run specifications and its MLP's gradient, without Kafka. */
class CompressionStudyTest {

    @Test
    void runsReadGradientsAndParametersWithTheirDefaults() {
        CompressionStudy.Run fp32 = CompressionStudy.Run.parse("fp32");
        assertThat(fp32.compression(100)).isNull();
        CompressionStudy.Run bf16 = CompressionStudy.Run.parse("bf16");
        assertThat(bf16.output()).isEqualTo(Encoding.BF16);
        assertThat(bf16.delta()).isNull();
        assertThat(bf16.compression(100).getInputEncodings()).containsExactly(Encoding.BF16);

        CompressionStudy.Run topk = CompressionStudy.Run.parse("topk:0.01:noef");
        assertThat(topk.gradients().errorFeedback()).isFalse();
        assertThat(topk.delta()).isEqualTo(Encoding.TOPK);
        assertThat(topk.deltaFraction()).isEqualTo(0.01);
        assertThat(topk.output()).isEqualTo(Encoding.FP32);
        assertThat(topk.compression(50).getSnapshotEvery()).isEqualTo(50);

        CompressionStudy.Run mixed = CompressionStudy.Run.parse("topk:0.01/topk:0.3");
        assertThat(mixed.gradients().topKFraction()).isEqualTo(0.01);
        assertThat(mixed.deltaFraction()).isEqualTo(0.3);
        assertThat(CompressionStudy.Run.parse("int8:noef").delta()).isEqualTo(Encoding.INT8_BLOCK);
        assertThat(CompressionStudy.Run.parse("topk:0.01/fp32").delta()).isNull();
        assertThat(CompressionStudy.Run.parse("topk:0.01/int8").parameters()).isEqualTo("INT8_BLOCK delta");

        assertThatThrownBy(() -> CompressionStudy.Run.parse("fp32/zstd")).hasMessageContaining("zstd");
        assertThatThrownBy(() -> CompressionStudy.Run.parse("fp32/fp32/fp32")).hasMessageContaining("GRADIENTS");
        assertThatThrownBy(() -> CompressionStudy.Run.parse("topk:x")).hasMessageContaining("topk");
    }

    @Test
    void amsgradIsAdamWithItsMaximumAndTheSameLearningRate() {
        var o = new CompressionStudy.Options(
                10, null, List.of("digits"), List.of("amsgrad", "adam"), List.of(), 5, 100, 16, 1, null);
        var adam = CompressionStudy.spec(StudyNet.DIGITS, "adam", o);
        var amsgrad = CompressionStudy.spec(StudyNet.DIGITS, "amsgrad", o);
        assertThat(amsgrad.getOptimizer()).isEqualTo("Adam").isEqualTo(adam.getOptimizer());
        assertThat(amsgrad.getHyperparameters()).containsEntry("amsgrad", true).containsEntry("lr", 0.05);
        assertThat(adam.getHyperparameters()).doesNotContainKey("amsgrad").containsEntry("lr", 0.05);
        // With no runs named, AMSGrad gets Adam's runs.
        assertThat(CompressionStudy.trials(o)).hasSize(2 * CompressionStudy.ADAM_RUNS.size());
        var sgd = new CompressionStudy.Options(
                10, null, List.of("digits"), List.of("sgdm"), List.of(), 5, 100, 16, 1, null);
        assertThatThrownBy(() -> CompressionStudy.trials(sgd)).hasMessageContaining("use adam, amsgrad or sgd");
    }

    @Test
    void theMlpGradientMatchesFiniteDifferences() {
        Digits data = Digits.load();
        StudyNet net = StudyNet.mlp(16);
        Map<String, float[]> params = net.initialValues(3);
        Map<String, float[]> grads = new LinkedHashMap<>();
        params.forEach((k, v) -> grads.put(k, new float[v.length]));
        int[] batch = new SplittableRandom(5).ints(8, 0, data.size()).toArray();
        net.lossAndGradient(params, data, batch, grads);
        SplittableRandom pick = new SplittableRandom(7);
        Map<String, Integer> checked = new HashMap<>();
        for (String tensor : params.keySet()) {
            float[] p = params.get(tensor);
            for (int t = 0; t < 5; t++) {
                int i = pick.nextInt(p.length);
                float keep = p[i];
                double h = 1e-3; // small: a ReLU kink within ±h would bias the difference
                p[i] = (float) (keep + h);
                double up = net.lossAndGradient(params, data, batch, null);
                p[i] = (float) (keep - h);
                double down = net.lossAndGradient(params, data, batch, null);
                p[i] = keep;
                double numeric = (up - down) / (2 * h);
                assertThat((double) grads.get(tensor)[i])
                        .as(tensor + "[" + i + "]")
                        .isCloseTo(numeric, org.assertj.core.data.Offset.offset(2e-3 + 0.02 * Math.abs(numeric)));
                checked.merge(tensor, 1, Integer::sum);
            }
        }
        assertThat(checked).containsKeys("W1", "b1", "W2", "b2");
        // Every run starts from the same parameters: the values depend on the seed only.
        assertThat(net.initialValues(3).get("W1"))
                .containsExactly(StudyNet.mlp(16).initialValues(3).get("W1"));
    }
}
