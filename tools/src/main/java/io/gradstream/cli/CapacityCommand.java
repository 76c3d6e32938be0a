package io.gradstream.cli;

import io.gradstream.client.GradientEncoding;
import io.gradstream.core.codec.Encoding;
import io.gradstream.ops.capacity.CapacityModel;
import io.gradstream.ops.capacity.CapacityModel.Deployment;
import io.gradstream.ops.capacity.CapacityModel.Plan;
import io.gradstream.ops.capacity.CapacityModel.Workload;
import io.gradstream.ops.capacity.Rates;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gradstream capacity}: the task slots, TaskManagers, Kafka partitions and brokers, state memory and checkpoint
 * traffic a model needs at a step rate, from the per-element costs measured by this project's benchmarks
 * (docs/scaling.md explains the model).
 */
@Command(
        name = "capacity",
        mixinStandardHelpOptions = true,
        description = {
            "Sizes a deployment for a model: task slots and TaskManagers (from the measured cost of moving, decoding, "
                    + "stepping and encoding one element), partitions and brokers (from the bytes per second on "
                    + "gradients and parameters), state memory and the backend, and checkpoint traffic. "
                    + "Every line shows its arithmetic; docs/scaling.md explains the model and its measured inputs.",
            "Example: gradstream capacity --parameters 1e9 --steps-per-second 10 --encoding bf16"
        },
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:computed", "2:invalid option value"})
final class CapacityCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--parameters", description = "Parameters of the model (e.g. 1e9).")
    Double parameters;

    @Option(names = "--steps-per-second", description = "Optimizer steps per second to sustain.")
    Double stepsPerSecond;

    @Option(
            names = "--table",
            description = "Print the table of docs/scaling.md instead: Adam at 10 M, 1 G and 10 G parameters, 1, 10 "
                    + "and 100 steps/s, FP32 and BF16 (with the deployment and rate options given).")
    boolean table;

    @Option(names = "--optimizer", defaultValue = "Adam", description = "torch.optim name (default: ${DEFAULT-VALUE}).")
    String optimizer;

    @Option(
            names = "--encoding",
            defaultValue = "fp32",
            description = "Gradients' encoding: fp32, bf16, fp16, int8 or topk:FRACTION (default: ${DEFAULT-VALUE}).")
    String encoding;

    @Option(
            names = "--output-encoding",
            description = "Parameters' encoding, as --encoding (default: the gradients'; full snapshots are never "
                    + "sparse, so topk means FP32 snapshots unless --delta-stream).")
    String outputEncoding;

    @Option(names = "--delta-stream", description = "Publish compressed deltas instead of full snapshots.")
    boolean deltaStream;

    @Option(
            names = "--contributions",
            defaultValue = "1",
            description = "Contributions per step (SYNC workers; default: ${DEFAULT-VALUE}).")
    int contributions;

    @Option(
            names = "--shard-size",
            defaultValue = "65536",
            description = "Elements per shard (default: ${DEFAULT-VALUE}).")
    int shardSize;

    @Option(names = "--cores-per-taskmanager", defaultValue = "8", description = "Default: ${DEFAULT-VALUE}.")
    int cores;

    @Option(
            names = "--replication",
            defaultValue = "3",
            description = "Kafka replication factor (default: ${DEFAULT-VALUE}).")
    int replication;

    @Option(
            names = "--checkpoint-interval",
            defaultValue = "10",
            description = "Seconds between checkpoints (default: ${DEFAULT-VALUE}).")
    double checkpointInterval;

    @Option(
            names = "--drain-mbps",
            description = "Your own FP32 Adam `bench pipeline` drain rate at p = 1, MB/s (default: this project's, "
                    + "548.5).")
    Double drainMbps;

    @Option(
            names = "--bf16-speed-up",
            description = "Your own `bench pipeline --encoding fp32,bf16` ratio of BF16 to FP32 steps/s (default: this "
                    + "project's, 1.63).")
    Double bf16SpeedUp;

    @Option(
            names = "--partition-mbps",
            defaultValue = "184",
            description = "What one partition takes from a producer, MB/s (default: ${DEFAULT-VALUE}, measured here).")
    double partitionMbps;

    @Option(
            names = "--broker-mbps",
            defaultValue = "184",
            description = "What one broker writes, replicas included, MB/s (default: ${DEFAULT-VALUE}: one broker "
                    + "on this project's 2-vCPU machine; use your cluster's).")
    double brokerMbps;

    @Option(names = "--checkpoint-mbps", description = "Checkpoint write rate per TaskManager, MB/s (default: 200).")
    Double checkpointMbps;

    @Override
    public Integer call() {
        PrintWriter printer = spec.commandLine().getOut();
        try {
            Rates rates = Rates.measured(
                            drainMbps == null ? Rates.DRAIN_BYTES_PER_SECOND : drainMbps * 1e6,
                            bf16SpeedUp == null ? Rates.BF16_SPEED_UP : bf16SpeedUp,
                            checkpointMbps == null ? Rates.CHECKPOINT_BYTES_PER_SECOND : checkpointMbps * 1e6)
                    .withKafka(partitionMbps * 1e6, brokerMbps * 1e6);
            Deployment deployment = new Deployment(cores, replication, checkpointInterval, 32L << 30);
            CapacityModel model = new CapacityModel(rates);
            if (table) {
                printer.print(model.table(CapacityModel.standardWorkloads(), deployment));
                printer.flush();
                return 0;
            }
            if (parameters == null || stepsPerSecond == null) {
                throw new IllegalArgumentException("give --parameters and --steps-per-second (or --table)");
            }
            GradientEncoding in = GradientEncoding.parse(encoding);
            GradientEncoding out = outputEncoding == null ? in : GradientEncoding.parse(outputEncoding);
            double fraction =
                    in.encoding() == io.gradstream.schemas.Encoding.TOPK ? in.topKFraction() : out.topKFraction();
            Workload w = new Workload(
                    Math.round(parameters),
                    stepsPerSecond,
                    optimizer,
                    Encoding.valueOf(in.encoding().name()),
                    Encoding.valueOf(out.encoding().name()),
                    fraction,
                    contributions,
                    shardSize,
                    deltaStream);
            Plan plan = model.plan(w, deployment);
            plan.explain().forEach(printer::println);
            printer.flush();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
        return 0;
    }
}
