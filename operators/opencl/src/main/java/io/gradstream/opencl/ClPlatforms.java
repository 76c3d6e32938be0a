package io.gradstream.opencl;

import static org.jocl.CL.CL_DEVICE_DOUBLE_FP_CONFIG;
import static org.jocl.CL.CL_DEVICE_GLOBAL_MEM_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_MEM_ALLOC_SIZE;
import static org.jocl.CL.CL_DEVICE_NAME;
import static org.jocl.CL.CL_DEVICE_SINGLE_FP_CONFIG;
import static org.jocl.CL.CL_DEVICE_TYPE_ALL;
import static org.jocl.CL.CL_DEVICE_TYPE_CPU;
import static org.jocl.CL.CL_DEVICE_TYPE_GPU;
import static org.jocl.CL.CL_DEVICE_VERSION;
import static org.jocl.CL.CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT;
import static org.jocl.CL.CL_INVALID_DEVICE;
import static org.jocl.CL.CL_PLATFORM_NAME;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * Finding OpenCL platforms and devices, selecting the one a {@link ClConfig} names, and describing them
 * ({@link ClDevice}): what {@link ClContext} needs before it has a context.
 */
final class ClPlatforms {

    private ClPlatforms() {}

    /** See {@link ClContext#devices()}. */
    static List<ClDevice> devices() {
        SignalChaining.require();
        try {
            CL.setExceptionsEnabled(true);
            int[] count = new int[1];
            try {
                CL.clGetPlatformIDs(0, null, count);
            } catch (CLException e) {
                if (e.getStatus() == OpenClException.PLATFORM_NOT_FOUND_KHR) {
                    return List.of();
                }
                throw e;
            }
            cl_platform_id[] platforms = new cl_platform_id[count[0]];
            CL.clGetPlatformIDs(platforms.length, platforms, null);
            List<ClDevice> out = new ArrayList<>();
            for (cl_platform_id p : platforms) {
                int[] n = new int[1];
                try {
                    CL.clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, null, n);
                } catch (CLException e) {
                    if (e.getStatus() == CL.CL_DEVICE_NOT_FOUND) {
                        continue;
                    }
                    throw e;
                }
                cl_device_id[] ids = new cl_device_id[n[0]];
                CL.clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, ids.length, ids, null);
                for (cl_device_id d : ids) {
                    out.add(describe(p, d));
                }
            }
            return out;
        } catch (CLException e) {
            throw OpenClException.wrap("cannot list OpenCL devices", e);
        } catch (LinkageError e) {
            throw new OpenClException(0, "no OpenCL runtime (JOCL or libOpenCL.so not loadable)", e);
        }
    }

    static ClDevice describe(cl_platform_id platform, cl_device_id deviceId) {
        return new ClDevice(
                platformName(platform),
                deviceString(deviceId, CL_DEVICE_NAME),
                deviceString(deviceId, CL_DEVICE_VERSION),
                deviceLong(deviceId, CL_DEVICE_GLOBAL_MEM_SIZE),
                deviceLong(deviceId, CL_DEVICE_MAX_MEM_ALLOC_SIZE),
                deviceLong(deviceId, CL_DEVICE_DOUBLE_FP_CONFIG) != 0,
                (deviceLong(deviceId, CL_DEVICE_SINGLE_FP_CONFIG) & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0);
    }

    static cl_platform_id selectPlatform(ClConfig config) {
        int[] count = new int[1];
        CL.clGetPlatformIDs(0, null, count);
        cl_platform_id[] platforms = new cl_platform_id[count[0]];
        CL.clGetPlatformIDs(platforms.length, platforms, null);
        List<String> names = new ArrayList<>();
        for (cl_platform_id p : platforms) {
            names.add(platformName(p));
        }
        if (config.platformName() != null) {
            String wanted = config.platformName().toLowerCase(Locale.ROOT);
            for (int i = 0; i < platforms.length; i++) {
                if (names.get(i).toLowerCase(Locale.ROOT).contains(wanted)) {
                    return platforms[i];
                }
            }
            throw new OpenClException(
                    CL_INVALID_DEVICE,
                    "no OpenCL platform named like '" + config.platformName() + "'; platforms: " + names);
        }
        if (config.platformIndex() >= platforms.length) {
            throw new OpenClException(
                    CL_INVALID_DEVICE,
                    "OpenCL platform index " + config.platformIndex() + " out of range; platforms: " + names);
        }
        return platforms[config.platformIndex()];
    }

    static cl_device_id selectDevice(cl_platform_id platform, ClConfig config) {
        long type = switch (config.deviceType()) {
            case CPU -> CL_DEVICE_TYPE_CPU;
            case GPU -> CL_DEVICE_TYPE_GPU;
            case ALL -> CL_DEVICE_TYPE_ALL;
        };
        int[] count = new int[1];
        try {
            CL.clGetDeviceIDs(platform, type, 0, null, count);
        } catch (CLException e) {
            if (e.getStatus() == CL.CL_DEVICE_NOT_FOUND) {
                count[0] = 0;
            } else {
                throw e;
            }
        }
        if (config.deviceIndex() >= count[0]) {
            throw new OpenClException(
                    CL_INVALID_DEVICE,
                    "platform '" + platformName(platform) + "' has "
                            + count[0] + " device(s) of type " + config.deviceType() + ", index " + config.deviceIndex()
                            + " requested");
        }
        cl_device_id[] devices = new cl_device_id[count[0]];
        CL.clGetDeviceIDs(platform, type, devices.length, devices, null);
        return devices[config.deviceIndex()];
    }

    private static String platformName(cl_platform_id p) {
        long[] size = new long[1];
        CL.clGetPlatformInfo(p, CL_PLATFORM_NAME, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        CL.clGetPlatformInfo(p, CL_PLATFORM_NAME, b.length, Pointer.to(b), null);
        return cString(b);
    }

    private static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        CL.clGetDeviceInfo(d, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        CL.clGetDeviceInfo(d, param, b.length, Pointer.to(b), null);
        return cString(b);
    }

    private static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_ulong, Pointer.to(v), null);
        return v[0];
    }

    static String cString(byte[] b) {
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, StandardCharsets.UTF_8).trim();
    }
}
