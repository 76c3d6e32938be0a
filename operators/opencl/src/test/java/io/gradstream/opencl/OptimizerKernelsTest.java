package io.gradstream.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.Optimizers;
import io.gradstream.core.optim.StepScalars;
import java.lang.reflect.RecordComponent;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The packing the kernels rely on, without a device: every component of the core's scalars record, in declaration
 * order, flags as 1 or 0, into a kernel that optimizers.cl defines.
 */
class OptimizerKernelsTest {

    static List<org.junit.jupiter.params.provider.Arguments> configurations() {
        return StepBackendAbstractTest.configurations().toList();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("configurations")
    void packsEveryComponentInDeclarationOrder(String name, Map<String, Object> hp) throws Exception {
        OptimizerState state = new OptimizerState();
        state.setStep(3);
        StepScalars scalars = Optimizers.create(name, hp).scalars(state);
        OptimizerKernels.Packed packed = OptimizerKernels.pack(scalars);
        assertThat(packed.scalars()).containsExactly(declared(scalars));
        assertThat(packed.scalars().length).isLessThanOrEqualTo(OptimizerKernels.NSC);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("configurations")
    void theKernelExistsInTheProgram(String name, Map<String, Object> hp) {
        String kernel = OptimizerKernels.pack(Optimizers.create(name, hp).scalars(new OptimizerState()))
                .kernel();
        String source = ClContext.resource("optimizers");
        if (kernel.equals(OptimizerKernels.LAMB)) {
            for (String part : List.of("lamb_moments", "lamb_norms", "lamb_apply")) {
                assertThat(source).contains("kernel void " + part + "(");
            }
        } else {
            assertThat(source).contains("kernel void " + kernel + "(");
        }
    }

    @Test
    void variantsThatTouchOtherSlotsAreOtherKernels() {
        assertThat(kernel("SGD", Map.of("lr", 0.1))).isEqualTo("sgd");
        assertThat(kernel("SGD", Map.of("lr", 0.1, "momentum", 0.9))).isEqualTo("sgd_momentum");
        assertThat(kernel("AdamW", Map.of())).isEqualTo("adam");
        assertThat(kernel("Adam", Map.of("amsgrad", true))).isEqualTo("adam_amsgrad");
        assertThat(kernel("RMSprop", Map.of())).isEqualTo("rmsprop");
        assertThat(kernel("RMSprop", Map.of("centered", true))).isEqualTo("rmsprop_centered");
        assertThat(kernel("RMSprop", Map.of("momentum", 0.5))).isEqualTo("rmsprop_momentum");
        assertThat(kernel("RMSprop", Map.of("centered", true, "momentum", 0.5))).isEqualTo("rmsprop_centered_momentum");
    }

    @Test
    void everyKindOfScalarsHasAKernel() {
        Set<Class<?>> covered = new HashSet<>();
        for (String name : Optimizers.NAMES) {
            StepScalars s = Optimizers.create(name, Map.of("lr", 0.1)).scalars(new OptimizerState());
            OptimizerKernels.pack(s);
            covered.add(s.getClass());
        }
        assertThat(covered).containsExactlyInAnyOrder(StepScalars.class.getPermittedSubclasses());
    }

    @Test
    void declaredFlattensFlagsAndFloats() throws Exception {
        StepScalars.Adagrad k = new StepScalars.Adagrad(-1f, 0.5f, true, -0.1f, 1e-10f);
        assertThat(declared(k)).containsExactly(-1f, 0.5f, 1f, -0.1f, 1e-10f);
        assertThat(OptimizerKernels.pack(k).scalars()).containsExactly(declared(k));
    }

    private static String kernel(String name, Map<String, Object> hp) {
        return OptimizerKernels.pack(Optimizers.create(name, hp).scalars(new OptimizerState()))
                .kernel();
    }

    /** The record's components in declaration order, flags as 1 or 0. */
    private static float[] declared(StepScalars scalars) throws Exception {
        RecordComponent[] components = scalars.getClass().getRecordComponents();
        float[] out = new float[components.length];
        for (int i = 0; i < components.length; i++) {
            Object v = components[i].getAccessor().invoke(scalars);
            out[i] = v instanceof Boolean b ? (b ? 1f : 0f) : (Float) v;
        }
        return out;
    }
}
