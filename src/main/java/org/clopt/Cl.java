package org.clopt;

import static org.jocl.CL.CL_INVALID_BUFFER_SIZE;
import static org.jocl.CL.CL_MEM_OBJECT_ALLOCATION_FAILURE;
import static org.jocl.CL.CL_OUT_OF_HOST_MEMORY;
import static org.jocl.CL.CL_OUT_OF_RESOURCES;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/** JOCL glue: loading the runtime, turning status codes into typed exceptions, info queries. */
final class Cl {
    private static volatile boolean loaded;

    private Cl() {
    }

    /** Loads JOCL and the OpenCL ICD loader once, or says what to install. */
    static void load() {
        if (loaded) {
            return;
        }
        synchronized (Cl.class) {
            if (loaded) {
                return;
            }
            try {
                CL.setExceptionsEnabled(true);
            } catch (LinkageError | CLException e) {
                throw new OpenClUnavailableException("cannot load the OpenCL runtime ("
                        + e.getMessage() + "): " + OpenClUnavailableException.INSTALL_HINT, e);
            }
            loaded = true;
        }
    }

    /** Runs one OpenCL call, turning its failure into clopt's exception for that status. */
    static <T> T call(String what, Supplier<T> call) {
        try {
            return call.get();
        } catch (CLException e) {
            throw wrap(what, e);
        }
    }

    static void run(String what, Runnable call) {
        try {
            call.run();
        } catch (CLException e) {
            throw wrap(what, e);
        }
    }

    static OpenClException wrap(String what, CLException e) {
        int status = e.getStatus();
        String message = what + " failed: " + CL.stringFor_errorCode(status) + " (" + status + ")";
        switch (status) {
            case CL_MEM_OBJECT_ALLOCATION_FAILURE:
            case CL_OUT_OF_RESOURCES:
            case CL_OUT_OF_HOST_MEMORY:
            case CL_INVALID_BUFFER_SIZE:
                return new DeviceMemoryException(message + ": the device is out of memory", status, e);
            default:
                return new OpenClException(message, status, e);
        }
    }

    static String deviceString(cl_device_id device, int param) {
        long[] size = new long[1];
        CL.clGetDeviceInfo(device, param, 0, null, size);
        byte[] bytes = new byte[(int) size[0]];
        CL.clGetDeviceInfo(device, param, bytes.length, Pointer.to(bytes), null);
        return cString(bytes);
    }

    static String platformString(cl_platform_id platform, int param) {
        long[] size = new long[1];
        CL.clGetPlatformInfo(platform, param, 0, null, size);
        byte[] bytes = new byte[(int) size[0]];
        CL.clGetPlatformInfo(platform, param, bytes.length, Pointer.to(bytes), null);
        return cString(bytes);
    }

    /** A cl_ulong, cl_uint or size_t device property, widened to long. */
    static long deviceLong(cl_device_id device, int param) {
        ByteBuffer buffer = ByteBuffer.allocate(Sizeof.cl_ulong).order(ByteOrder.nativeOrder());
        long[] size = new long[1];
        CL.clGetDeviceInfo(device, param, Sizeof.cl_ulong, Pointer.to(buffer), size);
        return size[0] == Sizeof.cl_uint ? buffer.getInt(0) & 0xFFFFFFFFL : buffer.getLong(0);
    }

    private static String cString(byte[] bytes) {
        int end = 0;
        while (end < bytes.length && bytes[end] != 0) {
            end++;
        }
        return new String(bytes, 0, end, StandardCharsets.UTF_8).trim();
    }
}
