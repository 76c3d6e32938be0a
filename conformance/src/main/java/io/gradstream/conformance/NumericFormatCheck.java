package io.gradstream.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradstream.core.codec.Bf16;
import io.gradstream.core.codec.Fp16;
import io.gradstream.core.codec.Int8BlockCodec;

/**
 * Checks the payload codecs against the numeric-format vectors ({@code numeric_formats/*.json}) bit for bit: a single
 * differing bit fails the file. NaN payloads are not normative, so NaN results are only required to be NaN of the
 * same sign. The reported error is the largest relative difference of decoded values (0 when bit-exact).
 */
final class NumericFormatCheck {

    private NumericFormatCheck() {}

    static boolean accepts(JsonNode root) {
        JsonNode cases = root.get("cases");
        boolean halfCases = cases != null
                && cases.isArray()
                && cases.size() > 0
                && (cases.get(0).has("f16_bits") || cases.get(0).has("bf16_bits"));
        boolean int8 = root.has("vectors")
                && root.get("vectors").isArray()
                && root.get("vectors").size() > 0
                && root.get("vectors").get(0).has("scales");
        return halfCases || int8;
    }

    static Verdict run(JsonNode root) throws ReferenceFormatException {
        if (root.has("vectors")) {
            return int8(root);
        }
        boolean bf16 = root.get("cases").get(0).has("bf16_bits");
        return half(root, bf16);
    }

    private static Verdict half(JsonNode root, boolean bf16) throws ReferenceFormatException {
        String prefix = bf16 ? "bf16" : "f16";
        ObjectNode computed = root.deepCopy();
        ArrayNode outCases = (ArrayNode) computed.get("cases");
        int mismatches = 0;
        double maxError = 0;
        for (int c = 0; c < root.get("cases").size(); c++) {
            JsonNode cs = root.get("cases").get(c);
            String id = cs.has("id") ? cs.get("id").asText() : "case " + c;
            int f32Bits = (int) Json.hexBits(Json.field(cs, "f32_bits"), id + ".f32_bits");
            int wantBits = (int) Json.hexBits(Json.field(cs, prefix + "_bits"), id + "." + prefix + "_bits");
            float input = Float.intBitsToFloat(f32Bits);
            short got = bf16 ? Bf16.fromFloat(input) : Fp16.fromFloat(input);
            float gotValue = bf16 ? Bf16.toFloat(got) : Fp16.toFloat(got);
            float wantValue = bf16 ? Bf16.toFloat((short) wantBits) : Fp16.toFloat((short) wantBits);
            boolean ok;
            if (Float.isNaN(wantValue) || Float.isNaN(input)) {
                ok = Float.isNaN(gotValue)
                        && (Float.floatToRawIntBits(gotValue) < 0) == (Float.floatToRawIntBits(input) < 0);
            } else {
                ok = (got & 0xFFFF) == (wantBits & 0xFFFF);
                double diff = Math.abs((double) gotValue - wantValue);
                if (diff > 0) {
                    maxError = Math.max(
                            maxError,
                            Double.isNaN(diff) || Double.isInfinite(diff)
                                    ? Double.POSITIVE_INFINITY
                                    : diff / Math.max(Math.abs(wantValue), Float.MIN_VALUE));
                }
            }
            // Back-conversion of the reference bits must be exact too (it is what decode does).
            if (cs.has(prefix + "_to_f32_bits") && !Float.isNaN(wantValue)) {
                int back = (int) Json.hexBits(cs.get(prefix + "_to_f32_bits"), id + "." + prefix + "_to_f32_bits");
                ok &= Float.floatToRawIntBits(wantValue) == back;
            }
            if (!ok) {
                mismatches++;
            }
            ObjectNode out = (ObjectNode) outCases.get(c);
            out.put(prefix + "_bits", String.format("0x%04x", got & 0xFFFF));
            out.set(prefix + "_value", Json.numberNode(gotValue));
            out.put(prefix + "_to_f32_bits", String.format("0x%08x", Float.floatToRawIntBits(gotValue)));
        }
        int n = root.get("cases").size();
        String detail = (bf16 ? "BF16" : "FP16") + ", " + n + " cases, "
                + (mismatches == 0 ? "all bit-exact" : mismatches + " mismatched");
        ObjectNode meta = computed.putObject("gradstream");
        meta.put("mismatches", mismatches);
        return Verdict.judge(maxError, 0, mismatches == 0, detail, computed);
    }

