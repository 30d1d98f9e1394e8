package org.clopt;

import static org.jocl.CL.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * The OpenCL path: device buffers for parameters, gradients and each state array, and one
 * launch of {@code <algorithm>_step} per step over a range (two when the range is not a multiple
 * of the work-group size, see {@link LaunchShape}). A step sets the scalar arguments that changed
 * and enqueues; it never waits, reads back or transfers arrays.
 */
final class ClEngine extends Engine {
    private final Device device;
    /**
     * Parameters, gradients, then each state array, then the averaged parameters if made; empty
     * when the size is 0.
     */
    private cl_mem[] buffers;
    /**
     * The Java memory under the gradient buffer ({@code CL_MEM_USE_HOST_PTR}) on a device that
     * shares memory with the host, for an fp32 group: {@link #gradientView} hands out slices of
     * the aligned region. Null otherwise. Never dropped while in use: a view and the set keep it
     * alive, so that neither a view used after close nor a command still running writes into
     * freed memory; without views, close frees it at once (see {@link #free}).
     */
    private final ByteBuffer hostMemory;
    private final ByteBuffer hostGradients;
    /** Whether {@link #gradientView} has handed out a view of {@link #hostGradients}. */
    private boolean viewed;
    /** Why the gradients cannot be handed out as a view, or null when they can. */
    private final String noView;
    /** The mapping of the whole gradient buffer while the host has it, else null. */
    private ByteBuffer mapped;
    /**
     * The step kernel's variants, made on first use: index 1 multiplies gradients by the clip
     * coefficient ({@code -DCLOPT_GRAD_SCALE}), index 2 is for steps whose weight_decay is 0
     * ({@code -DCLOPT_NO_WEIGHT_DECAY}: the same results, without the check that POCL leaves
     * inside the vectorized loop). What each holds now, to set only what changed: its gradient
     * scale (argument 2), unscale factor and rounding key (4 and 5) and scalars.
     */
    private final cl_kernel[] variants = new cl_kernel[4];
    private final cl_mem[] scaleSet = new cl_mem[4];
    private final float[] unscaleSet = {1f, 1f, 1f, 1f};
    private final int[] keySet = new int[4];
    private final float[][] scalarsSet = new float[4][];
    /** With int8 state, the table rows each variant was last launched over (first, end). */
    private final int[][] rowsSet = new int[4][];
    /** The algorithm's build options and the precision's. */
    private final String options;
    /** The kernel files of the program: the algorithm's, after reduce.cl's for per-tensor norms. */
    private final List<String> files;
    /** The per-tensor passes ({@link OptimizerConfig#perTensorStep()}), made on first use. */
    private Kernel partials;
    private Kernel finish;
    private Kernel apply;
    /** The chunk table, tensor ends, partial norms and factors of the last run's bounds. */
    private ChunkTables tables;
    private DeviceBuffer factorBuffer;
    private final long localSize;
    private final ParameterSet.WorkGroups workGroups;

    /**
     * With int8 state: each state array's fp32 values and block maxima (its codes are
     * {@link #buffers}' entry), the block table and the code maps (signed, then unsigned).
     */
    private final Closer int8Parts = new Closer();
    private DeviceBuffer[] int8Fp32;
    private DeviceBuffer[] int8Absmax;
    private DeviceBuffer int8Table;
    private DeviceBuffer int8Maps;
    private DeviceBuffer int8Buckets;
    /** Whether int8 blocks run one per work-item (CPUs), else one per work-group (see common.cl). */
    private final boolean int8Serial;

    ClEngine(Device device, OptimizerConfig layout, Precision precision, int size, int[] stateSizes,
             boolean onHost) {
        this(device, layout, precision, size, stateSizes, new int[] {size}, onHost);
    }

    ClEngine(Device device, OptimizerConfig layout, Precision precision, int size, int[] stateSizes,
             int[] tensorSizes, boolean onHost) {
        this(device, layout, precision, size, stateSizes, tensorSizes, onHost, 0);
    }

