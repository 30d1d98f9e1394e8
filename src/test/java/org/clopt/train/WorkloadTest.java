package org.clopt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.clopt.Dtype;
import org.clopt.Kernel;
import org.clopt.OnDevice;
import org.clopt.ParameterSet;
import org.clopt.Sgd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The workloads' own resources: owned by the workload, released with it, misuse refused; and
 * their 16-bit passes against the fp32 ones.
 */
class WorkloadTest extends OnDevice {
    @Test
    void argumentsOfAnUnsupportedTypeAreRefusedByIndex() {
        try (Kernel axpy = Kernel.fromClasspath(device, "tools/axpy", "axpy_step", "")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Workload.args(axpy, 1.0));
            assertEquals("argument 0 of kernel axpy_step: a Double (must be DeviceBuffer, cl_mem, "
                    + "Integer or Float)", e.getMessage());
        }
    }

    @Test
    void aClosedWorkloadHasReleasedItsKernels() {
        ParameterSet.Builder builder = ParameterSet.builder().group(Sgd.builder().lr(0.1).build());
        RosenbrockWorkload work = new RosenbrockWorkload(device, Dtype.FP32);
        work.addTensors(builder);
        try (ParameterSet set = builder.build(device)) {
            IllegalStateException early = assertThrows(IllegalStateException.class, work::loss);
            assertTrue(early.getMessage().contains("before the first gradients()"), early.getMessage());
            work.initialize(set, 1);
            work.gradients(set, 1, 1f);
            assertTrue(Double.isFinite(work.loss()));
            work.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> work.gradients(set, 2, 1f));
            assertEquals("kernel rosenbrock_grad is closed", e.getMessage());
            work.close(); // idempotent
        }
    }

    /**
     * A 16-bit pass is the fp32 pass on the same weights, rounded once: an fp32 set given the
     * working copy's values (the initial weights rounded to the type) yields the same loss and
     * accuracy bit for bit, and gradients that the 16-bit pass stores rounded to nearest. In fp16
     * the loss scale, a power of two, multiplies the fp32 gradients exactly before that rounding.
     */
    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"BF16", "FP16"})
    void aSixteenBitPassIsTheFp32PassOnTheRoundedWeights(Dtype dtype) {
        float scale = dtype == Dtype.FP16 ? 1024f : 1f;
        try (DigitsWorkload half = new DigitsWorkload(device, dtype, 1);
             DigitsWorkload full = new DigitsWorkload(device, Dtype.FP32, 1);
             ParameterSet h = digits(half);
             ParameterSet f = digits(full)) {
            half.initialize(h, 7);
            int rounded = 0;
            for (String name : h.names()) {
                float[] master = new float[h.size(name)];
                float[] working = new float[h.size(name)];
                h.readMasterParameters(name, master);
                h.readParameters(name, working);
                for (int i = 0; i < working.length; i++) {
                    assertEquals(dtype.round(master[i]), working[i], name + "[" + i + "]");
                    rounded += master[i] != working[i] ? 1 : 0;
                }
                f.writeParameters(name, working);
            }
            assertTrue(rounded > 1000, "the working copy should differ from the master weights: " + rounded);
            for (int step = 1; step <= 2; step++) {
                half.gradients(h, step, scale);
                full.gradients(f, step, 1f);
                assertEquals(full.loss(), half.loss(), "step " + step);
                int nonzero = 0;
                for (String name : h.names()) {
                    float[] g16 = new float[h.size(name)];
                    float[] g32 = new float[h.size(name)];
                    h.readGradients(name, g16);
                    f.readGradients(name, g32);
                    for (int i = 0; i < g16.length; i++) {
                        assertEquals(dtype.round(scale * g32[i]), g16[i], "step " + step + " " + name + "[" + i + "]");
                        nonzero += g16[i] != 0 ? 1 : 0;
                    }
                }
                assertTrue(nonzero > 1000, "too few gradients: " + nonzero);
            }
            assertEquals(full.accuracy(f), half.accuracy(h));
        }
    }

    private static ParameterSet digits(DigitsWorkload work) {
        ParameterSet.Builder builder = ParameterSet.builder().group(Sgd.builder().lr(0.1).build(), work.precision());
        work.addTensors(builder);
        return builder.build(device);
    }
}
