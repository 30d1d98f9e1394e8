package org.clopt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Every native resource has one owner that releases it: creating and closing a thousand
 * optimizers, devices, and kernels and buffers of one's own, and taking 10^5 steps, must not grow the process's resident memory
 * (where POCL keeps its buffers) beyond noise.
 */
class ResourceTest {
    /**
     * Growth tolerated for heap, allocator and JIT noise. The churn tests use optimizers of
     * 2^16 elements, so a leak of one buffer each would grow memory by 256 MiB over 1000 rounds.
     */
    static final long SLACK_BYTES = 64L << 20;
    static final int CHURN_SIZE = 1 << 16;
    static final int KERNEL_EVERY = 8;

    @Test
    void aThousandOptimizersLeaveNothingBehind() throws IOException {
        try (Device device = Device.open()) {
            OptimizerConfig config = Adam.builder().amsgrad(true).build();
            churn(device, config, 200);
            long before = residentBytes();
            churn(device, config, 1000);
            long growth = residentBytes() - before;
            assertTrue(growth < SLACK_BYTES, "resident memory grew by " + growth + " bytes");
        }
    }

    @Test
    void devicesOpenAndCloseCleanly() throws IOException {
        for (int i = 0; i < 20; i++) {
            Device.open().close();
        }
        long before = residentBytes();
        for (int i = 0; i < 200; i++) {
            try (Device device = Device.open();
                 Optimizer opt = Optimizer.create(device, Sgd.builder().lr(0.1).build(), 100)) {
                opt.step();
            }
        }
        long growth = residentBytes() - before;
        assertTrue(growth < SLACK_BYTES, "resident memory grew by " + growth + " bytes");
    }

    @Test
    void aHundredThousandStepsLeaveNothingBehind() throws IOException {
        try (Device device = Device.open();
             Optimizer opt = Optimizer.create(device, NAdam.builder().build(), 1023)) {
            float[] p = new float[1023];
            java.util.Arrays.fill(p, 1f);
            opt.writeParameters(p);
            opt.writeGradients(p);
            steps(device, opt, 10_000);
            long before = residentBytes();
            steps(device, opt, 100_000);
            long growth = residentBytes() - before;
            assertTrue(growth < SLACK_BYTES, "resident memory grew by " + growth + " bytes");
            assertEquals(110_000, opt.stepCount());
            opt.readParameters(p);
            assertTrue(Float.isFinite(p[0]) && p[0] < 1, String.valueOf(p[0]));
        }
    }

    @Test
    void aThousandParameterSetsAndTheirStepsLeaveNothingBehind() throws IOException {
        try (Device device = Device.open()) {
            setChurn(device, 200);
            long before = residentBytes();
            setChurn(device, 1000);
            long growth = residentBytes() - before;
            assertTrue(growth < SLACK_BYTES, "resident memory grew by " + growth + " bytes");
            try (ParameterSet set = ParameterSet.builder().group(RmsProp.builder().centered(true).build())
                    .tensor("a", 100).tensor("b", 0).tensor("c", 300)
                    .group(RmsProp.builder().centered(true).lr(0).build()).tensor("d", 50)
                    .build(device)) {
                // The warm-up clips too: building the reduction's kernels takes memory of its own.
                // It is long: the process's resident memory keeps growing for some 50,000 steps
                // (compiled code, allocator arenas) before it levels off.
                for (int i = 0; i < 60_000; i++) {
                    if (i % 10 == 0) {
                        set.markGradient("a");
                        set.clipGradNorm(1.0);
                    }
                    set.step();
                }
                device.finish();
                before = residentBytes();
                for (int i = 0; i < 100_000; i++) {
                    if (i % 10 == 0) {
                        set.markGradient("a");
                        set.clipGradNorm(1.0);
                    }
                    set.step();
                    if (i % 1000 == 999) {
                        device.finish();
                    }
                }
                device.finish();
                growth = residentBytes() - before;
                assertTrue(growth < SLACK_BYTES, "resident memory grew by " + growth + " bytes");
                assertEquals(160_000, set.stepCount("c"));
            }
        }
    }

    /**
     * Sets whose gradients are written in place: their device buffers are released at close,
     * their Java memory by the collector once the buffers handed out are unreachable. A loop
     * that makes little garbage hardly runs the collector, so the churn asks for it now and then.
     */
    @Test
    void aThousandSetsWithGradientBuffersLeaveNothingBehind() throws IOException {
        if (!Device.list().get(0).hostUnifiedMemory()) {
            return;
        }
        try (Device device = Device.open()) {
            bufferChurn(device, 200);
            long before = residentBytes();
            bufferChurn(device, 1000);
            long growth = residentBytes() - before;
            assertTrue(growth < SLACK_BYTES, "resident memory grew by " + growth + " bytes");
        }
    }