    /**
     * An engine whose step kernel runs work-groups of {@code workGroupSize} (0: the tuned size
     * for this kernel on this device if {@code clopt tune} measured one, else the rule).
     */
    ClEngine(Device device, OptimizerConfig layout, Precision precision, int size, int[] stateSizes,
             int[] tensorSizes, boolean onHost, long workGroupSize) {
        super(layout, precision, size, stateSizes, tensorSizes);
        this.device = device;
        this.files = files(layout);
        device.ensureOpen();
        int arrays = 2 + stateNames.size() + (precision.masterWeights() ? 1 : 0);
        long total = 0;
        for (int a = 0; a < arrays; a++) {
            total += isInt8(a) ? int8.codeCount + 4L * (int8.floatCount + int8.absmaxCount) : bytes(a, length(a));
        }
        if (total > device.info().globalMemoryBytes()) {
            throw new DeviceMemoryException(algorithm + " on " + size + " elements needs "
                    + Device.mib(total) + " (" + arrays + " arrays) but "
                    + device.info().qualifiedName() + " has " + Device.mib(device.info().globalMemoryBytes())
                    + " of global memory", CL_MEM_OBJECT_ALLOCATION_FAILURE, null);
        }
        int8Serial = int8 != null && serialInt8(device);
        options = baseOptions(device, layout, precision);
        ByteBuffer host = null;
        if (!onHost) {
            noView = "the set was built without Builder.hostGradients(true)";
        } else if (!device.info().hostUnifiedMemory()) {
            noView = device.info().qualifiedName() + " does not share memory with the host"
                    + " (CL_DEVICE_HOST_UNIFIED_MEMORY is false)";
        } else if (precision.is16Bit()) {
            noView = "its gradients are " + precision.dtype().cliName() + ", which a FloatBuffer cannot hold";
        } else {
            host = size > 0 ? device.hostMemory(bytes(GRADIENTS, size), arrayName(GRADIENTS)) : null;
            noView = size > 0 && host == null
                    ? "its gradients (" + Device.mib(bytes(GRADIENTS, size)) + ") do not fit in one Java buffer" : null;
        }
        hostMemory = host;
        hostGradients = host == null ? null : device.aligned(host, bytes(GRADIENTS, size));
        // No buffers for no elements (an empty tensor's col_var still has its columns).
        buffers = new cl_mem[total > 0 ? arrays : 0];
        try {
            if (int8 != null && buffers.length > 0) {
                allocateInt8();
            }
            for (int a = 0; a < buffers.length; a++) {
                buffers[a] = isInt8(a) ? device.allocate(Math.max(1, int8.codeCount), arrayName(a) + " codes")
                        : a == GRADIENTS && hostGradients != null
                        ? device.allocateOver(hostGradients, arrayName(a))
                        : device.allocate(bytes(a, Math.max(1, length(a))), arrayName(a));
                fill(a, 0, length(a), a < 2 || a == workingArray() ? 0f : layout.initialState(a - 2));
            }
            // The variant the configuration steps with, made now: a kernel that does not build
            // fails here, at creation, not in a step.
            cl_kernel k = layout instanceof Adafactor ? null : variant(variant(false, layout));
            Kernel[] passes = layout instanceof Adafactor ? adafactorKernels() : null;
            if (int8 != null && !int8Serial && LaunchShape.maxLocalSize(k) < Int8State.BLOCK) {
                throw new UnsupportedOperationException(algorithm + " with state_dtype=int8 runs work-groups of "
                        + Int8State.BLOCK + " but " + device.info().qualifiedName() + " allows "
                        + LaunchShape.maxLocalSize(k) + " for its kernel");
            }
            // Lazy allocators surface an out-of-memory here, at creation, not in a step.
            device.finish();
            localSize = passes != null ? passes[ADAFACTOR_APPLY].localSize() : stepLocalSize(k, workGroupSize);
            workGroups = describe(k, localSize, workGroupSize);
        } catch (RuntimeException e) {
            releaseKernels();
            if (adafactor != null) {
                for (Kernel a : adafactor) {
                    a.close();
                }
                one.close();
            }
            releaseBuffers(buffers);
            int8Parts.closeQuietlyAfter(e);
            throw e;
        }
    }

    private void allocateInt8() {
        int states = stateNames.size();
        int8Fp32 = new DeviceBuffer[states];
        int8Absmax = new DeviceBuffer[states];
        for (int k = 0; k < states; k++) {
            int8Fp32[k] = int8Parts.add(DeviceBuffer.allocate(device, 4L * Math.max(1, int8.floatCount),
                    stateNames.get(k) + " (fp32 tensors)"));
            int8Absmax[k] = int8Parts.add(DeviceBuffer.allocate(device, 4L * Math.max(1, int8.absmaxCount),
                    stateNames.get(k) + " absmax"));
        }
        int8Table = int8Parts.add(DeviceBuffer.of(device, int8.table.length == 0 ? new int[4] : int8.table,
                "the int8 block table"));
        float[] maps = new float[512];
        System.arraycopy(Int8State.SIGNED, 0, maps, 0, 256);
        System.arraycopy(Int8State.UNSIGNED, 0, maps, 256, 256);
        int8Maps = int8Parts.add(DeviceBuffer.of(device, maps, "the int8 code maps"));
        byte[] buckets = new byte[4 * Int8State.BUCKETS];
        System.arraycopy(Int8State.SIGNED_BUCKETS, 0, buckets, 0, 2 * Int8State.BUCKETS);
        System.arraycopy(Int8State.UNSIGNED_BUCKETS, 0, buckets, 2 * Int8State.BUCKETS, 2 * Int8State.BUCKETS);
        int8Buckets = int8Parts.add(DeviceBuffer.allocate(device, buckets.length, "the int8 search tables"));
        Cl.run("writing the int8 search tables", () -> clEnqueueWriteBuffer(device.queue(), int8Buckets.handle(),
                CL_TRUE, 0, buckets.length, Pointer.to(buckets), 0, null, null));
    }

