package org.clopt;

import static org.jocl.CL.*;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_platform_id;
import org.jocl.cl_program;
import org.jocl.cl_queue_properties;

/**
 * One OpenCL device with its context and in-order command queue. Optimizers created on it
 * share its compiled kernels; close them before the device.
 *
 * <pre>{@code
 * try (Device device = Device.open();
 *      Optimizer adam = Optimizer.create(device, Adam.builder().lr(1e-3).build(), n)) { ... }
 * }</pre>
 */
public final class Device implements AutoCloseable {
    private static final String KERNEL_PATH = "/org/clopt/kernels/";

    private final DeviceInfo info;
    private final cl_device_id id;
    private final cl_context context;
    private final cl_command_queue queue;
    private final Map<String, cl_program> programs = new HashMap<>();
    /** The alignment in bytes that host memory under a buffer should have (at least 64). */
    private final int hostAlignment;
    private boolean closed;

    private Device(DeviceInfo info, cl_device_id id) {
        this.info = info;
        this.id = id;
        // CL_DEVICE_MEM_BASE_ADDR_ALIGN is in bits; 64 bytes (a cache line) at least.
        long bits = Cl.call("clGetDeviceInfo", () -> Cl.deviceLong(id, CL_DEVICE_MEM_BASE_ADDR_ALIGN));
        this.hostAlignment = (int) Math.max(64, Math.min(1 << 16, Long.highestOneBit(Math.max(8, bits)) / 8));
        this.context = Cl.call("clCreateContext", () -> {
            cl_context_properties properties = new cl_context_properties();
            properties.addProperty(CL_CONTEXT_PLATFORM, platforms()[info.platformIndex()]);
            return clCreateContext(properties, 1, new cl_device_id[] {id}, null, null, null);
        });
        try {
            this.queue = Cl.call("clCreateCommandQueue", () -> versionAtLeast2(info.version())
                    ? clCreateCommandQueueWithProperties(context, id, profilingProperties(), null)
                    : createLegacyQueue(context, id));
        } catch (RuntimeException e) {
            clReleaseContext(context);
            throw e;
        }
    }

    // Profiling lets bench time kernels on the device; it costs a timestamp per command.
    private static cl_queue_properties profilingProperties() {
        cl_queue_properties properties = new cl_queue_properties();
        properties.addProperty(CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE);
        return properties;
    }

    @SuppressWarnings("deprecation")
    private static cl_command_queue createLegacyQueue(cl_context context, cl_device_id id) {
        return clCreateCommandQueue(context, id, CL_QUEUE_PROFILING_ENABLE, null);
    }

    /**
     * Opens the device named by {@code CLOPT_DEVICE}, else the first GPU, else any device.
     *
     * @return the device, to close when done
     * @throws OpenClUnavailableException when there is no OpenCL or no device matches
     */
    public static Device open() {
        return open(DeviceSelector.fromEnvironment());
    }

    /**
     * Opens the device {@code selector} picks.
     *
     * @param selector how to pick the device
     * @return the device, to close when done
     * @throws OpenClUnavailableException when there is no OpenCL or no device matches
     */
    public static Device open(DeviceSelector selector) {
        DeviceInfo chosen = selector.choose(list());
        return new Device(chosen, deviceIds(platforms()[chosen.platformIndex()])[chosen.deviceIndex()]);
    }

    /**
     * Every OpenCL device of every platform.
     *
     * @return the devices, platform by platform
     * @throws OpenClUnavailableException when the runtime or every platform is missing
     */
    public static List<DeviceInfo> list() {
        List<DeviceInfo> result = new ArrayList<>();
        cl_platform_id[] platforms = platforms();
        for (int p = 0; p < platforms.length; p++) {
            String platformName = Cl.platformString(platforms[p], CL_PLATFORM_NAME);
            cl_device_id[] devices = deviceIds(platforms[p]);
            for (int d = 0; d < devices.length; d++) {
                result.add(describe(p, d, platformName, devices[d]));
            }
        }
        return result;
    }

    /**
     * What the device is and what it can do.
     *
     * @return the device's description
     */
    public DeviceInfo info() {
        return info;
    }