    private static Verdict int8(JsonNode root) throws ReferenceFormatException {
        ObjectNode computed = root.deepCopy();
        ArrayNode outVectors = (ArrayNode) computed.get("vectors");
        int mismatches = 0;
        int elements = 0;
        double maxError = 0;
        for (int v = 0; v < root.get("vectors").size(); v++) {
            JsonNode vec = root.get("vectors").get(v);
            String name = vec.has("name") ? vec.get("name").asText() : "vector " + v;
            float[] x = Json.floats(Json.field(vec, "x"), name + ".x");
            if (vec.has("block_size") && vec.get("block_size").asInt() != Int8BlockCodec.BLOCK_SIZE) {
                throw new ReferenceFormatException(
                        name + ": block_size " + vec.get("block_size").asInt() + " is not supported (INT8_BLOCK uses "
                                + Int8BlockCodec.BLOCK_SIZE + ")");
            }
            int blocks = (x.length + Int8BlockCodec.BLOCK_SIZE - 1) / Int8BlockCodec.BLOCK_SIZE;
            float[] scales = new float[blocks];
            byte[] q = new byte[x.length];
            float[] deq = new float[x.length];
            Int8BlockCodec.quantize(x, 0, x.length, scales, q);
            Int8BlockCodec.dequantize(scales, q, deq);
            double[] wantScales = Json.numbers(Json.field(vec, "scales"), name + ".scales");
            double[] wantQ = Json.numbers(Json.field(vec, "q"), name + ".q");
            double[] wantDeq = Json.numbers(Json.field(vec, "dequantized"), name + ".dequantized");
            if (wantScales.length != blocks || wantQ.length != x.length || wantDeq.length != x.length) {
                throw new ReferenceFormatException(name + ": scales/q/dequantized lengths do not match x");
            }
            for (int b = 0; b < blocks; b++) {
                if (Float.floatToRawIntBits(scales[b]) != Float.floatToRawIntBits((float) wantScales[b])) {
                    mismatches++;
                }
            }
            double[] qOut = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                qOut[i] = q[i];
                boolean same = q[i] == wantQ[i]
                        && Float.floatToRawIntBits(deq[i]) == Float.floatToRawIntBits((float) wantDeq[i]);
                if (!same) {
                    mismatches++;
                    double scale = Math.max(Math.abs(wantDeq[i]), wantScales[i / Int8BlockCodec.BLOCK_SIZE]);
                    maxError = Math.max(maxError, Math.abs(deq[i] - wantDeq[i]) / Math.max(scale, Float.MIN_VALUE));
                }
            }
            elements += x.length;
            ObjectNode out = (ObjectNode) outVectors.get(v);
            out.set("scales", Json.array(scales));
            ArrayNode qNode = out.putArray("q");
            for (double qi : qOut) {
                qNode.add((int) qi);
            }
            out.set("dequantized", Json.array(deq));
        }
        String detail = "INT8 block " + Int8BlockCodec.BLOCK_SIZE + ", "
                + root.get("vectors").size() + " vectors, " + elements + " elements, "
                + (mismatches == 0 ? "all bit-exact" : mismatches + " mismatched");
        ObjectNode meta = computed.putObject("gradstream");
        meta.put("mismatches", mismatches);
        return Verdict.judge(maxError, 0, mismatches == 0, detail, computed);
    }
}
