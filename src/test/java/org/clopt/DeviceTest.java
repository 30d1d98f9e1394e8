package org.clopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Device selection, the OpenCL path's edge cases and its typed failures. */
class DeviceTest extends OnDevice {



    @Test
    void listsAndSelectsDevices() {
        List<DeviceInfo> devices = Device.list();
        assertFalse(devices.isEmpty());
        DeviceInfo first = devices.get(0);
        try (Device byIndex = Device.open(DeviceSelector.parse("0:0"));
             Device byName = Device.open(DeviceSelector.nameContains(first.name().toUpperCase()))) {
            assertEquals(first, byIndex.info());
            assertEquals(first, byName.info());
        }
        OpenClUnavailableException e = assertThrows(OpenClUnavailableException.class,
                () -> Device.open(DeviceSelector.nameContains("no-such-device-xyz")));
        assertTrue(e.getMessage().startsWith("no OpenCL device matches name 'no-such-device-xyz' "
                + "(available: 0:0 "), e.getMessage());
        assertThrows(OpenClUnavailableException.class, () -> Device.open(DeviceSelector.index(99, 0)));
        assertThrows(IllegalArgumentException.class, () -> DeviceSelector.index(-1, 0));
    }

    @Test
    void zeroSizeIsANoOp() {
        try (Optimizer opt = Optimizer.create(device, Adam.builder().build(), 0)) {
            opt.writeParameters(new float[0]);
            opt.step();
            opt.readParameters(new float[0]);
            assertEquals(1, opt.stepCount());
        }
    }

    @Test
    void wrongSizesAreRejectedAndNothingChanges() {
        try (Optimizer opt = Optimizer.create(device, Adam.builder().amsgrad(true).build(), 5)) {
            float[] p = {1, 2, 3, 4, 5};
            opt.writeParameters(p);
            assertThrows(IllegalArgumentException.class, () -> opt.writeParameters(new float[4]));
            assertThrows(IllegalArgumentException.class, () -> opt.writeGradients(new float[6]));
            assertThrows(IllegalArgumentException.class, () -> opt.readState("max_exp_avg_sq", new float[4]));
            assertThrows(IllegalArgumentException.class, () -> opt.readState("momentum_buffer", new float[5]));
            float[] out = new float[5];
            opt.readParameters(out);
            assertArrayEquals(p, out);
        }
    }

    @Test
    void stateStartsAtItsInitialValueAndCanBeReplaced() {
        Adagrad config = Adagrad.builder().initialAccumulatorValue(0.25).build();
        try (Optimizer opt = Optimizer.create(device, config, 3)) {
            float[] sum = new float[3];
            opt.readState("sum", sum);
            assertArrayEquals(new float[] {0.25f, 0.25f, 0.25f}, sum);
            opt.writeState("sum", new float[] {1, 2, 3});
            opt.readState("sum", sum);
            assertArrayEquals(new float[] {1, 2, 3}, sum);
        }
    }

    @Test
    void tooLargeForTheDeviceIsADeviceMemoryException() {
        long maxFloats = device.info().maxAllocationBytes() / 4;
        if (maxFloats < Integer.MAX_VALUE) {
            DeviceMemoryException e = assertThrows(DeviceMemoryException.class,
                    () -> Optimizer.create(device, Sgd.builder().lr(1).build(), (int) maxFloats + 1));
            assertTrue(e.getMessage().contains("allows at most"), e.getMessage());
        }
        // More arrays than global memory holds, each within the per-buffer limit.
        long total = device.info().globalMemoryBytes();
        int perArray = (int) Math.min(Integer.MAX_VALUE, Math.min(maxFloats, total / 4 / 4 + 1));
        if ((long) perArray * 4 * 5 > total) {
            DeviceMemoryException e = assertThrows(DeviceMemoryException.class,
                    () -> Optimizer.create(device, Adam.builder().amsgrad(true).build(), perArray));
            assertTrue(e.getMessage().contains("of global memory"), e.getMessage());
        }
    }

    @Test
    void aCompilerErrorCarriesTheBuildLog() {
        KernelBuildException e = assertThrows(KernelBuildException.class,
                () -> device.createKernel("sgd", "-Dclopt_grad=+*"));
        assertTrue(e.getMessage().startsWith("building kernels/sgd.cl with options"), e.getMessage());
        assertTrue(e.getMessage().contains("error"), e.getMessage());
    }

    @Test
    void closedOptimizersRefuseWork() {
        Optimizer opt = Optimizer.create(device, Sgd.builder().lr(0.1).build(), 8);
        opt.close();
        opt.close();
        assertThrows(IllegalStateException.class, opt::step);
        assertThrows(IllegalStateException.class, () -> opt.readParameters(new float[8]));
    }
}