    private static void bufferChurn(Device device, int count) {
        float[] g = new float[CHURN_SIZE];
        for (int i = 0; i < count; i++) {
            try (ParameterSet set = ParameterSet.builder().hostGradients(true).group(Adam.builder().build())
                    .tensor("w", CHURN_SIZE).tensor("b", 3).build(device)) {
                set.gradientBuffer("w").put(g);
                set.gradientBuffer("b").put(1f);
                set.step();
                set.gradientBuffer("w").put(g);
            }
            if (i % 100 == 99) {
                System.gc();
            }
        }
        device.finish();
    }

    @Test
    void aThousandBuffersAndKernelsOfOnesOwnLeaveNothingBehind() throws IOException {
        try (Device device = Device.open()) {
            kernelChurn(device, 200);
            long before = residentBytes();
            kernelChurn(device, 1000);
            long growth = residentBytes() - before;
            assertTrue(growth < SLACK_BYTES, "resident memory grew by " + growth + " bytes");
        }
    }

    /**
     * Each round makes, uses and closes a buffer of CHURN_SIZE floats (256 KiB), and every
     * KERNEL_EVERY-th round a kernel built from source. A build costs POCL about 30 ms, so not
     * every round builds; a leaked program or kernel still shows: with its release left out, the
     * 125 builds of 1000 rounds grew memory by 160-200 MiB on POCL, a leaked buffer by 250 MiB.
     */
    private static void kernelChurn(Device device, int rounds) {
        String source = "kernel void twice(global float* x) { x[get_global_id(0)] *= 2.0f; }";
        float[] first = new float[1];
        Kernel twice = null;
        try {
            for (int i = 0; i < rounds; i++) {
                if (i % KERNEL_EVERY == 0) {
                    if (twice != null) {
                        twice.close();
                    }
                    twice = Kernel.fromSource(device, source, "twice", "");
                }
                try (DeviceBuffer x = DeviceBuffer.allocate(device, 4L * CHURN_SIZE, "churn")) {
                    x.fill(1.5f); // touches every page, so a leaked buffer shows as resident memory
                    twice.arg(0, x).launch(0, CHURN_SIZE);
                    x.read(first);
                    assertEquals(3f, first[0]);
                }
            }
        } finally {
            if (twice != null) {
                twice.close();
            }
        }
        device.finish();
    }

    private static void setChurn(Device device, int count) {
        for (int i = 0; i < count; i++) {
            try (ParameterSet set = ParameterSet.builder().group(Adam.builder().amsgrad(true).build())
                    .tensor("w", 256, 255).tensor("b", 256).group(Sgd.builder().lr(0.1).build())
                    .tensor("e", 0).tensor("v", CHURN_SIZE)
                    .group(Adam.builder().set("state_dtype", "int8").build()).tensor("q", 4097).tensor("s", 5)
                    .build(device)) {
                // Every native resource of a set: engines, the clipped kernel variant, the
                // reduction's tables, the accumulation buffer, the averaged parameters, int8
                // state's codes, maxima, tables and maps.
                set.startAveraging(Averaging.ema(0.9));
                new org.clopt.schedule.StepLR(set, 1);
                set.accumulateGradients("b", new float[256]);
                set.clipGradNorm(1.0);
                set.step();
                set.updateAveraged();
            }
            // The host side of int8 state makes garbage (its quantized fill), which a loop that
            // makes little else leaves to grow the heap: collect it, this test is about native memory.
            if (i % 100 == 99) {
                System.gc();
            }
        }
        device.finish();
    }

    private static void churn(Device device, OptimizerConfig config, int count) {
        float[] values = new float[CHURN_SIZE];
        for (int i = 0; i < count; i++) {
            try (Optimizer opt = Optimizer.create(device, config, CHURN_SIZE)) {
                opt.writeGradients(values);
                opt.step();
            }
        }
        device.finish();
    }

    private static void steps(Device device, Optimizer opt, int count) {
        for (int i = 0; i < count; i++) {
            opt.step();
            if (i % 1000 == 999) {
                device.finish(); // keep the queue from growing without bound in the test
            }
        }
        device.finish();
    }

    /**
     * Resident memory outside the Java heap: the process's, less the heap's committed size, so
     * that the heap growing under a faster allocation rate (which the collector may choose to
     * do) is not taken for native memory left behind.
     */
    private static long residentBytes() throws IOException {
        System.gc();
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024 - Runtime.getRuntime().totalMemory();
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
