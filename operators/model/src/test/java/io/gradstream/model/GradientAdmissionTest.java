package io.gradstream.model;

import static io.gradstream.model.ModelRecords.SMALL;
import static io.gradstream.model.ModelRecords.bytes;
import static io.gradstream.model.ModelRecords.fp32;
import static io.gradstream.model.ModelRecords.gradient;
import static io.gradstream.model.ModelRecords.key;
import static io.gradstream.model.ModelRecords.payload;
import static io.gradstream.model.ModelRecords.range;
import static io.gradstream.model.ModelRecords.spec;
import static io.gradstream.model.ModelRecords.tensor;
import static io.gradstream.model.ModelRecords.varint;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.core.shard.Contribution;
import io.gradstream.core.shard.RejectCode;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.model.GradientAdmission.Admission;
import io.gradstream.model.GradientAdmission.Contribute;
import io.gradstream.model.GradientAdmission.Decoded;
import io.gradstream.model.GradientAdmission.Initialize;
import io.gradstream.model.GradientAdmission.Parsed;
import io.gradstream.model.GradientAdmission.Refused;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.TensorPayload;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Admission of gradient records: {@code decode} refuses what a record says wrongly about itself, {@code admit} what
 * does not fit its model; both end in a value, never in an exception, whatever the bytes are.
 */
class GradientAdmissionTest {

    /** Tensor w [10, 10] in shards of 64 (lengths 64 and 36) and tensor b [3]. */
    private static final ModelConfig ZEROS = ModelConfig.of(
            "m", spec(InitRule.ZEROS, 64, tensor("w", 10, 10), tensor("b", 3)), "control-0@0", SMALL, name -> null);

    private static final ModelConfig EXPLICIT = ModelConfig.of(
            "m", spec(InitRule.EXPLICIT, 64, tensor("w", 10, 10), tensor("b", 3)), "control-0@1", SMALL, name -> null);

    private final GradientAdmission admission = new GradientAdmission(SMALL);

    private Decoded decode(GradientBatch b) {
        return admission.decode(key(b), bytes(b));
    }

    private Parsed parse(GradientBatch b) {
        Decoded d = decode(b);
        assertThat(d).isInstanceOf(Parsed.class);
        return (Parsed) d;
    }

    private static Refused refused(Object result, RejectCode code) {
        assertThat(result).isInstanceOf(Refused.class);
        Refused r = (Refused) result;
        assertThat(r.code()).as(r.detail()).isEqualTo(code);
        return r;
    }

    private Admission admit(GradientBatch b, ModelConfig config) {
        return admission.admit(parse(b), config);
    }

    private static GradientBatch w0(float[] values) {
        return gradient("m", "w", 0, fp32(values)).build();
    }

    // ---- decode ----

    @Test
    void aValidRecordIsParsedWithItsShardKey() {
        GradientBatch b = gradient("m", "w", 1, fp32(range(36, 0.5f))).build();
        Parsed p = parse(b);
        assertThat(p.key()).isEqualTo(new ShardKey("m", "w", 1));
        assertThat(p.batch()).isEqualTo(b);
    }

    @Test
    void aRecordAboveRecordBytesIsTooLargeBeforeDecoding() {
        // Garbage: had it been decoded it would be UNDECODABLE; the size check comes first.
        byte[] big = new byte[SMALL.recordBytes() + 1];
        Arrays.fill(big, (byte) 0xff);
        Refused r = refused(admission.decode("m/w/0", big), RejectCode.TOO_LARGE);
        assertThat(r.detail()).contains("gradstream.limits.record-bytes").contains(String.valueOf(big.length));
        assertThat(r.model()).isNull();
    }

    @Test
    void aRecordOfExactlyRecordBytesIsDecoded() {
        byte[] atLimit = new byte[SMALL.recordBytes()];
        Arrays.fill(atLimit, (byte) 0xff);
        refused(admission.decode("m/w/0", atLimit), RejectCode.UNDECODABLE);

        // A valid record padded by its payload to exactly the limit is accepted.
        GradientBatch small = w0(new float[64]);
        int room = SMALL.recordBytes() - bytes(small).length;
        GradientBatch padded = null;
        for (int extra = room - 8; extra <= room; extra++) { // the bytes length varint may grow by a byte
            byte[] data = new byte[64 * 4 + extra];
            GradientBatch candidate =
                    gradient("m", "w", 0, payload(Encoding.FP32, 64, data)).build();
            if (bytes(candidate).length == SMALL.recordBytes()) {
                padded = candidate;
            }
        }
        assertThat(padded).isNotNull();
        assertThat(decode(padded)).isInstanceOf(Parsed.class);
    }

