package io.gradstream.ops.model;

import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.ScheduleSpec;
import io.gradstream.schemas.WorkerKey;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Builds control commands and writes them to the control topic, keyed by the model id (the job refuses a command
 * filed under another key), waiting for the brokers' acknowledgement of all in-sync replicas.
 */
public final class ControlSender {
    private ControlSender() {}

    /** A CREATE of {@code d}. */
    public static ControlCommand create(ModelDefinition d, long now) {
        return ControlCommand.newBuilder()
                .setModelId(d.modelId())
                .setType(CommandType.CREATE)
                .setSpec(d.spec())
                .setWorkers(d.workers())
                .setCompression(d.compression())
                .setPrivacyAccounting(d.privacyAccounting())
                .setIssuedAtMs(now)
                .build();
    }

    /**
     * An UPDATE_HYPERPARAMETERS: the values to change, a new schedule (null keeps the model's) and a new worker list
     * (null keeps the model's).
     */
    public static ControlCommand update(
            String model,
            Map<String, Object> hyperparameters,
            ScheduleSpec schedule,
            Map<String, WorkerKey> workers,
            long now) {
        return ControlCommand.newBuilder()
                .setModelId(model)
                .setType(CommandType.UPDATE_HYPERPARAMETERS)
                .setHyperparameters(hyperparameters)
                .setLrSchedule(schedule)
                .setWorkers(workers)
                .setIssuedAtMs(now)
                .build();
    }

    /** A PAUSE, RESUME, DELETE or SNAPSHOT. */
    public static ControlCommand of(String model, CommandType type, long now) {
        if (type == CommandType.CREATE || type == CommandType.UPDATE_HYPERPARAMETERS) {
            throw new IllegalArgumentException(type + " needs a spec or values; use create or update");
        }
        return ControlCommand.newBuilder()
                .setModelId(model)
                .setType(type)
                .setIssuedAtMs(now)
                .build();
    }

    /**
     * Writes {@code command} to the control topic and waits for it to be acknowledged.
     *
     * @return where it was written
     * @throws IllegalStateException with Kafka's reason when it was not written within a minute
     */
    public static RecordMetadata send(ModelTarget target, ControlCommand command) {
        Map<String, Object> c = new HashMap<>(target.client());
        c.put(ProducerConfig.ACKS_CONFIG, "all");
        c.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
        c.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
        c.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        c.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "gradstream-cli");
        byte[] value = new AvroRecords<>(ControlCommand.class).encode(command);
        try (var producer = new KafkaProducer<>(c, new ByteArraySerializer(), new ByteArraySerializer())) {
            return producer.send(new ProducerRecord<>(
                            target.topics().control(), command.getModelId().getBytes(StandardCharsets.UTF_8), value))
                    .get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException(
                    "could not write to topic " + target.topics().control() + ": "
                            + e.getCause().getMessage(),
                    e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException(
                    "could not write to topic " + target.topics().control() + " within 60 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(
                    "interrupted while writing to " + target.topics().control());
        } catch (org.apache.kafka.common.KafkaException e) {
            throw new IllegalStateException(
                    "could not write to topic " + target.topics().control() + ": " + e.getMessage(), e);
        }
    }
}
