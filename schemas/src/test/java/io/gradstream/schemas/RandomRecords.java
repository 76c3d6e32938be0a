package io.gradstream.schemas;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.IndexedRecord;

/** Random generic data for any Avro schema, and a normal form to compare generic with specific values. */
final class RandomRecords {
    private RandomRecords() {}

    static Object generate(Schema s, Random rnd, int depth) {
        switch (s.getType()) {
            case RECORD: {
                GenericData.Record r = new GenericData.Record(s);
                for (Schema.Field f : s.getFields()) {
                    r.put(f.name(), generate(f.schema(), rnd, depth + 1));
                }
                return r;
            }
            case ENUM:
                return new GenericData.EnumSymbol(
                        s, s.getEnumSymbols().get(rnd.nextInt(s.getEnumSymbols().size())));
            case ARRAY: {
                int n = depth > 3 ? 0 : rnd.nextInt(3);
                List<Object> l = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    l.add(generate(s.getElementType(), rnd, depth + 1));
                }
                return new GenericData.Array<>(s, l);
            }
            case MAP: {
                Map<String, Object> m = new HashMap<>();
                for (int i = 0; i < rnd.nextInt(3); i++) {
                    m.put("k" + rnd.nextInt(100), generate(s.getValueType(), rnd, depth + 1));
                }
                return m;
            }
            case UNION: {
                List<Schema> types = s.getTypes();
                return generate(types.get(depth > 3 ? 0 : rnd.nextInt(types.size())), rnd, depth + 1);
            }
            case STRING:
                return "s" + rnd.nextInt(1000);
            case BYTES: {
                byte[] b = new byte[rnd.nextInt(8)];
                rnd.nextBytes(b);
                return ByteBuffer.wrap(b);
            }
            case INT:
                return rnd.nextInt();
            case LONG:
                return rnd.nextLong();
            case DOUBLE:
                return rnd.nextDouble();
            case FLOAT:
                return rnd.nextFloat();
            case BOOLEAN:
                return rnd.nextBoolean();
            case NULL:
                return null;
            default:
                throw new IllegalArgumentException("unsupported " + s.getType());
        }
    }

    /** Generic and specific records, enums, strings and buffers as plain comparable Java values. */
    static Object normalize(Object v) {
        if (v instanceof IndexedRecord r) {
            Map<String, Object> m = new HashMap<>();
            for (Schema.Field f : r.getSchema().getFields()) {
                m.put(f.name(), normalize(r instanceof GenericRecord g ? g.get(f.name()) : r.get(f.pos())));
            }
            return m;
        }
        if (v instanceof Map<?, ?> map) {
            Map<String, Object> m = new HashMap<>();
            map.forEach((k, x) -> m.put(k.toString(), normalize(x)));
            return m;
        }
        if (v instanceof List<?> list) {
            List<Object> l = new ArrayList<>();
            list.forEach(x -> l.add(normalize(x)));
            return l;
        }
        if (v instanceof ByteBuffer b) {
            ByteBuffer d = b.duplicate();
            d.rewind();
            byte[] out = new byte[d.remaining()];
            d.get(out);
            return java.util.Arrays.toString(out);
        }
        if (v instanceof CharSequence || v instanceof Enum<?> || v instanceof GenericData.EnumSymbol) {
            return v.toString();
        }
        return v;
    }
}