    @Test
    void garbageIsUndecodable() {
        Random random = new Random(42);
        for (int i = 0; i < 200; i++) {
            byte[] garbage = new byte[random.nextInt(1, 300)];
            random.nextBytes(garbage);
            Decoded d = admission.decode("m/w/0", garbage);
            Refused r = refused(d, RejectCode.UNDECODABLE);
            assertThat(r.model()).isNull();
            assertThat(r.detail()).startsWith("not a GradientBatch");
        }
        refused(admission.decode("m/w/0", new byte[0]), RejectCode.UNDECODABLE);
        refused(admission.decode("m/w/0", null), RejectCode.UNDECODABLE);
    }

    @Test
    void aStringDeclaringTwoToTheThirtyOneBytesIsUndecodable() {
        byte[] bomb = varint(1L << 31); // the modelId's length
        Refused r = refused(admission.decode("m/w/0", bomb), RejectCode.UNDECODABLE);
        assertThat(r.detail()).contains(String.valueOf(1L << 31));

        // The same within an otherwise valid prefix: the workerId declares 2^31 bytes.
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(varint(1));
        out.write('m');
        out.writeBytes(varint(1));
        out.write('w');
        out.writeBytes(varint(0)); // shard
        out.writeBytes(varint(1L << 31)); // workerId
        out.writeBytes(new byte[16]);
        refused(admission.decode("m/w/0", out.toByteArray()), RejectCode.UNDECODABLE);
    }

    @Test
    void trailingBytesAfterAValidRecordAreUndecodable() {
        byte[] valid = bytes(w0(new float[64]));
        byte[] longer = Arrays.copyOf(valid, valid.length + 1);
        refused(admission.decode("m/w/0", longer), RejectCode.UNDECODABLE);
        byte[] truncated = Arrays.copyOf(valid, valid.length - 1);
        refused(admission.decode("m/w/0", truncated), RejectCode.UNDECODABLE);
    }

    @Test
    void aKeyOtherThanTheValuesModelTensorShardIsRefused() {
        GradientBatch b = w0(new float[64]);
        for (String wrong : new String[] {"m/w/1", "m/v/0", "n/w/0", "m/w/0 ", "", "m/w"}) {
            Refused r = refused(admission.decode(wrong, bytes(b)), RejectCode.OTHER);
            assertThat(r.detail()).contains("does not match").contains("m/w/0");
            assertThat(r.model()).isNull();
        }
    }

    @Test
    void aNullKeyIsRefused() {
        refused(admission.decode(null, bytes(w0(new float[64]))), RejectCode.OTHER);
    }

    @Test
    void aHugeKeyIsShortenedInTheDetail() {
        String key = "k".repeat(100_000);
        Refused r = refused(admission.decode(key, bytes(w0(new float[64]))), RejectCode.OTHER);
        assertThat(r.detail().length()).isLessThan(1000);
        assertThat(r.detail()).contains("100000 characters");
    }

    @Test
    void namesWithSlashesOrControlCharactersAreRefused() {
        for (String[] names : new String[][] {
            {"a/b", "w"}, {"m", "w/x"}, {"m\u0000", "w"}, {"m", "w\n"}, {"m", "\u007f"}, {"", "w"}, {"m", ""}
        }) {
            GradientBatch b =
                    gradient(names[0], names[1], 0, fp32(new float[64])).build();
            Refused r = refused(decode(b), RejectCode.OTHER);
            assertThat(r.detail()).containsAnyOf("must not contain '/' or control characters", "must not be empty");
        }
    }

    @Test
    void namesLongerThanNameLengthAreRefused() {
        String longest = "x".repeat(SMALL.nameLength());
        String tooLong = longest + "x";
        assertThat(decode(gradient(longest, longest, 0, fp32(new float[64])).build()))
                .isInstanceOf(Parsed.class);
        for (String[] names : new String[][] {{tooLong, "w"}, {"m", tooLong}}) {
            Refused r = refused(
                    decode(gradient(names[0], names[1], 0, fp32(new float[64])).build()), RejectCode.OTHER);
            assertThat(r.detail()).contains("gradstream.limits.name-length = " + SMALL.nameLength());
        }
    }

