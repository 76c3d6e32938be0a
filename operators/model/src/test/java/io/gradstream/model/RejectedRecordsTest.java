package io.gradstream.model;

import static io.gradstream.model.ModelRecords.SMALL;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.shard.RejectCode;
import io.gradstream.model.RejectedRecords.Source;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.RejectedRecord;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Dead-letter records keep what they can of the input and always fit the rejected topic's record size. */
class RejectedRecordsTest {

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer d = buffer.duplicate();
        byte[] b = new byte[d.remaining()];
        d.get(b);
        return b;
    }

    /** SHA-256 in lower-case hex, computed here independently of the class under test. */
    private static String sha256(byte[] bytes) throws Exception {
        StringBuilder hex = new StringBuilder();
        for (byte b : MessageDigest.getInstance("SHA-256").digest(bytes)) {
            hex.append(String.format("%02x", b & 0xff));
        }
        return hex.toString();
    }

    private static Source source(byte[] key, byte[] value) {
        return new Source("gradients", 3, 42L, key, value);
    }

    @Test
    void theSourceAndReasonAreKept() {
        byte[] key = "m/w/0".getBytes(StandardCharsets.UTF_8);
        byte[] value = random(100, 1);
        long before = System.currentTimeMillis();
        RejectedRecord r = RejectedRecords.of(
                RejectCode.WRONG_ELEMENT_COUNT, "payload has 3 elements", source(key, value), "m", SMALL);
        assertThat(r.getReason()).isEqualTo(RejectReason.WRONG_ELEMENT_COUNT);
        assertThat(r.getDetail()).isEqualTo("payload has 3 elements");
        assertThat(r.getSourceTopic()).isEqualTo("gradients");
        assertThat(r.getPartition()).isEqualTo(3);
        assertThat(r.getOffset()).isEqualTo(42L);
        assertThat(bytes(r.getOriginalKey())).isEqualTo(key);
        assertThat(bytes(r.getOriginalValue())).isEqualTo(value);
        assertThat(r.getModelId()).isEqualTo("m");
        assertThat(r.getRejectedAtMs()).isBetween(before, System.currentTimeMillis());
    }

    @Test
    void everyRejectCodeHasAReason() {
        for (RejectCode code : RejectCode.values()) {
            assertThat(RejectedRecords.of(code, "d", source(null, new byte[0]), null, SMALL)
                            .getReason()
                            .name())
                    .isEqualTo(code.name());
        }
    }

    @Test
    void missingPartsBecomeEmptyOrNull() {
        RejectedRecord r =
                RejectedRecords.of(RejectCode.UNDECODABLE, null, new Source(null, -1, -1L, null, null), null, SMALL);
        assertThat(r.getDetail()).isEmpty();
        assertThat(r.getSourceTopic()).isEmpty();
        assertThat(r.getOriginalKey()).isNull();
        assertThat(bytes(r.getOriginalValue())).isEmpty();
        assertThat(r.getModelId()).isNull();
    }

    @Test
    void aValueAtTheLimitIsKeptWhole() {
        byte[] value = random(SMALL.rejectedValueBytes(), 2);
        RejectedRecord r = RejectedRecords.of(RejectCode.OTHER, "why", source(null, value), "m", SMALL);
        assertThat(bytes(r.getOriginalValue())).isEqualTo(value);
        assertThat(r.getDetail()).isEqualTo("why");
    }

    @Test
    void aValueOverTheLimitIsCutAndNamedByItsLengthAndHash() throws Exception {
        byte[] value = random(SMALL.rejectedValueBytes() + 1, 3);
        RejectedRecord r = RejectedRecords.of(RejectCode.TOO_LARGE, "why", source(null, value), "m", SMALL);
        assertThat(bytes(r.getOriginalValue())).isEqualTo(Arrays.copyOf(value, SMALL.rejectedValueBytes()));
        assertThat(r.getDetail())
                .startsWith("why")
                .contains(value.length + " bytes")
                .contains("SHA-256 " + sha256(value))
                .contains("first " + SMALL.rejectedValueBytes() + " bytes");
        // The hash is of the whole value, not of the kept prefix.
        assertThat(r.getDetail()).doesNotContain(sha256(Arrays.copyOf(value, SMALL.rejectedValueBytes())));
    }

    @Test
    void aHugeKeyIsCutAndNamedByItsLengthAndHash() throws Exception {
        byte[] whole = random(RejectedRecords.MAX_TEXT, 4);
        RejectedRecord kept = RejectedRecords.of(RejectCode.OTHER, "why", source(whole, new byte[1]), null, SMALL);
        assertThat(bytes(kept.getOriginalKey())).isEqualTo(whole);
        assertThat(kept.getDetail()).isEqualTo("why");

        byte[] key = random(1 << 20, 5);
        RejectedRecord r = RejectedRecords.of(RejectCode.OTHER, "why", source(key, new byte[1]), null, SMALL);
        assertThat(bytes(r.getOriginalKey())).isEqualTo(Arrays.copyOf(key, RejectedRecords.MAX_TEXT));
        assertThat(r.getDetail())
                .startsWith("why")
                .contains(key.length + " bytes")
                .contains("SHA-256 " + sha256(key));
        assertThat(bytes(r.getOriginalValue())).containsExactly(0);
    }

    @Test
    void aHugeKeyAndValueAreBothNamed() throws Exception {
        byte[] key = random(RejectedRecords.MAX_TEXT + 1, 6);
        byte[] value = random(SMALL.rejectedValueBytes() * 3, 7);
        RejectedRecord r = RejectedRecords.of(RejectCode.OTHER, "why", source(key, value), null, SMALL);
        assertThat(r.getDetail()).contains("SHA-256 " + sha256(key)).contains("SHA-256 " + sha256(value));
    }

    @Test
    void aHugeDetailIsCut() {
        String detail = "d".repeat(1 << 20);
        RejectedRecord r = RejectedRecords.of(RejectCode.OTHER, detail, source(null, new byte[1]), null, SMALL);
        assertThat(r.getDetail().length()).isLessThanOrEqualTo(2 * RejectedRecords.MAX_TEXT + 3);
        assertThat(r.getDetail()).startsWith("d".repeat(2 * RejectedRecords.MAX_TEXT));
    }

    @Test
    void aHugeModelIdIsCut() {
        String model = "m".repeat(1 << 20);
        RejectedRecord r = RejectedRecords.of(RejectCode.OTHER, "why", source(null, new byte[1]), model, SMALL);
        assertThat(r.getModelId()).isEqualTo("m".repeat(RejectedRecords.MAX_TEXT));
    }

    @Test
    void theHashOfACutValueSurvivesALongDetail() throws Exception {
        byte[] value = random(SMALL.rejectedValueBytes() + 1, 8);
        String detail = "d".repeat(3 * RejectedRecords.MAX_TEXT);
        RejectedRecord r = RejectedRecords.of(RejectCode.OTHER, detail, source(null, value), null, SMALL);
        assertThat(r.getDetail().length()).isLessThanOrEqualTo(3 * RejectedRecords.MAX_TEXT);
        assertThat(r.getDetail()).contains(value.length + " bytes").contains("SHA-256 " + sha256(value));
    }

    /** Every part of a 16 MiB input at its largest: the encoded rejection still fits one Kafka record. */
    private static void fitsARecord(Limits limits) {
        byte[] huge = new byte[Limits.MAX_REQUEST_BYTES];
        Arrays.fill(huge, (byte) 0x5a);
        // '\u20ac' takes 3 bytes in UTF-8, the most a char of a String takes.
        String text = "\u20ac".repeat(Limits.MAX_REQUEST_BYTES / 2);
        RejectedRecord r = RejectedRecords.of(
                RejectCode.TOO_LARGE,
                text,
                new Source("t".repeat(249), Integer.MAX_VALUE, Long.MAX_VALUE, huge, huge),
                text,
                limits);
        byte[] encoded = new AvroRecords<>(RejectedRecord.class).encode(r);
        assertThat(encoded.length).isLessThan(Limits.MAX_REQUEST_BYTES);
        assertThat(r.getOriginalValue().remaining()).isEqualTo(limits.rejectedValueBytes());
    }

    @Test
    void theEncodedRejectionOfA16MibInputFitsARecord() {
        fitsARecord(Limits.DEFAULT);
    }

    @Test
    void theEncodedRejectionFitsARecordWithTheLargestRejectedValueBytes() {
        int largest = Limits.MAX_REQUEST_BYTES - (64 << 10);
        fitsARecord(
                new Limits(Limits.MAX_REQUEST_BYTES, largest, 1024, 16, 1024, 4, 8, 100, 1000, 16, 1 << 16, 1 << 20));
    }
}