    @Override
    void readCodes(int k, int from, byte[] dst) {
        if (dst.length > 0) {
            device.ensureOpen();
            Cl.run("reading " + stateNames.get(k) + " codes", () -> clEnqueueReadBuffer(device.queue(), buffers[2 + k],
                    CL_TRUE, from, dst.length, Pointer.to(dst), 0, null, null));
        }
    }

    @Override
    void writeCodes(int k, int from, byte[] src) {
        if (src.length > 0) {
            device.ensureOpen();
            Cl.run("writing " + stateNames.get(k) + " codes", () -> clEnqueueWriteBuffer(device.queue(),
                    buffers[2 + k], CL_TRUE, from, src.length, Pointer.to(src), 0, null, null));
        }
    }

    @Override
    void readInt8Floats(int k, boolean absmax, int from, float[] dst) {
        if (dst.length > 0) {
            device.ensureOpen();
            cl_mem m = (absmax ? int8Absmax : int8Fp32)[k].handle();
            Cl.run("reading " + stateNames.get(k), () -> clEnqueueReadBuffer(device.queue(), m, CL_TRUE, 4L * from,
                    4L * dst.length, Pointer.to(dst), 0, null, null));
        }
    }

    @Override
    void writeInt8Floats(int k, boolean absmax, int from, float[] src) {
        if (src.length > 0) {
            device.ensureOpen();
            cl_mem m = (absmax ? int8Absmax : int8Fp32)[k].handle();
            Cl.run("writing " + stateNames.get(k), () -> clEnqueueWriteBuffer(device.queue(), m, CL_TRUE, 4L * from,
                    4L * src.length, Pointer.to(src), 0, null, null));
        }
    }

    /** The kernel files of a configuration's program: its algorithm's, after reduce.cl's for per-tensor norms. */
    static List<String> files(OptimizerConfig layout) {
        return layout.perTensorStep() != null || layout instanceof Adafactor
                ? List.of("reduce", layout.algorithm()) : List.of(layout.algorithm());
    }

    /** The build options of a configuration's step kernel in this precision on this device (no variant). */
    static String baseOptions(Device device, OptimizerConfig layout, Precision precision) {
        boolean serial = layout.quantizesState() && serialInt8(device);
        return layout.buildOptions() + precision.buildOptions()
                + (serial ? " -DCLOPT_INT8_SERIAL -DCLOPT_ROWS_PER_ITEM=" + SERIAL_ROWS : "");
    }

    /**
     * Whether int8 state runs a block per work-item here: on CPUs. The system property
     * clopt.int8WorkGroups runs a CPU the GPUs' way, for tests of it.
     */
    private static boolean serialInt8(Device device) {
        return device.info().type().equals("CPU") && !Boolean.getBoolean("clopt.int8WorkGroups");
    }

    /** Bytes of {@code count} elements of array {@code array}. */
    private long bytes(int array, long count) {
        return dtype(array).bytes() * count;
    }

    /**
     * The step kernel's work-group size: as asked, else the tuned one, else the rule; never
     * more than the kernel allows.
     */
    private long stepLocalSize(cl_kernel k, long asked) {
        long max = LaunchShape.maxLocalSize(k);
        if (asked > 0) {
            if (asked > max) {
                throw new IllegalArgumentException("work-group size " + asked + " exceeds the " + max + " that "
                        + algorithm + "_step allows on " + device.info().qualifiedName());
            }
            return asked;
        }
        tuned = LaunchTuning.tuned(device, files, options);
        return tuned.isPresent() && tuned.getAsLong() <= max ? tuned.getAsLong()
                : LaunchShape.localSizeFor(device.info(), k);
    }

    /** The cache's size for the step kernel, as {@link #stepLocalSize} found it (empty: none, or asked). */
    private java.util.OptionalLong tuned = java.util.OptionalLong.empty();

    /** What {@link #workGroups()} reports for kernel {@code k} running work-groups of {@code size}. */
    private ParameterSet.WorkGroups describe(cl_kernel k, long size, long asked) {
        if (k == null || int8 != null) {
            return new ParameterSet.WorkGroups(0, 0, 0, false);
        }
        long max = LaunchShape.maxLocalSize(k);
        boolean fromCache = asked == 0 && tuned.isPresent() && tuned.getAsLong() <= max;
        return new ParameterSet.WorkGroups(size, LaunchShape.localSizeFor(device.info(), k), max, fromCache);
    }

    /** The step kernel's work-group sizes: in force, rule, limit, and whether tuned. */
    ParameterSet.WorkGroups workGroups() {
        return workGroups;
    }

    /** The arguments before the state arrays: p, grad, grad_scale, working, unscale, rounding_key. */
    private static final int LEADING = 6;

