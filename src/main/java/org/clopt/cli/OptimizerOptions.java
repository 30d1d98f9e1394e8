package org.clopt.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import org.clopt.Device;
import org.clopt.DeviceSelector;
import org.clopt.OptimizerConfig;
import picocli.CommandLine.Option;

/** The options that choose an optimizer, its hyperparameters and the OpenCL device. */
final class OptimizerOptions {
    @Option(names = "--optimizer", required = true, paramLabel = "NAME",
            description = "sgd, momentum, nesterov, adagrad, rmsprop, adadelta, adam, adamw or nadam.")
    String optimizer;

    @Option(names = "--set", paramLabel = "KEY=VALUE", mapFallbackValue = "",
            description = {"A hyperparameter under its PyTorch name; repeatable. Tuples are "
                + "comma-separated (betas=0.9,0.999), booleans true/false.",
                "sgd needs lr; momentum and nesterov are sgd with momentum=0.9 "
                    + "(and nesterov=true)."})
    Map<String, String> settings = new LinkedHashMap<>();

    @Option(names = "--device-name", paramLabel = "TEXT",
            description = "The OpenCL device: P:D by platform and device index, or a part of "
                + "\"platform: device name\" (ignoring case). Default: $CLOPT_DEVICE, else the "
                + "first GPU, else the first device.")
    String deviceName;

    OptimizerConfig config() {
        try {
            return OptimizerConfig.of(optimizer, settings);
        } catch (IllegalArgumentException e) {
            String flag = OptimizerConfig.NAMES.contains(optimizer) ? "--set" : "--optimizer";
            throw new BadInputException(flag + ": " + e.getMessage(), e);
        }
    }

    Device openDevice() {
        return openDevice(deviceName);
    }

    /** Opens the device {@code --device-name} names, else the environment's or default one. */
    static Device openDevice(String deviceName) {
        DeviceSelector selector;
        try {
            selector = deviceName == null ? DeviceSelector.fromEnvironment()
                    : DeviceSelector.parse(deviceName);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--device-name " + deviceName + ": " + e.getMessage(), e);
        }
        return Device.open(selector);
    }
}
