package io.gradstream.kafka;

import io.gradstream.operators.RawRecord;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.StatusEvent;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.TypeExtractor;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.TopicConfig;

/**
 * gradstream's Kafka sources and sinks. Sources hand on raw bytes with topic/partition/offset (decoding happens in
 * the operators, so undecodable input reaches the rejected topic unchanged); sinks write raw Avro binary keyed by
 * {@code model/tensor/shard}. Sources read committed data only, so an upstream transactional producer's aborted
 * writes are never applied.
 */
public final class KafkaIo {
    private KafkaIo() {}

    /** Reads {@code topic} from the earliest offset on a fresh start, from the checkpoint after a restore. */
    public static KafkaSource<RawRecord> source(KafkaSettings s, String topic) {
        Properties p = new Properties();
        p.setProperty("max.partition.fetch.bytes", String.valueOf(8 << 20));
        p.setProperty("partition.discovery.interval.ms", "10000");
        p.putAll(s.clientProperties()); // security settings, and tuning that replaces the defaults above
        return KafkaSource.<RawRecord>builder()
                .setProperties(p)
                .setBootstrapServers(s.bootstrapServers())
                .setGroupId(s.groupId())
                .setTopics(topic)
                .setStartingOffsets(OffsetsInitializer.committedOffsets(
                        org.apache.kafka.clients.consumer.OffsetResetStrategy.EARLIEST))
                .setDeserializer(new RawRecordDeserializer())
                .setProperty("isolation.level", "read_committed")
                .build();
    }

    public static KafkaSink<ParameterUpdate> parameterSink(KafkaSettings s) {
        return sink(
                s, new KeyedAvroSerializer<>(s.parametersTopic(), ParameterUpdate.class, KafkaIo::shardKey), "params");
    }

    public static KafkaSink<RejectedRecord> rejectedSink(KafkaSettings s) {
        return sink(
                s,
                new KeyedAvroSerializer<>(s.rejectedTopic(), RejectedRecord.class, KafkaIo::originalKey),
                "rejected");
    }

    public static KafkaSink<StatusEvent> statusSink(KafkaSettings s) {
        return sink(
                s,
                new KeyedAvroSerializer<>(
                        s.statusTopic(),
                        StatusEvent.class,
                        e -> e.getModelId().getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                "status");
    }

    private static <T> KafkaSink<T> sink(KafkaSettings s, KafkaRecordSerializationSchema<T> serializer, String name) {
        Properties p = new Properties();
        p.setProperty(
                "transaction.timeout.ms", String.valueOf(s.transactionTimeout().toMillis()));
        p.setProperty("batch.size", String.valueOf(1 << 20));
        p.setProperty("linger.ms", "5");
        p.setProperty("max.request.size", String.valueOf(16 << 20));
        p.putAll(s.clientProperties());
        var b = KafkaSink.<T>builder()
                .setBootstrapServers(s.bootstrapServers())
                .setRecordSerializer(serializer)
                .setKafkaProducerConfig(p)
                .setDeliveryGuarantee(s.delivery());
        if (s.delivery() == DeliveryGuarantee.EXACTLY_ONCE) {
            b.setTransactionalIdPrefix(s.transactionalIdPrefix() + "-" + name);
        }
        return b.build();
    }

    /** Topic settings for the parameters topic: compacted, so the newest version of every shard stays. */
    public static java.util.Map<String, String> parametersTopicConfig() {
        return java.util.Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG,
                TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG,
                String.valueOf(16 << 20));
    }

    static final class RawRecordDeserializer implements KafkaRecordDeserializationSchema<RawRecord> {
        private static final long serialVersionUID = 1L;

        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> r, Collector<RawRecord> out) {
            RawRecord raw = new RawRecord(r.key(), r.value(), r.topic(), r.partition(), r.offset());
            // A worker's signature, if any; admission checks it when the record's model names its workers.
            for (org.apache.kafka.common.header.Header h :
                    r.headers().headers(io.gradstream.core.auth.RecordSignature.HEADER)) {
                raw.addSignatureHeader(h.value());
            }
            out.collect(raw);
        }

        @Override
        @SuppressWarnings("unchecked")
        public TypeInformation<RawRecord> getProducedType() {
            return (TypeInformation<RawRecord>) TypeExtractor.createTypeInfo(RawRecord.class);
        }
    }

    /** Raw Avro values under a key taken from the record (the shard key, or a rejection's original key). */
    static final class KeyedAvroSerializer<T extends org.apache.avro.specific.SpecificRecordBase>
            implements KafkaRecordSerializationSchema<T> {
        private static final long serialVersionUID = 1L;
        private final String topic;
        private final Class<T> type;
        private final org.apache.flink.util.function.SerializableFunction<T, byte[]> key;
        private transient AvroRecords<T> avro;

        KeyedAvroSerializer(
                String topic, Class<T> type, org.apache.flink.util.function.SerializableFunction<T, byte[]> key) {
            this.topic = topic;
            this.type = type;
            this.key = key;
        }

        @Override
        public void open(SerializationSchema.InitializationContext c, KafkaSinkContext s) {
            avro = new AvroRecords<>(type);
        }

        @Override
        public ProducerRecord<byte[], byte[]> serialize(T record, KafkaSinkContext c, Long timestamp) {
            // A full parameter update leaves byte for byte as release 0.2.0 wrote it, so older subscribers read it.
            return new ProducerRecord<>(topic, key.apply(record), avro.encodeCompact(record));
        }
    }

    static byte[] shardKey(ParameterUpdate u) {
        return (u.getModelId() + "/" + u.getTensor() + "/" + u.getShard()).getBytes(StandardCharsets.UTF_8);
    }

    static byte[] originalKey(RejectedRecord r) {
        ByteBuffer k = r.getOriginalKey();
        if (k == null) {
            return null;
        }
        ByteBuffer d = k.duplicate();
        byte[] key = new byte[d.remaining()];
        d.get(key);
        return key;
    }
}