    private void setBuffers(cl_kernel k) {
        Cl.run("clSetKernelArg", () -> {
            if (buffers.length == 0) {
                return;
            }
            clSetKernelArg(k, 0, Sizeof.cl_mem, Pointer.to(buffers[PARAMETERS]));
            clSetKernelArg(k, 1, Sizeof.cl_mem, Pointer.to(buffers[GRADIENTS]));
            // Every argument must be set: grad_scale is read only by the scaled variant, working
            // only with master weights; both point at the gradients until then.
            clSetKernelArg(k, 2, Sizeof.cl_mem, Pointer.to(buffers[GRADIENTS]));
            clSetKernelArg(k, 3, Sizeof.cl_mem, Pointer.to(buffers[workingArray()]));
            clSetKernelArg(k, 4, Sizeof.cl_float, Pointer.to(new float[] {1f}));
            clSetKernelArg(k, 5, Sizeof.cl_uint, Pointer.to(new int[] {0}));
            if (int8 != null) {
                clSetKernelArg(k, LEADING, Sizeof.cl_mem, Pointer.to(int8Table.handle()));
                clSetKernelArg(k, LEADING + 1, Sizeof.cl_mem, Pointer.to(int8Maps.handle()));
                clSetKernelArg(k, LEADING + 2, Sizeof.cl_mem, Pointer.to(int8Buckets.handle()));
                for (int a = 0; a < stateNames.size(); a++) {
                    int at = LEADING + INT8_LEADING + INT8_STATE_ARGS * a;
                    clSetKernelArg(k, at, Sizeof.cl_mem, Pointer.to(buffers[2 + a]));
                    clSetKernelArg(k, at + 1, Sizeof.cl_mem, Pointer.to(int8Fp32[a].handle()));
                    clSetKernelArg(k, at + 2, Sizeof.cl_mem, Pointer.to(int8Absmax[a].handle()));
                    clSetKernelArg(k, at + 3, Sizeof.cl_uint, Pointer.to(new int[] {map(a) == Int8State.SIGNED ? 0 : 256}));
                }
                return;
            }
            for (int a = 0; a < stateNames.size(); a++) {
                clSetKernelArg(k, LEADING + a, Sizeof.cl_mem, Pointer.to(buffers[2 + a]));
            }
        });
    }

    /**
     * Blocks each work-item of a serial int8 kernel steps, one after another. Work-groups are of
     * one work-item, so that POCL vectorizes each loop along its block rather than across
     * work-items (which would gather every array at a stride of a block).
     */
    private static final int SERIAL_ROWS = 16;

    /** Arguments of each int8 state array: codes, fp32 values, absmax, map offset. */
    private static final int INT8_STATE_ARGS = 4;
    /**
     * The int8 arguments before the state arrays: block table, code maps, search tables, and the
     * launch's first and end rows of the table.
     */
    private static final int INT8_LEADING = 5;

    /** The index of the first per-step scalar argument. */
    private int firstScalar() {
        return int8 != null ? LEADING + INT8_LEADING + INT8_STATE_ARGS * stateNames.size()
                : LEADING + stateNames.size();
    }

    /** The buffer behind transfer index {@code array}, for views on the device; null if empty. */
    cl_mem buffer(int array) {
        deviceUse(array);
        return buffers.length == 0 ? null : buffers[array];
    }

    @Override
    String gradientViewUnavailable() {
        return noView;
    }

