package org.clopt.cli;

import org.clopt.Device;
import org.clopt.DeviceSelector;
import org.clopt.OpenClUnavailableException;
import picocli.CommandLine.Option;

/** {@code --device-name}: which OpenCL device a command opens. */
final class DeviceOption {
    @Option(names = "--device-name", paramLabel = "TEXT",
            description = "The OpenCL device: P:D by platform and device index, or a part of "
                + "\"platform: device name\" (ignoring case). Default: $CLOPT_DEVICE, else the "
                + "first GPU, else the first device.")
    String deviceName;

    /** Opens the chosen device; a bad choice is reported against the flag or variable that made it. */
    Device open() {
        String source = deviceName != null ? "--device-name " + deviceName
                : System.getenv(DeviceSelector.ENVIRONMENT_VARIABLE) != null
                ? "$" + DeviceSelector.ENVIRONMENT_VARIABLE + " "
                    + System.getenv(DeviceSelector.ENVIRONMENT_VARIABLE) : null;
        try {
            return Device.open(deviceName != null ? DeviceSelector.parse(deviceName)
                    : DeviceSelector.fromEnvironment());
        } catch (IllegalArgumentException e) {
            throw new BadInputException(source + ": " + e.getMessage(), e);
        } catch (OpenClUnavailableException e) {
            // No runtime at all is not the selection's fault; a missing match is.
            if (source == null || e.getMessage().startsWith("no OpenCL platform")) {
                throw e;
            }
            throw new BadInputException(source + ": " + e.getMessage(), e);
        }
    }
}
