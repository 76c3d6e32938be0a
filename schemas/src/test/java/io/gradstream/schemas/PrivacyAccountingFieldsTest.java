package io.gradstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * The field release 0.4.0 appended: ControlCommand.privacyAccounting. Control records of 0.3.0 (and before) decode
 * with it null, which the service reads as DP-SGD accounted with RDP, so an existing model's epsilon does not change.
 */
class PrivacyAccountingFieldsTest {
    /**
     * {@link AppendedFieldsTest}'s CREATE with compression {@code deltaEncoding = INT8_BLOCK} as release 0.3.0's
     * gradstream-schemas jar encoded it (ControlCommand ending with compression).
     */
    private static final String WRITTEN_BY_030 = "026d0002020277020800008080080653474402046c72009a9999999999b93f"
            + "00000002000000007b14ae47e17a843f9a9999999999a9bf9a9999999999a93f00000000a413"
            + "00020002067b14ae47e17a843fc801";

    private final AvroRecords<ControlCommand> commands = new AvroRecords<>(ControlCommand.class);

    @Test
    void aCommandOfRelease030DecodesWithoutPrivacyAccounting() throws IOException {
        ControlCommand read = commands.decode(HexFormat.of().parseHex(WRITTEN_BY_030));
        assertThat(read.getCompression().getDeltaEncoding()).isEqualTo(Encoding.INT8_BLOCK);
        assertThat(read.getPrivacyAccounting()).isNull();
        // Today's writer appends one byte to it: the null branch of privacyAccounting.
        byte[] today = commands.encode(read);
        assertThat(today).hasSize(WRITTEN_BY_030.length() / 2 + 1).endsWith(0);
    }

    @Test
    void theSettingsRoundTripAndTakeTheirDefaults() throws IOException {
        ControlCommand old = commands.decode(HexFormat.of().parseHex(WRITTEN_BY_030));
        ControlCommand sgd = ControlCommand.newBuilder(old)
                .setPrivacyAccounting(PrivacyAccountingSpec.newBuilder().build())
                .build();
        ControlCommand read = commands.decode(commands.encode(sgd));
        assertThat(read).isEqualTo(sgd);
        assertThat(read.getPrivacyAccounting().getAccountant()).isNull();
        assertThat(read.getPrivacyAccounting().getMechanism()).isEqualTo(PrivacyMechanism.DP_SGD);
        assertThat(read.getPrivacyAccounting().getStepsPerRestart()).isNull();
        assertThat(read.getPrivacyAccounting().getEfficientTree()).isTrue();

        ControlCommand ftrl = ControlCommand.newBuilder(old)
                .setPrivacyAccounting(PrivacyAccountingSpec.newBuilder()
                        .setAccountant(PrivacyAccountant.TREE)
                        .setMechanism(PrivacyMechanism.DP_FTRL)
                        .setStepsPerRestart(64L)
                        .setEfficientTree(false)
                        .build())
                .build();
        assertThat(commands.decode(commands.encode(ftrl))).isEqualTo(ftrl);
    }

    @Test
    void aRecordCutInsideTheSettingsIsRefused() throws IOException {
        ControlCommand old = commands.decode(HexFormat.of().parseHex(WRITTEN_BY_030));
        byte[] full = commands.encode(ControlCommand.newBuilder(old)
                .setPrivacyAccounting(PrivacyAccountingSpec.newBuilder()
                        .setAccountant(PrivacyAccountant.PRV)
                        .build())
                .build());
        int boundary = WRITTEN_BY_030.length() / 2;
        assertThat(commands.decode(Arrays.copyOf(full, boundary)).getPrivacyAccounting())
                .isNull();
        for (int n = boundary + 1; n < full.length; n++) {
            byte[] cut = Arrays.copyOf(full, n);
            assertThatThrownBy(() -> commands.decode(cut))
                    .as("%d of %d bytes", n, full.length)
                    .isInstanceOf(IOException.class);
        }
        assertThat(commands.decode(full).getPrivacyAccounting().getAccountant()).isEqualTo(PrivacyAccountant.PRV);
    }
}
