package org.clopt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Every native resource has one owner that releases it: creating and closing a thousand
 * optimizers and devices, and taking 10^5 steps, must not grow the process's resident memory
 * (where POCL keeps its buffers) beyond noise.
 */
class ResourceTest {
    /** Growth tolerated for allocator and JIT noise; one leaked 4097-float Adam would cost 64 KiB. */
    static final long SLACK_BYTES = 24L << 20;

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

    private static void churn(Device device, OptimizerConfig config, int count) {
        float[] values = new float[4097];
        for (int i = 0; i < count; i++) {
            try (Optimizer opt = Optimizer.create(device, config, 4097)) {
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

    private static long residentBytes() throws IOException {
        System.gc();
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