    @Test
    void aNegativeShardIsRefused() {
        refused(decode(gradient("m", "w", -1, fp32(new float[64])).build()), RejectCode.OTHER);
    }

    @Test
    void anEmptyOrTooLongWorkerIdIsRefused() {
        String longest = "x".repeat(SMALL.nameLength());
        assertThat(decode(gradient("m", "w", 0, fp32(new float[64]))
                        .setWorkerId(longest)
                        .build()))
                .isInstanceOf(Parsed.class);
        for (String worker : new String[] {"", longest + "x"}) {
            Refused r = refused(
                    decode(gradient("m", "w", 0, fp32(new float[64]))
                            .setWorkerId(worker)
                            .build()),
                    RejectCode.OTHER);
            assertThat(r.detail()).contains("workerId").contains("gradstream.limits.name-length");
            assertThat(r.model()).isEqualTo("m");
        }
    }

    @Test
    void numExamplesAboveTheLimitIsAnInvalidExampleCount() {
        GradientBatch atLimit = gradient("m", "w", 0, fp32(new float[64]))
                .setNumExamples(SMALL.examples())
                .build();
        assertThat(decode(atLimit)).isInstanceOf(Parsed.class);
        for (long n : new long[] {SMALL.examples() + 1, Long.MAX_VALUE}) {
            Refused r = refused(
                    decode(gradient("m", "w", 0, fp32(new float[64]))
                            .setNumExamples(n)
                            .build()),
                    RejectCode.INVALID_EXAMPLE_COUNT);
            assertThat(r.detail()).contains(String.valueOf(n)).contains("gradstream.limits.examples");
            assertThat(r.model()).isEqualTo("m");
        }
        // The lower bound depends on the model's privacy unit (0 is valid for EXAMPLE), so the stepper checks it.
        assertThat(decode(gradient("m", "w", 0, fp32(new float[64]))
                        .setNumExamples(0)
                        .build()))
                .isInstanceOf(Parsed.class);
    }

    // ---- admit ----

    @Test
    void anUnknownTensorIsRefused() {
        Refused r =
                refused(admit(gradient("m", "x", 0, fp32(new float[64])).build(), ZEROS), RejectCode.UNKNOWN_TENSOR);
        assertThat(r.detail()).contains("'x'").contains("w").contains("b");
        assertThat(r.model()).isEqualTo("m");
    }

    @Test
    void aShardOutOfRangeIsRefused() {
        assertThat(admit(gradient("m", "w", 1, fp32(new float[36])).build(), ZEROS))
                .isInstanceOf(Contribute.class);
        Refused r = refused(admit(gradient("m", "w", 2, fp32(new float[36])).build(), ZEROS), RejectCode.UNKNOWN_SHARD);
        assertThat(r.detail()).contains("0..1");
        refused(admit(gradient("m", "b", 1, fp32(new float[3])).build(), ZEROS), RejectCode.UNKNOWN_SHARD);
        refused(
                admit(gradient("m", "w", Integer.MAX_VALUE, fp32(new float[1])).build(), ZEROS),
                RejectCode.UNKNOWN_SHARD);
    }

    @Test
    void aWrongElementCountIsRefused() {
        // The last shard holds 36 elements, not a full 64.
        refused(admit(gradient("m", "w", 1, fp32(new float[64])).build(), ZEROS), RejectCode.WRONG_ELEMENT_COUNT);
        refused(admit(gradient("m", "w", 0, fp32(new float[63])).build(), ZEROS), RejectCode.WRONG_ELEMENT_COUNT);
        refused(admit(gradient("m", "b", 0, fp32()).build(), ZEROS), RejectCode.WRONG_ELEMENT_COUNT);
        // A count that disagrees with the bytes: the count is checked against the shard first.
        TensorPayload lying = payload(Encoding.FP32, Integer.MAX_VALUE, new byte[12]);
        refused(admit(gradient("m", "b", 0, lying).build(), ZEROS), RejectCode.WRONG_ELEMENT_COUNT);
        TensorPayload negative = payload(Encoding.FP32, -1, new byte[12]);
        refused(admit(gradient("m", "b", 0, negative).build(), ZEROS), RejectCode.WRONG_ELEMENT_COUNT);
    }

