package io.gradstream.ops.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.gradstream.schemas.AggregationMode;
import io.gradstream.schemas.AggregationSpec;
import io.gradstream.schemas.ChildSchedule;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.InitSpec;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.PrivacyAccountant;
import io.gradstream.schemas.PrivacyAccountingSpec;
import io.gradstream.schemas.PrivacyMechanism;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.PrivacyUnit;
import io.gradstream.schemas.ScheduleSpec;
import io.gradstream.schemas.TensorSpec;
import io.gradstream.schemas.WorkerKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Model spec files (YAML or JSON) as {@link ModelDefinition}s: the fields of {@code ModelSpec} under the same names,
 * plus {@code modelId} and the CREATE's {@code workers} and {@code compression}; the privacy block also takes the
 * CREATE's privacyAccounting ({@code accountant}, {@code mechanism}, {@code stepsPerRestart}, {@code efficientTree}). The mapping is explicit, so every refusal names the field's
 * path and the reason (Avro's JSON decoder would want unions spelled out and report positions instead). The shape is
 * documented in the README, section "Managing models".
 */
public final class SpecFiles {
    /** Most bytes of a spec file: a spec is a few kilobytes; this keeps a wrong path from loading a data set. */
    public static final int MAX_FILE_BYTES = 4 << 20;

    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final ObjectMapper YAML = new YAMLMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private SpecFiles() {}

    /**
     * The definition in {@code file}: JSON when its name ends in {@code .json}, YAML otherwise.
     *
     * @throws SpecException naming the field and the reason (the message starts with the file)
     * @throws IOException when the file cannot be read
     */
    public static ModelDefinition read(Path file) throws IOException {
        JsonNode root = tree(file);
        try {
            return definition(root);
        } catch (SpecException e) {
            throw new SpecException(
                    file + ": " + e.field(), e.getMessage().substring(e.field().length() + 2));
        }
    }

    /** The parsed file as a tree; syntax errors are {@link SpecException}s naming the file, line and column. */
    public static JsonNode tree(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + " is not a file");
        }
        if (Files.size(file) > MAX_FILE_BYTES) {
            throw new SpecException(file.toString(), "larger than " + MAX_FILE_BYTES + " bytes: not a spec file");
        }
        boolean json = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json");
        try {
            JsonNode root = (json ? JSON : YAML).readTree(file.toFile());
            return root == null ? JSON.missingNode() : root;
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new SpecException(
                    file.toString(),
                    "not valid " + (json ? "JSON" : "YAML") + ": " + e.getOriginalMessage()
                            + (e.getLocation() == null
                                    ? ""
                                    : " (line " + e.getLocation().getLineNr() + ", column "
                                            + e.getLocation().getColumnNr() + ")"));
        }
    }

    /** The definition in a parsed spec. */
    public static ModelDefinition definition(JsonNode root) {
        Fields f = Fields.of(
                root,
                "",
                Fields.known(
                        "modelId",
                        "tensors",
                        "shardSize",
                        "optimizer",
                        "hyperparameters",
                        "lrSchedule",
                        "aggregation",
                        "init",
                        "outputEncoding",
                        "privacy",
                        "workers",
                        "compression"));
        ModelSpec.Builder b = ModelSpec.newBuilder()
                .setTensors(tensors(f.require("tensors", "the model's tensors, e.g. [{name: W, shape: [10, 64]}]")));
        f.require("optimizer", "SGD, Adam, AdamW, RMSprop, Adagrad, Adamax, NAdam, RAdam, LAMB or Lion");
        b.setOptimizer(f.string("optimizer"));
        if (f.has("shardSize")) {
            b.setShardSize(f.integer("shardSize"));
        }
        if (f.has("hyperparameters")) {
            b.setHyperparameters(hyperparameters(f.get("hyperparameters"), "hyperparameters"));
        }
        if (f.has("lrSchedule")) {
            b.setLrSchedule(schedule(f.get("lrSchedule"), "lrSchedule"));
        }
        b.setAggregation(
                f.has("aggregation")
                        ? aggregation(f.get("aggregation"))
                        : AggregationSpec.newBuilder().build());
        b.setInit(f.has("init") ? init(f.get("init")) : InitSpec.newBuilder().build());
        if (f.has("outputEncoding")) {
            b.setOutputEncoding(f.symbol("outputEncoding", Encoding.class));
        }
        PrivacyAccountingSpec accounting = null;
        if (f.has("privacy")) {
            b.setPrivacy(privacy(f.get("privacy")));
            accounting = accounting(f.get("privacy"));
        }
        Map<String, WorkerKey> workers = f.has("workers") ? workers(f.get("workers"), "workers") : null;
        CompressionSpec compression = f.has("compression") ? compression(f.get("compression")) : null;
        return new ModelDefinition(f.string("modelId"), b.build(), workers, compression, accounting);
    }

    /** A list of {name, shape} objects, or a map of name to shape (in the file's order). */
    static List<TensorSpec> tensors(JsonNode node) {
        List<TensorSpec> out = new ArrayList<>();
        if (node.isObject()) {
            for (Map.Entry<String, JsonNode> e : Fields.entries(node)) {
                out.add(new TensorSpec(e.getKey(), shape(e.getValue(), "tensors." + e.getKey())));
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                String path = "tensors[" + i + "]";
                Fields t = Fields.of(node.get(i), path, Fields.known("name", "shape"));
                t.require("name", "the tensor's name");
                String name = t.string("name");
                out.add(new TensorSpec(
                        name, shape(t.require("shape", "row-major dimensions, e.g. [10, 64]"), t.path("shape"))));
            }
        } else {
            throw new SpecException(
                    "tensors",
                    "expected a list of {name, shape} or a map of name to shape, got " + Fields.describe(node));
        }
        if (out.isEmpty()) {
            throw new SpecException("tensors", "the model needs at least one tensor");
        }
        return out;
    }

    private static List<Integer> shape(JsonNode node, String path) {
        if (!node.isArray()) {
            throw new SpecException(path, "expected a list of dimensions, e.g. [10, 64], got " + Fields.describe(node));
        }
        List<Integer> dims = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            dims.add((int) Fields.integral(node.get(i), path + "[" + i + "]", 1, Integer.MAX_VALUE));
        }
        return dims;
    }

    /** torch names to a number, true/false, a string or a list of numbers (the spec's hyperparameter values). */
    public static Map<String, Object> hyperparameters(JsonNode node, String path) {
        if (!node.isObject()) {
            throw new SpecException(path, "expected an object of name: value, got " + Fields.describe(node));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : Fields.entries(node)) {
            out.put(e.getKey(), hyperparameter(e.getValue(), Fields.join(path, e.getKey())));
        }
        return out;
    }

    /** One hyperparameter value: Double, Boolean, String or a List of Double, as the Avro union holds them. */
    public static Object hyperparameter(JsonNode v, String path) {
        if (v.isNumber()) {
            return Fields.number(v, path);
        }
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        if (v.isTextual()) {
            return v.textValue();
        }
        if (v.isArray()) {
            List<Double> list = new ArrayList<>();
            for (int i = 0; i < v.size(); i++) {
                list.add(Fields.number(v.get(i), path + "[" + i + "]"));
            }
            return list;
        }
        throw new SpecException(
                path, "expected a number, true/false, a string or a list of numbers, got " + Fields.describe(v));
    }

    /**
     * A {@code key=value} argument's value as a hyperparameter: parsed as a YAML scalar or flow list, so
     * {@code lr=0.01}, {@code nesterov=true}, {@code betas=[0.9,0.99]} and {@code anneal_strategy=cos} mean what they
     * would in a spec file.
     */
    public static Object hyperparameterArgument(String key, String value) {
        JsonNode v;
        try {
            v = YAML.readTree("v: " + value).get("v");
        } catch (IOException e) {
            throw new SpecException(key, "cannot read the value '" + value + "': " + e.getMessage());
        }
        if (v == null || v.isNull()) {
            throw new SpecException(key, "has no value (write " + key + "=VALUE)");
        }
        return hyperparameter(v, key);
    }

    /** A schedule: {name, hyperparameters, children: [{name, hyperparameters}]}. */
    public static ScheduleSpec schedule(JsonNode node, String path) {
        Fields f = Fields.of(node, path, Fields.known("name", "hyperparameters", "children"));
        f.require("name", "a torch.optim.lr_scheduler class, e.g. StepLR, or constant");
        ScheduleSpec.Builder b = ScheduleSpec.newBuilder().setName(f.string("name"));
        if (f.has("hyperparameters")) {
            b.setHyperparameters(hyperparameters(f.get("hyperparameters"), f.path("hyperparameters")));
        }
        List<ChildSchedule> children = new ArrayList<>();
        if (f.has("children")) {
            JsonNode list = f.get("children");
            if (!list.isArray()) {
                throw new SpecException(
                        f.path("children"), "expected a list of schedules, got " + Fields.describe(list));
            }
            for (int i = 0; i < list.size(); i++) {
                String p = f.path("children") + "[" + i + "]";
                Fields c = Fields.of(list.get(i), p, Fields.known("name", "hyperparameters"));
                c.require("name", "a torch.optim.lr_scheduler class");
                children.add(new ChildSchedule(
                        c.string("name"),
                        c.has("hyperparameters")
                                ? hyperparameters(c.get("hyperparameters"), c.path("hyperparameters"))
                                : Map.of()));
            }
        }
        return b.setChildren(children).build();
    }

    /** Worker id to {keyFile: PATH} or {keyEnv: NAME}: where each authorised worker's key is on the task managers. */
    public static Map<String, WorkerKey> workers(JsonNode node, String path) {
        if (!node.isObject()) {
            throw new SpecException(
                    path,
                    "expected an object of worker id: {keyFile: PATH} or {keyEnv: NAME}, got " + Fields.describe(node));
        }
        Map<String, WorkerKey> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : Fields.entries(node)) {
            String p = Fields.join(path, e.getKey());
            Fields k = Fields.of(e.getValue(), p, Fields.known("keyFile", "keyEnv"));
            if (k.has("keyFile") == k.has("keyEnv")) {
                throw new SpecException(
                        p,
                        "needs exactly one of keyFile and keyEnv (where the worker's key is on "
                                + "the task managers, never the key itself)");
            }
            out.put(e.getKey(), new WorkerKey(k.string("keyFile"), k.string("keyEnv")));
        }
        return out;
    }

    /** {inputEncodings: [...], deltaEncoding, deltaTopKFraction, snapshotEvery}: the CREATE's CompressionSpec. */
    private static CompressionSpec compression(JsonNode node) {
        Fields f = Fields.of(
                node,
                "compression",
                Fields.known("inputEncodings", "deltaEncoding", "deltaTopKFraction", "snapshotEvery"));
        CompressionSpec.Builder b = CompressionSpec.newBuilder();
        if (f.has("inputEncodings")) {
            JsonNode list = f.get("inputEncodings");
            if (!list.isArray()) {
                throw new SpecException(
                        f.path("inputEncodings"), "expected a list of encodings, got " + Fields.describe(list));
            }
            List<Encoding> encodings = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                encodings.add(Fields.symbol(list.get(i), f.path("inputEncodings") + "[" + i + "]", Encoding.class));
            }
            b.setInputEncodings(encodings);
        }
        if (f.has("deltaEncoding")) {
            b.setDeltaEncoding(f.symbol("deltaEncoding", Encoding.class));
        }
        if (f.has("deltaTopKFraction")) {
            b.setDeltaTopKFraction(f.number("deltaTopKFraction"));
        }
        if (f.has("snapshotEvery")) {
            b.setSnapshotEvery(f.integer("snapshotEvery"));
        }
        return b.build();
    }

    private static AggregationSpec aggregation(JsonNode node) {
        Fields f = Fields.of(node, "aggregation", Fields.known("mode", "workers", "timeoutMs", "maxStaleness"));
        AggregationSpec.Builder b = AggregationSpec.newBuilder();
        if (f.has("mode")) {
            b.setMode(f.symbol("mode", AggregationMode.class));
        }
        if (f.has("workers")) {
            b.setWorkers(f.integer("workers"));
        }
        if (f.has("timeoutMs")) {
            b.setTimeoutMs(f.longValue("timeoutMs"));
        }
        if (f.has("maxStaleness")) {
            b.setMaxStaleness(f.integer("maxStaleness"));
        }
        return b.build();
    }

    private static InitSpec init(JsonNode node) {
        Fields f = Fields.of(node, "init", Fields.known("rule", "seed", "std", "low", "high"));
        InitSpec.Builder b = InitSpec.newBuilder();
        if (f.has("rule")) {
            b.setRule(f.symbol("rule", InitRule.class));
        }
        if (f.has("seed")) {
            b.setSeed(f.longValue("seed"));
        }
        if (f.has("std")) {
            b.setStd(f.number("std"));
        }
        if (f.has("low")) {
            b.setLow(f.number("low"));
        }
        if (f.has("high")) {
            b.setHigh(f.number("high"));
        }
        return b.build();
    }

    private static final java.util.Set<String> PRIVACY_FIELDS = Fields.known(
            "unit",
            "clipNorm",
            "noiseMultiplier",
            "targetEpsilon",
            "plannedSteps",
            "delta",
            "sampleRate",
            "expectedPerStep",
            "populationSize",
            "seedFile",
            "seedEnv",
            "accountant",
            "mechanism",
            "stepsPerRestart",
            "efficientTree");

    private static PrivacySpec privacy(JsonNode node) {
        Fields f = Fields.of(node, "privacy", PRIVACY_FIELDS);
        f.require("clipNorm", "C, the L2 bound of one unit's whole contribution");
        f.require("delta", "the delta of (epsilon, delta), below 1/populationSize");
        PrivacySpec.Builder b = PrivacySpec.newBuilder()
                .setClipNorm(f.number("clipNorm"))
                .setDelta(f.number("delta"))
                .setNoiseMultiplier(f.number("noiseMultiplier"))
                .setTargetEpsilon(f.number("targetEpsilon"))
                .setPlannedSteps(f.longValue("plannedSteps"))
                .setSampleRate(f.number("sampleRate"))
                .setExpectedPerStep(f.number("expectedPerStep"))
                .setPopulationSize(f.longValue("populationSize"))
                .setSeedFile(f.string("seedFile"))
                .setSeedEnv(f.string("seedEnv"));
        if (f.has("unit")) {
            b.setUnit(f.symbol("unit", PrivacyUnit.class));
        }
        if (f.has("seedFile") == f.has("seedEnv")) {
            throw new SpecException(
                    "privacy.seedFile",
                    "needs exactly one of seedFile and seedEnv: where the task "
                            + "managers find the secret that keys the noise (never the secret itself)");
        }
        return b.build();
    }

    /**
     * The CREATE's privacyAccounting from the privacy block's {@code accountant}, {@code mechanism},
     * {@code stepsPerRestart} and {@code efficientTree}: always sent for a private model from a file, so a new model
     * gets PRV (DP-SGD) or TREE (DP-FTRL) unless the file names another accountant.
     */
    private static PrivacyAccountingSpec accounting(JsonNode node) {
        Fields f = Fields.of(node, "privacy", PRIVACY_FIELDS);
        PrivacyMechanism mechanism =
                f.has("mechanism") ? f.symbol("mechanism", PrivacyMechanism.class) : PrivacyMechanism.DP_SGD;
        PrivacyAccountingSpec.Builder b = PrivacyAccountingSpec.newBuilder()
                .setMechanism(mechanism)
                .setAccountant(
                        f.has("accountant")
                                ? f.symbol("accountant", PrivacyAccountant.class)
                                : mechanism == PrivacyMechanism.DP_FTRL
                                        ? PrivacyAccountant.TREE
                                        : PrivacyAccountant.PRV)
                .setStepsPerRestart(f.longValue("stepsPerRestart"));
        if (f.has("efficientTree")) {
            JsonNode v = f.get("efficientTree");
            if (!v.isBoolean()) {
                throw new SpecException(f.path("efficientTree"), "expected true or false, got " + Fields.describe(v));
            }
            b.setEfficientTree(v.booleanValue());
        }
        return b.build();
    }
}
