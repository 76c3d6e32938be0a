package io.gradstream.ops.model;

import io.gradstream.model.Limits;
import io.gradstream.model.ModelConfig;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.PrivacyAccountingSpec;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.WorkerKey;
import java.util.Map;
import java.util.function.Function;

/**
 * The job's own checks of a model ({@link ModelConfig#of}), run by the command line before anything is sent. The one
 * thing it cannot check here is the secret a private model's noise is keyed with, which lives on the task managers:
 * the spec is checked with a stand-in secret, so only the presence of exactly one reference is required here.
 */
public final class SpecCheck {
    private static final String STAND_IN = "GRADSTREAM_CLI_STAND_IN_SEED";

    private SpecCheck() {}

    /**
     * Checks {@code spec} of model {@code modelId} as a CREATE (or an UPDATE's resulting spec) within {@code limits}.
     *
     * @throws SpecException naming the problem as the job would when it refuses the command
     */
    public static void check(
            String modelId,
            ModelSpec spec,
            Map<String, WorkerKey> workers,
            CompressionSpec compression,
            Limits limits) {
        check(modelId, spec, workers, compression, null, limits);
    }

    /** As above with the CREATE's privacy accounting settings (null: DP-SGD with RDP). */
    public static void check(
            String modelId,
            ModelSpec spec,
            Map<String, WorkerKey> workers,
            CompressionSpec compression,
            PrivacyAccountingSpec accounting,
            Limits limits) {
        if (modelId == null || modelId.isEmpty()) {
            throw new SpecException("modelId", "is required: in the spec file or as --model-id");
        }
        ModelSpec checked = spec;
        PrivacySpec p = spec.getPrivacy();
        if (p != null) {
            boolean file = p.getSeedFile() != null && !p.getSeedFile().isEmpty();
            boolean env = p.getSeedEnv() != null && !p.getSeedEnv().isEmpty();
            if (file == env) {
                throw new SpecException("privacy.seedFile", "needs exactly one of seedFile and seedEnv");
            }
            checked = ModelSpec.newBuilder(spec)
                    .setPrivacy(PrivacySpec.newBuilder(p)
                            .setSeedFile(null)
                            .setSeedEnv(STAND_IN)
                            .build())
                    .build();
        }
        // Worker keys that cannot be read here are no error (the job reads them on the task managers), and the stand-in
        // is the only environment variable the check may see.
        Function<String, String> environment = name -> STAND_IN.equals(name) ? "x".repeat(32) : null;
        try {
            limits.requireName("model", modelId);
        } catch (IllegalArgumentException e) {
            throw new SpecException("modelId", e.getMessage());
        }
        try {
            ModelConfig.of(modelId, checked, null, limits, environment, workers, compression, accounting);
        } catch (IllegalArgumentException e) {
            throw new SpecException(field(spec, String.valueOf(e.getMessage())), e.getMessage());
        }
    }

    /**
     * The field a message of the job's checks is about: a hyperparameter it names (torch's messages name the
     * parameter, e.g. "Invalid lr: -0.1"), else the spec section it starts with, else the spec as a whole.
     */
    static String field(ModelSpec spec, String message) {
        for (String key : spec.getHyperparameters().keySet()) {
            if (java.util.regex.Pattern.compile("(^|\\W)" + java.util.regex.Pattern.quote(key) + "(\\W|$)")
                    .matcher(message)
                    .find()) {
                return "hyperparameters." + key;
            }
        }
        java.util.regex.Matcher invalid =
                java.util.regex.Pattern.compile("^Invalid ([A-Za-z_0-9]+)").matcher(message);
        if (invalid.find()) {
            return "hyperparameters." + invalid.group(1); // e.g. a required one that is missing
        }
        for (String section : new String[] {
            "privacy",
            "aggregation",
            "init",
            "outputEncoding",
            "shardSize",
            "lrSchedule",
            "workers",
            "optimizer",
            "compression"
        }) {
            if (message.startsWith(section)) {
                return section;
            }
        }
        return "spec";
    }
}