    /**
     * The size of the device's global memory cache ({@code CL_DEVICE_GLOBAL_MEM_CACHE_SIZE}): a
     * working set that fits in it is served by the cache, not the memory. 0 when the device
     * reports none (POCL's CPU device does, though the host's caches serve it).
     *
     * @return the cache's size in bytes, or 0
     */
    public long globalMemoryCacheBytes() {
        ensureOpen();
        return Cl.deviceLong(id, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE);
    }

    @Override
    public String toString() {
        return info.qualifiedName();
    }

    private static cl_platform_id[] platforms() {
        Cl.load();
        try {
            int[] count = new int[1];
            clGetPlatformIDs(0, null, count);
            cl_platform_id[] platforms = new cl_platform_id[count[0]];
            if (count[0] > 0) {
                clGetPlatformIDs(count[0], platforms, null);
            }
            if (platforms.length == 0) {
                throw new OpenClUnavailableException(
                        "no OpenCL platform found: " + OpenClUnavailableException.INSTALL_HINT);
            }
            return platforms;
        } catch (CLException e) {
            // The ICD loader answers CL_PLATFORM_NOT_FOUND_KHR (-1001) when no driver is installed.
            throw new OpenClUnavailableException("no OpenCL platform found ("
                    + CL.stringFor_errorCode(e.getStatus()) + "): "
                    + OpenClUnavailableException.INSTALL_HINT, e);
        }
    }

