package io.gradstream.cli;

import io.gradstream.conformance.ConformanceRunner;
import io.gradstream.core.optim.CpuStepBackend;
import io.gradstream.core.optim.StepBackend;
import io.gradstream.opencl.ClConfig;
import io.gradstream.opencl.OpenClException;
import io.gradstream.opencl.OpenClStepBackend;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code gradstream conformance PATH...}: checks the kernels against golden reference files. */
@Command(
        name = "conformance",
        mixinStandardHelpOptions = true,
        description = {
            "Runs gradstream's kernels against reference files in the format of shared/reference "
                    + "(optimizers, lr_schedulers, numeric_formats, dp_accounting) "
                    + "and prints one line per file: PASS or FAIL, the file, the largest scaled error.",
            "Optimizer files run through the float32 kernels and are judged as |actual - expected| / "
                    + "max(|expected|, H_i) <= 1e-4 (H_i: the largest magnitude element i had), float64 files "
                    + "against their float64 trajectory; schedules to 1e-12; numeric formats bit for bit; "
                    + "privacy accounting (RDP epsilon, best order, per-order RDP, PRV upper bounds, noise "
                    + "multipliers) to 1e-6 relative (a PRV value within its entry's own eps_error where it gives "
                    + "one), best orders exactly."
        },
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:every file passed",
            "1:at least one file failed",
            "2:a file could not be read or is of no known kind"
        })
final class ConformanceCommand implements Callable<Integer> {

    @Parameters(
            arity = "1..*",
            paramLabel = "PATH",
            description = "Reference files or directories (searched recursively for *.json).")
    List<Path> paths;

    @Option(
            names = "--output",
            paramLabel = "DIR",
            description = "Also write, per input file, what the kernels computed in the input's JSON shape "
                    + "(params_after_step and final_state; lrs; encoded bits and decoded values; eps, best order "
                    + "RDP values and PRV upper bounds).")
    Path output;

    @Option(
            names = "--backend",
            paramLabel = "cpu|opencl",
            defaultValue = "cpu",
            description = "Where optimizer files are stepped: the CPU kernels (default) or the OpenCL backend, "
                    + "without CPU fallback (a device that cannot be opened is exit status 2).")
    String backend;

    @Option(
            names = "--opencl",
            paramLabel = "KEY=VALUE",
            description = "OpenCL device selection: platform=INDEX|NAME-PART, device-type=cpu|gpu|all, "
                    + "device=INDEX (default: the first device of the first platform).")
    Map<String, String> opencl = Map.of();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        StepBackend steps;
        switch (backend) {
            case "cpu" -> steps = CpuStepBackend.INSTANCE;
            case "opencl" -> {
                try {
                    steps = OpenClStepBackend.open(ClConfig.fromMap(opencl));
                } catch (OpenClException | IllegalArgumentException e) {
                    spec.commandLine().getErr().println("ERROR --backend opencl: " + e.getMessage());
                    spec.commandLine().getErr().flush();
                    return ConformanceRunner.EXIT_BAD_INPUT;
                }
                spec.commandLine().getOut().println("backend " + steps.name());
            }
            default -> {
                spec.commandLine().getErr().println("ERROR --backend must be cpu or opencl, got '" + backend + "'");
                spec.commandLine().getErr().flush();
                return ConformanceRunner.EXIT_BAD_INPUT;
            }
        }
        try (StepBackend b = steps) {
            return new ConformanceRunner(
                            spec.commandLine().getOut(), spec.commandLine().getErr(), output, b)
                    .run(paths);
        }
    }
}
