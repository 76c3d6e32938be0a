package io.gradstream.opencl;

import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Which OpenCL device a {@link ClContext} opens: a platform (by index, or by a case-insensitive part of its name,
 * which wins when given), a device type and the index among that platform's devices of that type.
 *
 * @param platformIndex index into {@code clGetPlatformIDs}, used when {@code platformName} is null
 * @param platformName a part of the platform name such as {@code "NVIDIA"} or {@code "Portable"}, or null
 * @param deviceType which devices of the platform count
 * @param deviceIndex index among the platform's devices of {@code deviceType}
 */
public record ClConfig(int platformIndex, String platformName, DeviceType deviceType, int deviceIndex) {

    /** The device types of {@code clGetDeviceIDs}. */
    public enum DeviceType {
        CPU,
        GPU,
        ALL
    }

    /** Keys of {@link #fromMap}: the same names the job's configuration uses under {@code opencl.}. */
    public static final String PLATFORM = "platform";

    public static final String DEVICE_TYPE = "device-type";
    public static final String DEVICE = "device";

    public ClConfig {
        Objects.requireNonNull(deviceType, "deviceType must not be null");
        if (platformIndex < 0) {
            throw new IllegalArgumentException("OpenCL platform index must be >= 0, got " + platformIndex);
        }
        if (deviceIndex < 0) {
            throw new IllegalArgumentException("OpenCL device index must be >= 0, got " + deviceIndex);
        }
        if (platformName != null && platformName.isBlank()) {
            platformName = null;
        }
    }

    /** The first device of any type on the first platform. */
    public static ClConfig defaults() {
        return new ClConfig(0, null, DeviceType.ALL, 0);
    }

    /**
     * Parses {@code platform} (an index, or a part of the platform's name), {@code device-type}
     * ({@code cpu|gpu|all}) and {@code device} (an index); absent keys keep {@link #defaults()}.
     *
     * @throws IllegalArgumentException naming the key and the accepted values
     */
    public static ClConfig fromMap(Map<String, String> options) {
        int platformIndex = 0;
        String platformName = null;
        String platform = options.get(PLATFORM);
        if (platform != null && !platform.isBlank()) {
            if (platform.trim().chars().allMatch(Character::isDigit)) {
                platformIndex = Integer.parseInt(platform.trim());
            } else {
                platformName = platform.trim();
            }
        }
        DeviceType type = DeviceType.ALL;
        String t = options.get(DEVICE_TYPE);
        if (t != null && !t.isBlank()) {
            try {
                type = DeviceType.valueOf(t.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        "OpenCL option " + DEVICE_TYPE + " must be cpu, gpu or all, got '" + t + "'", e);
            }
        }
        int device = 0;
        String d = options.get(DEVICE);
        if (d != null && !d.isBlank()) {
            try {
                device = Integer.parseInt(d.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "OpenCL option " + DEVICE + " must be a device index, got '" + d + "'", e);
            }
        }
        return new ClConfig(platformIndex, platformName, type, device);
    }

    @Override
    public String toString() {
        return "platform=" + (platformName != null ? "'" + platformName + "'" : platformIndex) + ", device-type="
                + deviceType.name().toLowerCase(Locale.ROOT) + ", device=" + deviceIndex;
    }
}