    private static cl_device_id[] deviceIds(cl_platform_id platform) {
        int[] count = new int[1];
        try {
            clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, null, count);
        } catch (CLException e) {
            if (e.getStatus() == CL_DEVICE_NOT_FOUND) {
                return new cl_device_id[0];
            }
            throw Cl.wrap("clGetDeviceIDs", e);
        }
        cl_device_id[] devices = new cl_device_id[count[0]];
        Cl.run("clGetDeviceIDs", () -> clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, count[0], devices, null));
        return devices;
    }

    private static DeviceInfo describe(int p, int d, String platformName, cl_device_id id) {
        return Cl.call("clGetDeviceInfo", () -> {
            long type = Cl.deviceLong(id, CL_DEVICE_TYPE);
            String typeName = (type & CL_DEVICE_TYPE_GPU) != 0 ? "GPU"
                    : (type & CL_DEVICE_TYPE_CPU) != 0 ? "CPU"
                    : (type & CL_DEVICE_TYPE_ACCELERATOR) != 0 ? "ACCELERATOR" : "OTHER";
            String extensions = Cl.deviceString(id, CL_DEVICE_EXTENSIONS);
            long fpConfig = Cl.deviceLong(id, CL_DEVICE_SINGLE_FP_CONFIG);
            return new DeviceInfo(p, d, platformName, Cl.deviceString(id, CL_DEVICE_NAME), typeName,
                    Cl.deviceString(id, CL_DEVICE_VERSION),
                    Cl.deviceLong(id, CL_DEVICE_MAX_COMPUTE_UNITS),
                    Cl.deviceLong(id, CL_DEVICE_GLOBAL_MEM_SIZE),
                    Cl.deviceLong(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE),
                    extensions.contains("cl_khr_fp64"), extensions.contains("cl_khr_fp16"),
                    (fpConfig & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0,
                    Cl.deviceLong(id, CL_DEVICE_HOST_UNIFIED_MEMORY) != 0);
        });
    }

    private static boolean versionAtLeast2(String version) {
        // "OpenCL <major>.<minor> <vendor-specific>"
        String[] parts = version.split(" ");
        return parts.length > 1 && !parts[1].startsWith("1.");
    }

    /** Waits until every step and transfer enqueued on this device has finished. */
    public void finish() {
        ensureOpen();
        Cl.run("clFinish", () -> clFinish(queue));
    }

    /**
     * The OpenCL context, for kernels of your own that work on clopt's buffers (see
     * {@link ParameterSet#gradientSlice}). Owned by this device: do not release it.
     *
     * @return the context
     */
    public cl_context context() {
        return context;
    }

    /**
     * The in-order command queue clopt enqueues on; enqueue your kernels here so that they are
     * ordered with the steps. Owned by this device: do not release it.
     *
     * @return the queue
     */
    public cl_command_queue queue() {
        return queue;
    }

    // ---- for the optimizers; package-private ----

    /**
     * A new kernel object for {@code <algorithm>_step} from {@code kernels/<algorithm>.cl}, whose
     * program is built once per options.
     */
    cl_kernel createKernel(String algorithm, String options) {
        return createKernel(algorithm, algorithm + "_step", options);
    }

    /**
     * A new kernel {@code kernel} from the classpath file {@code kernels/<file>.cl} (compiled
     * after {@code common.cl}, with these build options). Programs are built once per file and
     * options; the caller owns the returned kernel and releases it. {@link Kernel} wraps this
     * for code outside clopt.
     *
     * @throws KernelBuildException with the build log if the compiler rejects the file
     */
    cl_kernel createKernel(String file, String kernel, String options) {
        return createKernel(List.of(file), kernel, options);
    }

    /**
     * A new kernel {@code kernel} from the classpath files {@code kernels/<file>.cl}, compiled in
     * this order after {@code common.cl} as one program: an algorithm with per-tensor norms is
     * compiled after {@code reduce.cl}, whose functions it uses.
     */
    synchronized cl_kernel createKernel(List<String> files, String kernel, String options) {
        ensureOpen();
        String key = String.join("+", files) + "|" + options;
        cl_program program = programs.get(key);
        if (program == null) {
            StringBuilder source = new StringBuilder(resource("common.cl"));
            for (String file : files) {
                source.append('\n').append(resource(file + ".cl"));
            }
            program = build("kernels/" + files.get(files.size() - 1) + ".cl", source.toString(), options);
            programs.put(key, program);
        }
        cl_program built = program;
        return Cl.call("clCreateKernel " + kernel, () -> clCreateKernel(built, kernel, null));
    }

    /**
     * Builds {@code source} for this device with these options (plus correctly rounded divide
     * and sqrt where the device offers it); the caller owns the program.
     *
     * @param what names the source in a build failure's message
     */
    synchronized cl_program build(String what, String source, String options) {
        ensureOpen();
        // Correctly rounded divide and sqrt let the kernels match the CPU reference bit for bit.
        String flags = (options + (info.correctlyRoundedDivideSqrt()
                ? " -cl-fp32-correctly-rounded-divide-sqrt" : "")).trim();
        cl_program program = Cl.call("clCreateProgramWithSource",
                () -> clCreateProgramWithSource(context, 1, new String[] {source}, null, null));
        try {
            clBuildProgram(program, 1, new cl_device_id[] {id}, flags, null, null);
            return program;
        } catch (CLException e) {
            String log = buildLog(program);
            clReleaseProgram(program);
            throw new KernelBuildException("building " + what + " with options '"
                    + flags + "' failed on " + info.qualifiedName() + ": "
                    + CL.stringFor_errorCode(e.getStatus()) + "\n" + log, e.getStatus(), e);
        }
    }

    private String buildLog(cl_program program) {
        try {
            long[] size = new long[1];
            clGetProgramBuildInfo(program, id, CL_PROGRAM_BUILD_LOG, 0, null, size);
            byte[] bytes = new byte[(int) size[0]];
            clGetProgramBuildInfo(program, id, CL_PROGRAM_BUILD_LOG, bytes.length, Pointer.to(bytes), null);
            return new String(bytes, StandardCharsets.UTF_8).trim();
        } catch (CLException e) {
            return "(no build log: " + CL.stringFor_errorCode(e.getStatus()) + ")";
        }
    }

    /** CL_DRIVER_VERSION of this device, asked once. */
    private String driverVersion;

    synchronized String driverVersion() {
        if (driverVersion != null) {
            return driverVersion;
        }
        ensureOpen();
        long[] size = new long[1];
        clGetDeviceInfo(id, CL_DRIVER_VERSION, 0, null, size);
        byte[] bytes = new byte[(int) size[0]];
        clGetDeviceInfo(id, CL_DRIVER_VERSION, bytes.length, Pointer.to(bytes), null);
        driverVersion = new String(bytes, StandardCharsets.UTF_8).replace("\0", "").trim();
        return driverVersion;
    }

    /** {@link #sourceDigest} of each list of files, computed once: the sources are in the jar. */
    private static final java.util.Map<List<String>, String> DIGESTS = new java.util.concurrent.ConcurrentHashMap<>();

    /** A digest (CRC-32 and length) of the source a program of these files is built from (common.cl, then the files). */
    static String sourceDigest(List<String> files) {
        return DIGESTS.computeIfAbsent(List.copyOf(files), Device::digest);
    }

    private static String digest(List<String> files) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        long length = 0;
        for (String file : java.util.stream.Stream.concat(java.util.stream.Stream.of("common"), files.stream()).toList()) {
            byte[] bytes = resource(file + ".cl").getBytes(StandardCharsets.UTF_8);
            crc.update(bytes);
            length += bytes.length;
        }
        return String.format(java.util.Locale.ROOT, "%08x%08x", crc.getValue(), length);
    }

    private static String resource(String name) {
        try (InputStream in = Device.class.getResourceAsStream(KERNEL_PATH + name)) {
            if (in == null) {
                throw new IllegalStateException("kernel source missing from the classpath: "
                        + KERNEL_PATH + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A read-write buffer of {@code bytes}, checked against what the device allows first.
     *
     * @throws DeviceMemoryException when the device cannot hold it
     */
    cl_mem allocate(long bytes, String what) {
        ensureOpen();
        if (bytes > info.maxAllocationBytes()) {
            throw new DeviceMemoryException(what + " needs " + mib(bytes) + " in one buffer but "
                    + info.qualifiedName() + " allows at most " + mib(info.maxAllocationBytes())
                    + " per buffer", CL_INVALID_BUFFER_SIZE, null);
        }
        return Cl.call("clCreateBuffer for " + what + " (" + mib(bytes) + ")",
                () -> clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, null, null));
    }

    /**
     * Direct host memory with room for {@code bytes} aligned as the device wants memory under a
     * buffer ({@code CL_DEVICE_MEM_BASE_ADDR_ALIGN}): {@link #aligned} gives that region, for
     * {@link #allocateOver}. Null when it does not fit in one Java buffer.
     *
     * @throws HostMemoryException when the JVM has no direct memory left for it
     */
    ByteBuffer hostMemory(long bytes, String what) {
        // alignedSlice keeps whole units only: room for the start's shift and a rounded-up end.
        long padded = (bytes + hostAlignment - 1) / hostAlignment * hostAlignment + hostAlignment;
        if (padded > Integer.MAX_VALUE) {
            return null;
        }
        try {
            return ByteBuffer.allocateDirect((int) padded);
        } catch (OutOfMemoryError e) {
            throw HostMemoryException.of(what + " in direct memory (-XX:MaxDirectMemorySize)", bytes, e);
        }
    }

    /** The aligned region of {@code bytes} in memory from {@link #hostMemory}, in native order. */
    ByteBuffer aligned(ByteBuffer raw, long bytes) {
        return raw.alignedSlice(hostAlignment).limit((int) bytes).slice().order(ByteOrder.nativeOrder());
    }

    /**
     * A read-write buffer over {@code host} ({@code CL_MEM_USE_HOST_PTR}): the device works on that
     * memory, which the caller keeps reachable until the buffer is released and every command
     * using it has finished.
     *
     * @throws DeviceMemoryException when the device cannot hold it
     */
    cl_mem allocateOver(ByteBuffer host, String what) {
        ensureOpen();
        long bytes = host.capacity();
        if (bytes > info.maxAllocationBytes()) {
            throw new DeviceMemoryException(what + " needs " + mib(bytes) + " in one buffer but "
                    + info.qualifiedName() + " allows at most " + mib(info.maxAllocationBytes())
                    + " per buffer", CL_INVALID_BUFFER_SIZE, null);
        }
        return Cl.call("clCreateBuffer over host memory for " + what + " (" + mib(bytes) + ")",
                () -> clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, bytes,
                        Pointer.toBuffer(host), null));
    }

    /** Whether {@link #close} has run. */
    boolean isClosed() {
        return closed;
    }

    static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the device " + info.qualifiedName() + " is closed");
        }
    }

    /** Releases the kernels' programs, the queue and the context. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            // Buffers over Java memory may still be in use by enqueued commands: let them end
            // while their owners still hold that memory.
            clFinish(queue);
        } catch (CLException e) {
            // A failed queue has nothing left to run.
        }
        programs.values().forEach(CL::clReleaseProgram);
        programs.clear();
        clReleaseCommandQueue(queue);
        clReleaseContext(context);
    }
}
