package org.clopt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.clopt.Kernel;
import org.clopt.OnDevice;
import org.clopt.ParameterSet;
import org.clopt.Sgd;
import org.junit.jupiter.api.Test;

/** The workloads' own resources: owned by the workload, released with it, misuse refused. */
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
        RosenbrockWorkload work = new RosenbrockWorkload(device);
        work.addTensors(builder);
        try (ParameterSet set = builder.build(device)) {
            IllegalStateException early = assertThrows(IllegalStateException.class, work::loss);
            assertTrue(early.getMessage().contains("before the first gradients()"), early.getMessage());
            work.initialize(set, 1);
            work.gradients(set, 1);
            assertTrue(Double.isFinite(work.loss()));
            work.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> work.gradients(set, 2));
            assertEquals("kernel rosenbrock_grad is closed", e.getMessage());
            work.close(); // idempotent
        }
    }
}