    /**
     * Maps the gradient buffer for the host, if it is not mapped yet: a blocking map, which also
     * waits until the commands enqueued before it (a step reading these gradients) are done.
     */
    @Override
    FloatBuffer gradientView(int from, int count) {
        if (noView != null) {
            throw new IllegalStateException(noView);
        }
        if (size == 0) {
            return FloatBuffer.allocate(0);
        }
        device.ensureOpen();
        if (mapped == null) {
            mapped = Cl.call("mapping the gradients for the host", () -> clEnqueueMapBuffer(device.queue(),
                    buffers[GRADIENTS], CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, bytes(GRADIENTS, size),
                    0, null, null, null));
        }
        // With CL_MEM_USE_HOST_PTR the mapping is the host memory itself (OpenCL 1.2, 5.4.2):
        // a view is a slice of it, and holds it alive.
        viewed = true;
        return hostGradients.slice(4 * from, 4 * count).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /**
     * Every device-side use of array {@code array} comes here first: a use of the gradients
     * ends the host's mapping, enqueued before the use, so that the device sees what the host
     * wrote.
     */
    private void deviceUse(int array) {
        if (array == GRADIENTS && mapped != null) {
            ByteBuffer m = mapped;
            Cl.run("unmapping the gradients", () -> clEnqueueUnmapMemObject(device.queue(), buffers[GRADIENTS], m,
                    0, null, null));
            mapped = null;
        }
    }

    @Override
    void run(OptimizerConfig config, float[] scalars, int from, int to, StepInput input) {
        if (from == to) {
            return;
        }
        device.ensureOpen();
        deviceUse(GRADIENTS);
        SetKernels.GradScale scale = input.clip();
        boolean scaled = scale.buffer() != null;
        int v = variant(scaled, config);
        cl_kernel k = variant(v);
        Cl.run("enqueue " + algorithm + "_step", () -> {
            if (scaled && scale.buffer() != scaleSet[v]) {
                clSetKernelArg(k, 2, Sizeof.cl_mem, Pointer.to(scale.buffer()));
                scaleSet[v] = scale.buffer();
            }
            // Compare bits, not values: NaN and -0 must be set too.
            if (Float.floatToRawIntBits(unscaleSet[v]) != Float.floatToRawIntBits(input.unscale())) {
                clSetKernelArg(k, 4, Sizeof.cl_float, Pointer.to(new float[] {input.unscale()}));
                unscaleSet[v] = input.unscale();
            }
            if (keySet[v] != input.roundingKey()) {
                clSetKernelArg(k, 5, Sizeof.cl_uint, Pointer.to(new int[] {input.roundingKey()}));
                keySet[v] = input.roundingKey();
            }
            float[] held = scalarsSet[v];
            int first = firstScalar();
            for (int i = 0; i < scalars.length; i++) {
                if (held == null || Float.floatToRawIntBits(held[i]) != Float.floatToRawIntBits(scalars[i])) {
                    clSetKernelArg(k, first + i, Sizeof.cl_float, Pointer.to(new float[] {scalars[i]}));
                }
            }
            scalarsSet[v] = scalars;
            if (int8 != null) {
                int[] blocks = int8.blocks(from, to);
                long rows = blocks[1] - blocks[0];
                if (rows > 0) {
                    if (!Arrays.equals(rowsSet[v], blocks)) {
                        clSetKernelArg(k, LEADING + 3, Sizeof.cl_uint, Pointer.to(new int[] {blocks[0]}));
                        clSetKernelArg(k, LEADING + 4, Sizeof.cl_uint, Pointer.to(new int[] {blocks[1]}));
                        rowsSet[v] = blocks;
                    }
                    // Serial: each work-item steps SERIAL_ROWS rows from blocks[0] + id * SERIAL_ROWS.
                    // Else a work-group per row: row blocks[0] + get_global_id(0) / CLOPT_BLOCK.
                    long items = int8Serial ? (rows + SERIAL_ROWS - 1) / SERIAL_ROWS : rows * Int8State.BLOCK;
                    clEnqueueNDRangeKernel(device.queue(), k, 1, null, new long[] {items},
                            new long[] {int8Serial ? 1 : Int8State.BLOCK}, 0, null, null);
                }
                return;
            }
            LaunchShape.of(from, to, localSize).enqueue(device.queue(), k, null);
        });
    }

    /** The index of the step kernel's variant for a step of {@code config}, clipped or not. */
    private static int variant(boolean scaled, OptimizerConfig config) {
        // An algorithm without the hyperparameter passes a weight decay of 0 to clopt_grad.
        boolean noDecay = !(config.hyperparameters().get("weight_decay") instanceof Number wd)
                || wd.doubleValue() == 0;
        return (scaled ? 1 : 0) | (noDecay ? 2 : 0);
    }

    /** Variant {@code v} of the step kernel, made (and its buffers set) on first use. */
    private cl_kernel variant(int v) {
        if (variants[v] == null) {
            String extra = ((v & 1) != 0 ? " -DCLOPT_GRAD_SCALE" : "") + ((v & 2) != 0 ? " -DCLOPT_NO_WEIGHT_DECAY" : "");
            cl_kernel k = device.createKernel(files, algorithm + "_step", options + extra);
            try {
                setBuffers(k);
            } catch (RuntimeException e) {
                clReleaseKernel(k);
                throw e;
            }
            variants[v] = k;
        }
        return variants[v];
    }

    /** Work-items (chunks) per work-group of the per-chunk passes, as reduce.cl's. */
    private static final int CHUNK_GROUP = 64;

    @Override
    void runPerTensor(PerTensorStep config, float[] scalars, int[] bounds) {
        device.ensureOpen();
        if (partials == null) {
            partials = Kernel.wrap(device, algorithm + "_partials",
                    device.createKernel(files, algorithm + "_partials", options));
            finish = Kernel.wrap(device, algorithm + "_finish",
                    device.createKernel(files, algorithm + "_finish", options));
            apply = Kernel.wrap(device, algorithm + "_apply",
                    device.createKernel(files, algorithm + "_apply", options));
        }
        ChunkTables now = ChunkTables.of(tables, device, bounds.clone(), () -> chunks(bounds),
                config.reducedCount(), "the per-tensor");
        if (now != tables) {
            tables = now;
            if (factorBuffer != null) {
                factorBuffer.close();
                factorBuffer = null;
            }
            factorBuffer = DeviceBuffer.allocate(device, 4L * Math.max(1, now.chunkCount), "the per-tensor factors");
        }
        int chunkCount = tables.chunkCount;
        for (Kernel k : new Kernel[] {partials, apply}) {
            k.arg(0, tables.chunks).arg(1, k == partials ? tables.partials : factorBuffer).arg(2, chunkCount);
            for (int a = 0; a < stateNames.size() + 1; a++) {
                k.arg(3 + a, buffers[a == 0 ? PARAMETERS : a + 1]);
            }
            for (int i = 0; i < scalars.length; i++) {
                k.arg(4 + stateNames.size() + i, scalars[i]);
            }
        }
        // The working copy lamb_apply rounds the master weights into (unused without them).
        apply.arg(4 + stateNames.size() + scalars.length, buffers[workingArray()]);
        partials.launch(0, chunkCount, CHUNK_GROUP);
        finish.arg(0, tables.partials).arg(1, tables.tensorEnds).arg(2, bounds.length - 1).arg(3, chunkCount)
                .arg(4, factorBuffer).launch(0, 1);
        apply.launch(0, chunkCount, CHUNK_GROUP);
    }

    /** adafactor.cl's kernels, in {@link #ADAFACTOR_KERNELS}' order, made on first use. */
    private Kernel[] adafactor;
    private static final String[] ADAFACTOR_KERNELS = {"adafactor_rows", "adafactor_cols", "adafactor_batches",
        "adafactor_partials", "adafactor_finish", "adafactor_apply"};
    private static final int ADAFACTOR_APPLY = 5;
    /** The tables of the last run's layout, on the device. */
    private AdafactorTables adafactorTables;
    /** A clip coefficient of 1, for steps without clipping. */
    private DeviceBuffer one;

    private Kernel[] adafactorKernels() {
        if (adafactor == null) {
            Kernel[] made = new Kernel[ADAFACTOR_KERNELS.length];
            try {
                for (int i = 0; i < made.length; i++) {
                    made[i] = Kernel.wrap(device, ADAFACTOR_KERNELS[i],
                            device.createKernel(files, ADAFACTOR_KERNELS[i], options));
                }
                one = DeviceBuffer.of(device, new float[] {1f}, "a clip coefficient of 1");
            } catch (RuntimeException e) {
                for (Kernel k : made) {
                    if (k != null) {
                        k.close();
                    }
                }
                throw e;
            }
            adafactor = made;
        }
        return adafactor;
    }

    /** {@link Adafactor.Tables} on the device, with room for the partial norms and coefficients. */
    private static final class AdafactorTables implements AutoCloseable {
        final int[] key;
        final Adafactor.Tables tables;
        final DeviceBuffer factored;
        final DeviceBuffer chunks;
        final DeviceBuffer tensorEnds;
        final DeviceBuffer cursors;
        final DeviceBuffer rootSizes;
        final DeviceBuffer partials;
        final DeviceBuffer coefficients;
        /** Per row of row_var: row_var / mean and its 1 / sqrt; per column of col_var: 1 / sqrt(col_var). */
        final DeviceBuffer rowFactors;
        final DeviceBuffer rowRs;
        final DeviceBuffer colRs;
        private final Closer made = new Closer();

        AdafactorTables(Device device, int[] key, Adafactor.Tables t, int rowVarLength, int colVarLength) {
            this.key = key;
            this.tables = t;
            int chunkCount = t.chunks().length / 2;
            try {
                factored = made.add(DeviceBuffer.of(device, t.factored(), "adafactor's factored tensors"));
                chunks = made.add(DeviceBuffer.of(device, t.chunks(), "adafactor's chunks"));
                tensorEnds = made.add(DeviceBuffer.of(device, t.tensorEnds(), "adafactor's tensor ends"));
                cursors = made.add(DeviceBuffer.of(device, t.cursors(), "adafactor's chunk cursors"));
                rootSizes = made.add(DeviceBuffer.of(device, t.rootSizes(), "adafactor's sqrt(numel)"));
                partials = made.add(DeviceBuffer.allocate(device, 8L * chunkCount, "adafactor's partial norms"));
                coefficients = made.add(DeviceBuffer.allocate(device, 4L * chunkCount, "adafactor's coefficients"));
                rowFactors = made.add(DeviceBuffer.allocate(device, 4L * Math.max(1, rowVarLength),
                        "adafactor's row factors"));
                rowRs = made.add(DeviceBuffer.allocate(device, 4L * Math.max(1, rowVarLength),
                        "adafactor's row reciprocal roots"));
                colRs = made.add(DeviceBuffer.allocate(device, 4L * Math.max(1, colVarLength),
                        "adafactor's column reciprocal roots"));
            } catch (RuntimeException e) {
                made.closeQuietlyAfter(e);
                throw e;
            }
        }

        @Override
        public void close() {
            made.close();
        }
    }

    /** The layout of a run, compared element by element. */
    private static int[] key(List<TensorLayout> run) {
        List<Integer> key = new java.util.ArrayList<>();
        for (TensorLayout t : run) {
            key.add(t.offset());
            key.add(t.size());
            key.add(t.shape().length);
            Arrays.stream(t.shape()).forEach(key::add);
            Arrays.stream(t.stateOffsets()).forEach(key::add);
        }
        return key.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Work-items per work-group of adafactor's passes, each of which loops over a row, column or chunk. */
    private static final int ADAFACTOR_GROUP = 64;
    /** Work-items per work-group of the column statistics: a 4096-column matrix has 64 strips. */
    private static final int STRIP_GROUP = 8;

    @Override
    void runAdafactor(Adafactor config, float[] scalars, List<TensorLayout> run, StepInput input) {
        device.ensureOpen();
        deviceUse(GRADIENTS);
        Kernel[] k = adafactorKernels();
        int[] key = key(run);
        if (adafactorTables == null || !Arrays.equals(adafactorTables.key, key)) {
            if (adafactorTables != null) {
                adafactorTables.close();
                adafactorTables = null;
            }
            adafactorTables = new AdafactorTables(device, key, Adafactor.Tables.of(run), length(2), length(3));
        }
        AdafactorTables at = adafactorTables;
        Adafactor.Tables t = at.tables;
        int chunkCount = t.chunks().length / 2;
        if (chunkCount == 0 || buffers.length == 0) {
            return;
        }
        cl_mem clip = input.clip().buffer() != null ? input.clip().buffer() : one.handle();
        float w = scalars[0];
        float oneMinusW = scalars[1];
        cl_mem p = buffers[PARAMETERS];
        cl_mem grad = buffers[GRADIENTS];
        cl_mem rowVar = buffers[2];
        cl_mem colVar = buffers[3];
        cl_mem variance = buffers[4];
        if (t.factoredCount() > 0) {
            k[0].arg(0, at.factored).arg(1, t.factoredCount()).arg(2, grad).arg(3, clip).arg(4, input.unscale())
                    .arg(5, rowVar).arg(6, w).arg(7, oneMinusW).launch(0, t.rows(), ADAFACTOR_GROUP);
            k[1].arg(0, at.factored).arg(1, t.factoredCount()).arg(2, grad).arg(3, clip).arg(4, input.unscale())
                    .arg(5, colVar).arg(6, at.colRs).arg(7, w).arg(8, oneMinusW).launch(0, t.strips(), STRIP_GROUP);
            k[2].arg(0, at.factored).arg(1, t.factoredCount()).arg(2, rowVar).arg(3, at.rowFactors).arg(4, at.rowRs)
                    .arg(5, scalars[2]).launch(0, t.matrices(), ADAFACTOR_GROUP);
        }
        // The chunk passes share their arguments: tables, p, grad, grad_scale, unscale, the
        // statistics, variance, w, 1 - w, eps1^2, 1 / sqrt(eps1^2); the update adds its decay.
        for (Kernel pass : new Kernel[] {k[3], k[5]}) {
            pass.arg(0, at.chunks).arg(1, at.cursors).arg(2, pass == k[3] ? at.partials : at.coefficients)
                    .arg(3, chunkCount).arg(4, p).arg(5, grad).arg(6, clip).arg(7, input.unscale()).arg(8, at.rowFactors).arg(9, at.rowRs)
                    .arg(10, colVar).arg(11, at.colRs).arg(12, variance).arg(13, w).arg(14, oneMinusW)
                    .arg(15, scalars[3]).arg(16, scalars[8]);
        }
        k[3].launch(0, chunkCount, ADAFACTOR_GROUP);
        k[4].arg(0, at.partials).arg(1, at.tensorEnds).arg(2, run.size()).arg(3, chunkCount).arg(4, at.rootSizes)
                .arg(5, at.coefficients).arg(6, scalars[4]).arg(7, scalars[5]).arg(8, scalars[7]).launch(0, 1);
        // The working copy the update rounds the master weights into (unused without them).
        k[5].arg(17, scalars[6]).arg(18, buffers[workingArray()]).launch(0, chunkCount, ADAFACTOR_GROUP);
    }

    private void closeTables() {
        Closer all = new Closer();
        if (tables != null) {
            all.add(tables);
        }
        if (factorBuffer != null) {
            all.add(factorBuffer);
        }
        all.close();
        tables = null;
        factorBuffer = null;
    }

    @Override
    void allocateAveraged() {
        if (buffers.length == averagedArray()) {
            cl_mem averaged = device.allocate(bytes(averagedArray(), size), arrayName(averagedArray()));
            buffers = Arrays.copyOf(buffers, buffers.length + 1);
            buffers[buffers.length - 1] = averaged;
            fill(buffers.length - 1, 0, size, 0f);
        }
    }

    @Override
    void write(int array, int from, FloatBuffer src) {
        if (isInt8(array)) {
            device.ensureOpen();
            writeInt8(array, from, src);
            return;
        }
        int count = src.remaining();
        if (count == 0) {
            return;
        }
        device.ensureOpen();
        deviceUse(array);
        Dtype dtype = dtype(array);
        Pointer host = dtype == Dtype.FP32 ? host(src) : Pointer.to(bits(dtype, src));
        Cl.run("writing " + arrayName(array), () -> clEnqueueWriteBuffer(device.queue(), buffers[array],
                CL_TRUE, bytes(array, from), bytes(array, count), host, 0, null, null));
    }

    /** {@code src}'s remaining floats rounded to nearest even into {@code dtype}. */
    private static short[] bits(Dtype dtype, FloatBuffer src) {
        short[] bits = new short[src.remaining()];
        FloatBuffer in = src.duplicate();
        for (int i = 0; i < bits.length; i++) {
            bits[i] = dtype.toBits(in.get());
        }
        return bits;
    }

    @Override
    void read(int array, int from, FloatBuffer dst) {
        if (isInt8(array)) {
            device.ensureOpen();
            readInt8(array, from, dst);
            return;
        }
        int count = dst.remaining();
        if (count == 0) {
            return;
        }
        device.ensureOpen();
        deviceUse(array);
        Dtype dtype = dtype(array);
        if (dtype != Dtype.FP32) {
            short[] bits = new short[count];
            Cl.run("reading " + arrayName(array), () -> clEnqueueReadBuffer(device.queue(), buffers[array],
                    CL_TRUE, bytes(array, from), bytes(array, count), Pointer.to(bits), 0, null, null));
            FloatBuffer out = dst.duplicate();
            for (short b : bits) {
                out.put(dtype.fromBits(b));
            }
            return;
        }
        if (usableInPlace(dst)) {
            Cl.run("reading " + arrayName(array), () -> clEnqueueReadBuffer(device.queue(), buffers[array],
                    CL_TRUE, 4L * from, 4L * count, Pointer.toBuffer(dst), 0, null, null));
            return;
        }
        float[] copy = new float[count];
        Cl.run("reading " + arrayName(array), () -> clEnqueueReadBuffer(device.queue(), buffers[array],
                CL_TRUE, 4L * from, 4L * count, Pointer.to(copy), 0, null, null));
        dst.duplicate().put(copy);
    }

    /**
     * A host pointer to {@code src}'s remaining floats. Direct buffers in the device's byte order
     * and array-backed ones are used in place; any other (a big-endian direct buffer, a view of
     * a heap ByteBuffer) is copied, so that every FloatBuffer gives the same floats.
     */
    static Pointer host(FloatBuffer src) {
        if (usableInPlace(src)) {
            return Pointer.toBuffer(src);
        }
        float[] copy = new float[src.remaining()];
        src.duplicate().get(copy);
        return Pointer.to(copy);
    }

    private static boolean usableInPlace(FloatBuffer b) {
        return b.hasArray() || (b.isDirect() && b.order() == ByteOrder.nativeOrder());
    }

    @Override
    void fill(int array, int from, int count, float value) {
        if (isInt8(array)) {
            fillInt8(array, from, count, value);
            return;
        }
        if (count == 0) {
            return;
        }
        deviceUse(array);
        Dtype dtype = dtype(array);
        Pointer pattern = dtype == Dtype.FP32 ? Pointer.to(new float[] {value})
                : Pointer.to(new short[] {dtype.toBits(value)});
        Cl.run("filling " + arrayName(array), () -> clEnqueueFillBuffer(device.queue(), buffers[array],
                pattern, dtype.bytes(), bytes(array, from), bytes(array, count), 0, null, null));
    }

    @Override
    public void close() {
        boolean idle = false;
        if (hostGradients != null && !device.isClosed()) {
            try {
                deviceUse(GRADIENTS);
                // Commands using the Java memory end before the buffer over it is released.
                clFinish(device.queue());
                idle = true;
            } catch (RuntimeException e) {
                // Released below all the same; the set still holds the memory.
            }
        }
        try {
            closeDevice();
        } finally {
            if (idle && !viewed) {
                free(hostMemory);
            }
        }
    }

    /**
     * Frees direct memory now rather than when the collector finds it unreachable, which a loop
     * that makes sets but little garbage may put off until the JVM's direct-memory limit: only
     * memory of which no view was ever handed out, and no command uses any more. Left to the
     * collector where the JDK does not offer it.
     */
    private static void free(ByteBuffer memory) {
        if (INVOKE_CLEANER == null) {
            return;
        }
        try {
            INVOKE_CLEANER.invoke(UNSAFE, memory);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // The collector frees it.
        }
    }

    private static final Object UNSAFE;
    private static final java.lang.reflect.Method INVOKE_CLEANER;

    static {
        Object unsafe = null;
        java.lang.reflect.Method invoke = null;
        try {
            Class<?> type = Class.forName("sun.misc.Unsafe");
            java.lang.reflect.Field field = type.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            unsafe = field.get(null);
            invoke = type.getMethod("invokeCleaner", ByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            unsafe = null;
            invoke = null;
        }
        UNSAFE = unsafe;
        INVOKE_CLEANER = invoke;
    }

    private void closeDevice() {
        for (Kernel k : new Kernel[] {partials, finish, apply}) {
            if (k != null) {
                k.close();
            }
        }
        if (adafactor != null) {
            for (Kernel k : adafactor) {
                k.close();
            }
        }
        Closer rest = new Closer();
        if (adafactorTables != null) {
            rest.add(adafactorTables);
        }
        if (one != null) {
            rest.add(one);
        }
        rest.close();
        closeTables();
        releaseKernels();
        releaseBuffers(buffers);
        int8Parts.close();
    }

    private void releaseKernels() {
        for (int v = 0; v < variants.length; v++) {
            if (variants[v] != null) {
                clReleaseKernel(variants[v]);
                variants[v] = null;
            }
        }
    }

    private static void releaseBuffers(cl_mem[] buffers) {
        for (int i = buffers.length - 1; i >= 0; i--) {
            if (buffers[i] != null) {
                clReleaseMemObject(buffers[i]);
            }
        }
    }
}
