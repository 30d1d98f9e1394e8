package org.clopt;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Base of the test classes that run on one OpenCL device: opened once per class, closed after
 * it. With no device the tests fail, they never skip.
 */
public abstract class OnDevice {
    protected static Device device;

    @BeforeAll
    static void openDevice() {
        device = Device.open();
    }

    @AfterAll
    static void closeDevice() {
        device.close();
    }
}
