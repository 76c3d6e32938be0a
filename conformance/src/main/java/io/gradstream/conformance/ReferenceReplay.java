package io.gradstream.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.core.optim.StepBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Replays one reference file in the format of {@code shared/reference} and judges it: optimizer trajectories are
 * stepped by the given {@link StepBackend} (the CPU kernels or an accelerator), schedules, numeric formats and privacy
 * accounting by the core's code. The one replay behind {@code gradstream conformance} and the tests of every backend.
 */
public final class ReferenceReplay {
    private final StepBackend backend;

    public ReferenceReplay(StepBackend backend) {
        this.backend = backend;
    }

    /** Reads and replays {@code file}; a file of no known kind is a {@link ReferenceFormatException}. */
    public Verdict replay(Path file) throws ReferenceFormatException {
        return replay(Json.read(file));
    }

    /** Replays a parsed reference file (as {@link Json#read} returns it). */
    public Verdict replay(JsonNode root) throws ReferenceFormatException {
        try {
            if (OptimizerCheck.accepts(root)) {
                return OptimizerCheck.run(root, backend);
            }
            if (ScheduleCheck.accepts(root)) {
                return ScheduleCheck.run(root);
            }
            // Before the numeric formats: rdp_per_alpha.json also has "cases".
            if (PrivacyCheck.accepts(root)) {
                return PrivacyCheck.run(root);
            }
            if (NumericFormatCheck.accepts(root)) {
                return NumericFormatCheck.run(root);
            }
        } catch (RuntimeException e) {
            // Malformed values inside a known format (wrong types, sizes) must read as bad input, not a crash.
            throw new ReferenceFormatException(e.getClass().getSimpleName() + ": " + e.getMessage(), e);
        }
        throw new ReferenceFormatException("unknown reference file: expected an optimizer trajectory (optimizer, "
                + "grads, params_after_step), an LR schedule (scheduler, lrs), numeric-format vectors (cases or "
                + "vectors) or privacy accounting values (rows, cases or entries with an accountant)");
    }

    /** Whether {@code root} is a data set's manifest (a {@code files} list) rather than a reference file. */
    public static boolean isManifest(JsonNode root) {
        boolean known = OptimizerCheck.accepts(root)
                || ScheduleCheck.accepts(root)
                || PrivacyCheck.accepts(root)
                || NumericFormatCheck.accepts(root);
        return !known && root.has("files") && root.get("files").isArray();
    }

    /** Every {@code *.json} under {@code dir}, recursively, in path order (manifests included). */
    public static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(f ->
                            Files.isRegularFile(f) && f.getFileName().toString().endsWith(".json"))
                    .sorted()
                    .toList();
        }
    }
}
