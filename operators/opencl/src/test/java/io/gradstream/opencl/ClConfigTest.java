package io.gradstream.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ClConfigTest {

    @Test
    void defaultsAreTheFirstDeviceOfTheFirstPlatform() {
        assertThat(ClConfig.fromMap(Map.of())).isEqualTo(ClConfig.defaults());
        assertThat(ClConfig.defaults().toString()).isEqualTo("platform=0, device-type=all, device=0");
    }

    @Test
    void platformIsAnIndexOrAPartOfItsName() {
        ClConfig byIndex = ClConfig.fromMap(Map.of("platform", "1", "device-type", "GPU", "device", "2"));
        assertThat(byIndex).isEqualTo(new ClConfig(1, null, ClConfig.DeviceType.GPU, 2));
        ClConfig byName = ClConfig.fromMap(Map.of("platform", "NVIDIA", "device-type", "gpu"));
        assertThat(byName.platformName()).isEqualTo("NVIDIA");
        assertThat(byName.toString()).isEqualTo("platform='NVIDIA', device-type=gpu, device=0");
    }

    @Test
    void badValuesNameTheKey() {
        assertThatThrownBy(() -> ClConfig.fromMap(Map.of("device-type", "fpga")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("device-type must be cpu, gpu or all");
        assertThatThrownBy(() -> ClConfig.fromMap(Map.of("device", "first")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("device must be a device index");
        assertThatThrownBy(() -> new ClConfig(-1, null, ClConfig.DeviceType.ALL, 0))
                .hasMessageContaining("platform index must be >= 0");
    }
}
