package io.gradstream.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.core.optim.CpuStepBackend;
import io.gradstream.core.optim.StepBackend;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Runs gradstream's kernels against reference files in the format of {@code shared/reference}: one line per file
 * ({@code PASS}/{@code FAIL}/{@code SKIP}, the file, the largest scaled error), then {@code N passed, N failed}.
 * Directories are searched recursively for {@code *.json}; a file that cannot be read or is of no known kind is an
 * error (exit status 2), a failed check exit status 1.
 */
public final class ConformanceRunner {
    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILED = 1;
    public static final int EXIT_BAD_INPUT = 2;

    private final PrintWriter out;
    private final PrintWriter err;
    private final Path outputDir;
    private final ReferenceReplay replay;

    /** @param outputDir where to write what the kernels computed, per input file; null for none */
    public ConformanceRunner(PrintWriter out, PrintWriter err, Path outputDir) {
        this(out, err, outputDir, CpuStepBackend.INSTANCE);
    }

    /** As above, with the optimizer files stepped by {@code backend}; the other kinds of file are unchanged. */
    public ConformanceRunner(PrintWriter out, PrintWriter err, Path outputDir, StepBackend backend) {
        this.out = out;
        this.err = err;
        this.outputDir = outputDir;
        this.replay = new ReferenceReplay(backend);
    }

    /** Checks every file under {@code paths}; returns the exit status. */
    public int run(List<Path> paths) {
        int passed = 0;
        int failed = 0;
        int skipped = 0;
        int errors = 0;
        List<Input> inputs = new ArrayList<>();
        for (Path p : paths) {
            if (!Files.exists(p)) {
                err.println("ERROR " + p + ": no such file or directory");
                errors++;
                continue;
            }
            try {
                inputs.addAll(expand(p));
            } catch (IOException e) {
                err.println("ERROR " + p + ": cannot list: " + e.getMessage());
                errors++;
            }
        }
        for (Input input : inputs) {
            Verdict v;
            try {
                v = check(input);
            } catch (ReferenceFormatException e) {
                err.println("ERROR " + input.file + ": " + e.getMessage());
                errors++;
                continue;
            }
            if (v == null) {
                continue; // a manifest found while walking a directory
            }
            switch (v.status()) {
                case PASS -> passed++;
                case FAIL -> failed++;
                case SKIP -> skipped++;
            }
            out.println(format(v, input.file));
            if (outputDir != null && v.computed() != null) {
                write(input, v);
            }
        }
        String summary = passed + " passed, " + failed + " failed" + (skipped > 0 ? ", " + skipped + " skipped" : "");
        if (errors > 0) {
            summary += " (" + errors + " unreadable or unknown)";
        }
        out.println(summary);
        out.flush();
        err.flush();
        if (errors > 0) {
            return EXIT_BAD_INPUT;
        }
        return failed > 0 ? EXIT_FAILED : EXIT_OK;
    }

    private record Input(Path file, Path root, boolean fromDirectory) {}

    private static List<Input> expand(Path p) throws IOException {
        List<Input> result = new ArrayList<>();
        if (Files.isDirectory(p)) {
            for (Path f : ReferenceReplay.files(p)) {
                result.add(new Input(f, p, true));
            }
        } else {
            result.add(new Input(p, p.getParent() == null ? Path.of(".") : p.getParent(), false));
        }
        return result;
    }

    /** The verdict for one file, or null for a manifest met while walking a directory. */
    private Verdict check(Input input) throws ReferenceFormatException {
        JsonNode root = Json.read(input.file);
        if (input.fromDirectory && ReferenceReplay.isManifest(root)) {
            return null;
        }
        return replay.replay(root);
    }

    static String format(Verdict v, Path file) {
        String error = Double.isNaN(v.maxScaledError()) ? "-" : String.format(Locale.ROOT, "%.3e", v.maxScaledError());
        return String.format(Locale.ROOT, "%-4s  %s  max scaled error %s  (%s)", v.status(), file, error, v.detail());
    }

    private void write(Input input, Verdict v) {
        Path rel = input.fromDirectory ? input.root.relativize(input.file) : input.file.getFileName();
        Path target = outputDir.resolve(rel.toString());
        try {
            Files.createDirectories(target.getParent());
            Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(target.toFile(), v.computed());
        } catch (IOException e) {
            err.println("WARN  could not write " + target + ": " + e.getMessage());
        }
    }
}