    @Test
    void initForAModelWithAnInitRuleIsAlreadyInitialized() {
        GradientBatch init = gradient("m", "b", 0, fp32(1f, 2f, 3f))
                .setKind(GradientKind.INIT)
                .build();
        Refused r = refused(admit(init, ZEROS), RejectCode.ALREADY_INITIALIZED);
        assertThat(r.detail()).contains("ZEROS").contains("EXPLICIT");
        assertThat(r.model()).isEqualTo("m");
    }

    @Test
    void initWithNonFiniteValuesIsRefused() {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            GradientBatch init = gradient("m", "b", 0, fp32(1f, bad, 3f))
                    .setKind(GradientKind.INIT)
                    .build();
            Refused r = refused(admit(init, EXPLICIT), RejectCode.NON_FINITE);
            assertThat(r.detail()).contains("element 1");
        }
    }

    @Test
    void aValidInitOfAnExplicitModelInitializesWithItsValues() {
        float[] values = range(64, 0.125f);
        GradientBatch init =
                gradient("m", "w", 0, fp32(values)).setKind(GradientKind.INIT).build();
        Admission a = admit(init, EXPLICIT);
        assertThat(a).isInstanceOf(Initialize.class);
        Initialize i = (Initialize) a;
        assertThat(i.key()).isEqualTo(new ShardKey("m", "w", 0));
        assertThat(i.values()).containsExactly(values);
    }

    @Test
    void aGradientOfAnExplicitModelIsAContribution() {
        // Only INIT records are special for EXPLICIT models; whether the shard has its values is the operator's call.
        assertThat(admit(w0(new float[64]), EXPLICIT)).isInstanceOf(Contribute.class);
    }

    @Test
    void aPayloadWithTrailingBytesIsUndecodable() {
        byte[] data = Arrays.copyOf(PayloadCodecs.fp32().encode(new float[] {1f, 2f, 3f}), 13);
        Refused r = refused(
                admit(gradient("m", "b", 0, payload(Encoding.FP32, 3, data)).build(), ZEROS), RejectCode.UNDECODABLE);
        assertThat(r.detail()).contains("trailing");
        assertThat(r.model()).isEqualTo("m");
        // The same for an INIT of an EXPLICIT model.
        refused(
                admit(
                        gradient("m", "b", 0, payload(Encoding.FP32, 3, data))
                                .setKind(GradientKind.INIT)
                                .build(),
                        EXPLICIT),
                RejectCode.UNDECODABLE);
    }

    @Test
    void aTruncatedPayloadIsUndecodable() {
        byte[] full = PayloadCodecs.fp32().encode(new float[] {1f, 2f, 3f});
        for (int length = 0; length < full.length; length++) {
            TensorPayload cut = payload(Encoding.FP32, 3, Arrays.copyOf(full, length));
            refused(admit(gradient("m", "b", 0, cut).build(), ZEROS), RejectCode.UNDECODABLE);
        }
        byte[] half = PayloadCodecs.fp16().encode(new float[64]);
        refused(
                admit(
                        gradient("m", "w", 0, payload(Encoding.FP16, 64, Arrays.copyOf(half, 127)))
                                .build(),
                        ZEROS),
                RejectCode.UNDECODABLE);
    }

    private static byte[] topk(int count, int[] indices, float[] values) {
        ByteBuffer b =
                ByteBuffer.allocate(4 + 4 * indices.length + 4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(count);
        for (int i : indices) {
            b.putInt(i);
        }
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    private Admission admitTopk(byte[] data) {
        return admit(gradient("m", "w", 0, payload(Encoding.TOPK, 64, data)).build(), ZEROS);
    }

    @Test
    void hostileTopkPayloadsAreUndecodable() {
        byte[][] hostile = {
            topk(Integer.MAX_VALUE, new int[] {0}, new float[] {1f}), // a count of 2^31 - 1
            topk(-1, new int[0], new float[0]), // a negative count
            topk(65, new int[65], new float[65]), // more entries than elements
            topk(2, new int[] {0, 64}, new float[] {1f, 2f}), // an index past the shard
            topk(2, new int[] {-1, 3}, new float[] {1f, 2f}), // a negative index
            topk(2, new int[] {5, 5}, new float[] {1f, 2f}), // a duplicate index
            topk(2, new int[] {7, 3}, new float[] {1f, 2f}), // indices out of order
            topk(3, new int[] {1, 2}, new float[] {1f, 2f}), // fewer entries than the count
            topk(1, new int[] {1, 2}, new float[] {1f, 2f}), // more bytes than the count needs
            new byte[3], // not even a count
        };
        for (byte[] data : hostile) {
            Refused r = refused(admitTopk(data), RejectCode.UNDECODABLE);
            assertThat(r.detail()).startsWith("payload:");
        }
    }

    @Test
    void randomTopkPayloadsWithTheRightElementCountNeverThrow() {
        Random random = new Random(7);
        for (int i = 0; i < 2000; i++) {
            // No valid TOPK payload has a length of 4 + 8c plus anything other than 0 mod 8, so each one is malformed.
            int length = random.nextInt(0, 600);
            if (length % 8 == 4) {
                length++;
            }
            byte[] data = new byte[length];
            random.nextBytes(data);
            refused(admitTopk(data), RejectCode.UNDECODABLE);
        }
        // A plausible count with random indices and values, in the right length.
        int undecodable = 0;
        for (int i = 0; i < 2000; i++) {
            int count = random.nextInt(1, 65);
            byte[] data = new byte[4 + 8 * count];
            random.nextBytes(data);
            ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).putInt(0, count);
            Admission a = admitTopk(data);
            if (a instanceof Refused r) {
                assertThat(r.code()).isEqualTo(RejectCode.UNDECODABLE);
                undecodable++;
            } else {
                assertThat(a).isInstanceOf(Contribute.class);
            }
        }
        assertThat(undecodable).isGreaterThan(1900);
    }

    @Test
    void hostileInt8BlockPayloadsAreUndecodable() {
        byte[] valid = PayloadCodecs.int8Block().encode(range(64, 0.5f));
        assertThat(admit(
                        gradient("m", "w", 0, payload(Encoding.INT8_BLOCK, 64, valid))
                                .build(),
                        ZEROS))
                .isInstanceOf(Contribute.class);
        byte[] minus128 = valid.clone();
        minus128[4] = Byte.MIN_VALUE;
        byte[] nanScale = valid.clone();
        ByteBuffer.wrap(nanScale).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, Float.NaN);
        byte[] negativeScale = valid.clone();
        ByteBuffer.wrap(negativeScale).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, -1f);
        for (byte[] data : new byte[][] {minus128, nanScale, negativeScale}) {
            refused(
                    admit(
                            gradient("m", "w", 0, payload(Encoding.INT8_BLOCK, 64, data))
                                    .build(),
                            ZEROS),
                    RejectCode.UNDECODABLE);
        }
    }

    @Test
    void aValidFp32GradientIsAContributionWithExactlyItsValues() {
        float[] values = new float[64];
        Random random = new Random(3);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian() * 1e3f;
        }
        values[0] = Float.MIN_VALUE;
        values[1] = -0f;
        values[2] = Float.MAX_VALUE;
        GradientBatch b = gradient("m", "w", 0, fp32(values))
                .setWorkerId("worker-9")
                .setWorkerStep(11)
                .setBaseVersion(4)
                .setNumExamples(100)
                .setLoss(1.5)
                .setPublishedAtMs(99)
                .build();
        Admission a = admit(b, ZEROS);
        assertThat(a).isInstanceOf(Contribute.class);
        Contribute c = (Contribute) a;
        assertThat(c.key()).isEqualTo(new ShardKey("m", "w", 0));
        assertThat(c.layout()).isEqualTo(ZEROS.tensors().get("w"));
        assertThat(c.payloadBytes()).isEqualTo(64 * 4);
        Contribution contribution = c.contribution();
        assertThat(contribution.workerId()).isEqualTo("worker-9");
        assertThat(contribution.workerStep()).isEqualTo(11);
        assertThat(contribution.baseVersion()).isEqualTo(4);
        assertThat(contribution.numExamples()).isEqualTo(100);
        assertThat(contribution.loss()).isEqualTo(1.5);
        assertThat(contribution.publishedAtMs()).isEqualTo(99);
        // Bit for bit, -0 included.
        for (int i = 0; i < values.length; i++) {
            assertThat(Float.floatToRawIntBits(contribution.gradient()[i]))
                    .as("element %d", i)
                    .isEqualTo(Float.floatToRawIntBits(values[i]));
        }
    }

    @Test
    void aGradientWithoutALossHasNaN() {
        Contribute c = (Contribute)
                admit(gradient("m", "b", 0, fp32(1f, 2f, 3f)).setLoss(null).build(), ZEROS);
        assertThat(c.contribution().loss()).isNaN();
    }

    @Test
    void aShorterLastShardIsAContribution() {
        float[] values = range(36, 1f);
        Contribute c = (Contribute) admit(gradient("m", "w", 1, fp32(values)).build(), ZEROS);
        assertThat(c.key()).isEqualTo(new ShardKey("m", "w", 1));
        assertThat(c.contribution().gradient()).containsExactly(values);
    }

    private static float[] randomValues(long seed, int n) {
        Random random = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            // Magnitudes in [0.01, 100), well inside the normal range of both half formats.
            float magnitude = (float) Math.pow(10, random.nextDouble(-2, 2));
            v[i] = random.nextBoolean() ? magnitude : -magnitude;
        }
        return v;
    }

    @Test
    void aValidFp16GradientDecodesToTheSentValues() {
        // Exactly representable in binary16: decoded exactly.
        float[] exact = {0.5f, -1.25f, 3f, 0f, 1024f, -0.0078125f, 65504f, -2.5f};
        byte[] data = PayloadCodecs.fp16().encode(Arrays.copyOf(exact, 64));
        Contribute c = (Contribute) admit(
                gradient("m", "w", 0, payload(Encoding.FP16, 64, data)).build(), ZEROS);
        assertThat(c.contribution().gradient()).containsExactly(Arrays.copyOf(exact, 64));
        assertThat(c.payloadBytes()).isEqualTo(128);

        // Others within half an ulp of binary16 (11 significant bits).
        float[] values = randomValues(5, 64);
        data = PayloadCodecs.fp16().encode(values);
        c = (Contribute) admit(
                gradient("m", "w", 0, payload(Encoding.FP16, 64, data)).build(), ZEROS);
        for (int i = 0; i < values.length; i++) {
            assertThat(c.contribution().gradient()[i]).isCloseTo(values[i], within(Math.abs(values[i]) * 0x1p-11f));
        }
    }

    @Test
    void aValidBf16GradientDecodesToTheSentValues() {
        float[] exact = {0.5f, -1.25f, 3f, 0f, 1024f, -0.0078125f, 0x1p100f, -0x1p-100f};
        byte[] data = PayloadCodecs.bf16().encode(Arrays.copyOf(exact, 64));
        Contribute c = (Contribute) admit(
                gradient("m", "w", 0, payload(Encoding.BF16, 64, data)).build(), ZEROS);
        assertThat(c.contribution().gradient()).containsExactly(Arrays.copyOf(exact, 64));

        // Others within half an ulp of bfloat16 (8 significant bits).
        float[] values = randomValues(6, 64);
        data = PayloadCodecs.bf16().encode(values);
        c = (Contribute) admit(
                gradient("m", "w", 0, payload(Encoding.BF16, 64, data)).build(), ZEROS);
        for (int i = 0; i < values.length; i++) {
            assertThat(c.contribution().gradient()[i]).isCloseTo(values[i], within(Math.abs(values[i]) * 0x1p-8f));
        }
    }

    @Test
    void aValidTopkGradientScattersItsEntries() {
        float[] values = new float[64];
        values[3] = 5f;
        values[40] = -7f;
        values[63] = 2f;
        values[10] = 0.1f; // below the top 3
        byte[] data = PayloadCodecs.topK(3).encode(values);
        Contribute c = (Contribute) admitTopk(data);
        float[] expected = values.clone();
        expected[10] = 0f;
        assertThat(c.contribution().gradient()).containsExactly(expected);
    }

    @Test
    void theAdmissionIsReusableAcrossEncodings() {
        // Codecs are cached per encoding; a refused payload must not leave one in a state that breaks the next.
        for (int round = 0; round < 3; round++) {
            refused(admitTopk(topk(2, new int[] {7, 3}, new float[] {1f, 2f})), RejectCode.UNDECODABLE);
            assertThat(admitTopk(PayloadCodecs.topK(2).encode(range(64, 1f)))).isInstanceOf(Contribute.class);
            assertThat(admit(w0(range(64, 1f)), ZEROS)).isInstanceOf(Contribute.class);
        }
    }
}
