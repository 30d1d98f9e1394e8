package org.clopt;

import static org.jocl.CL.*;

import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_event;
import org.jocl.cl_kernel;

/**
 * How a kernel covers n elements with one work-item each and no bounds check: the largest
 * multiple of the work-group size in one launch, then the few remaining elements in a second
 * launch at a global offset, sized exactly.
 *
 * <p>The work-group size is a rule per device type. On a CPU (POCL, measured) large groups are
 * as fast or faster: POCL runs a group as one vectorized loop, and at 2^24 elements Adam ran
 * 35-46 GB/s with groups of 256 against 46 GB/s with 1024 or 4096. Other devices get 256, the
 * usual choice for streaming kernels on GPUs (not measured here). Both are capped by what the
 * kernel allows and rounded down to its preferred multiple.
 */
record LaunchShape(long localSize, long offset, long mainSize, long tailSize) {

    /** Elements [from, to): the kernels index by global id, which includes the offset. */
    static LaunchShape of(long from, long to, long localSize) {
        long main = (to - from) / localSize * localSize;
        return new LaunchShape(localSize, from, main, to - from - main);
    }

    /** The rule above for this kernel on this device. */
    static long localSizeFor(DeviceInfo device, cl_kernel kernel) {
        long max = kernelLong(kernel, CL_KERNEL_WORK_GROUP_SIZE);
        long multiple = Math.max(1, kernelLong(kernel, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE));
        long wanted = device.type().equals("CPU") ? 4096 : 256;
        long limit = Math.min(wanted, max);
        return Math.max(1, limit / multiple * multiple);
    }

    /** The largest work-group {@code kernel} can run with on its device. */
    static long maxLocalSize(cl_kernel kernel) {
        return kernelLong(kernel, CL_KERNEL_WORK_GROUP_SIZE);
    }

    private static long kernelLong(cl_kernel k, int param) {
        long[] value = new long[1];
        Cl.run("clGetKernelWorkGroupInfo", () -> clGetKernelWorkGroupInfo(k, null, param,
                Sizeof.size_t, Pointer.to(value), null));
        return value[0];
    }

    /** Number of launches a step takes: 0, 1 or 2. */
    int launches() {
        return (mainSize > 0 ? 1 : 0) + (tailSize > 0 ? 1 : 0);
    }

    /**
     * Enqueues the launches. With {@code events} non-null, launch k records its profiling
     * event in {@code events[k]}.
     */
    void enqueue(cl_command_queue queue, cl_kernel kernel, cl_event[] events) {
        int k = 0;
        if (mainSize > 0) {
            clEnqueueNDRangeKernel(queue, kernel, 1, new long[] {offset}, new long[] {mainSize},
                    new long[] {localSize}, 0, null, events == null ? null : events[k++]);
        }
        if (tailSize > 0) {
            // The tail is one exact work-group of fewer than localSize items.
            clEnqueueNDRangeKernel(queue, kernel, 1, new long[] {offset + mainSize},
                    new long[] {tailSize}, new long[] {tailSize}, 0, null, events == null ? null : events[k]);
        }
    }
}
