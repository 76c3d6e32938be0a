package io.gradstream.cli;

import io.gradstream.ops.export.Exporter;
import io.gradstream.ops.export.ParameterSnapshot;
import io.gradstream.ops.export.TensorFiles;
import io.gradstream.ops.model.ModelDefinition;
import io.gradstream.ops.model.SpecFiles;
import io.gradstream.ops.model.TopicReader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code gradstream export}: a model's parameters from the parameters topic into a safetensors or npz file. */
@Command(
        name = "export",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Writes a model's parameters, reassembled from its shards on the parameters topic, to a file PyTorch or "
                    + "NumPy loads directly: safetensors (safetensors.torch.load_file) or npz (numpy.load), float32, "
                    + "tensors by name.",
            "Takes every shard's newest version; refuses when they differ (a step in progress, an ASYNC model) unless "
                    + "--version V names one every shard still holds, or --mixed accepts each shard's newest. The "
                    + "parameters topic is compacted: it keeps only the newest record of each shard, so an older "
                    + "version may no longer exist; then nothing is written.",
            "The file is written beside FILE and renamed into place when complete (owner-only permissions): a "
                    + "refusal or failure leaves nothing.",
            "Principals of 'gradstream local --secure': credentials/admin.properties reads everything; "
                    + "credentials/worker.properties reads parameters but not control, so pass --spec with the "
                    + "model's spec file for its layout.",
            "Exit status: 0 written, 1 refused (unknown model, version gone, mixed versions) or failed, 2 invalid "
                    + "input."
        })
final class ExportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "The model id.")
    String model;

    @Option(names = "--format", required = true, paramLabel = "FORMAT", description = "safetensors or npz.")
    String format;

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "The file to write.")
    Path output;

    @Option(names = "--version", paramLabel = "V", description = "The version to export (default: the newest).")
    Long version;

    @Option(names = "--mixed", description = "Accept shards at different versions (recorded in the metadata).")
    boolean mixed;

    @Option(names = "--force", description = "Replace FILE if it exists.")
    boolean force;

    @Option(
            names = "--spec",
            paramLabel = "FILE",
            description = "The model's spec file, for the layout of its tensors when --kafka-config's principal "
                    + "may not read the control topic.")
    Path specFile;

    @Mixin
    KafkaOptions kafka;

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        try {
            TensorFiles.Format f;
            try {
                f = TensorFiles.Format.valueOf(format.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                err.println("gradstream export: --format must be safetensors or npz, got '" + format + "'");
                return 2;
            }
            if (version != null && version < 0) {
                err.println("gradstream export: --version must not be negative, got " + version);
                return 2;
            }
            if (version != null && mixed) {
                err.println("gradstream export: --version and --mixed exclude each other");
                return 2;
            }
            ModelDefinition d = specFile == null ? null : SpecFiles.read(specFile);
            var target = kafka.target(null);
            Exporter.Result r = Exporter.export(
                    target,
                    new Exporter.Request(model, d == null ? null : d.spec(), f, output, version, mixed, force),
                    kafka.bounds());
            out.printf(
                    Locale.ROOT,
                    "exported model %s %s: %d tensors, %d parameters, %d bytes to %s (%s)%n",
                    model,
                    r.version() < 0 ? "at mixed versions" : "version " + r.version(),
                    r.tensors(),
                    r.elements(),
                    r.bytes(),
                    output,
                    f.name().toLowerCase(Locale.ROOT));
            return 0;
        } catch (ParameterSnapshot.RefusedException | TopicReader.TopicException e) {
            err.println("gradstream export: " + e.getMessage() + "; nothing written");
            return 1;
        } catch (IllegalArgumentException | IOException e) {
            err.println("gradstream export: " + e.getMessage() + "; nothing written");
            return 2;
        } finally {
            out.flush();
            err.flush();
        }
    }
}
