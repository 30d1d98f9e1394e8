package org.clopt;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which OpenCL device to use: the first GPU (else the first device), a platform and device
 * index, or the first device whose "platform: name" contains a text (ignoring case).
 */
public final class DeviceSelector {
    /** The environment variable {@link #fromEnvironment()} reads, in {@link #parse} syntax. */
    public static final String ENVIRONMENT_VARIABLE = "CLOPT_DEVICE";

    private static final Pattern INDEX = Pattern.compile("(\\d{1,9}):(\\d{1,9})");

    private final int platform;
    private final int device;
    private final String nameContains;

    private DeviceSelector(int platform, int device, String nameContains) {
        this.platform = platform;
        this.device = device;
        this.nameContains = nameContains;
    }

    /**
     * The first GPU of any platform, else the first device of any type.
     *
     * @return the selector
     */
    public static DeviceSelector firstGpuElseAny() {
        return new DeviceSelector(-1, -1, null);
    }

    /**
     * Device {@code device} of platform {@code platform}, both counted from 0.
     *
     * @param platform the platform's index
     * @param device the device's index in the platform
     * @return the selector
     * @throws IllegalArgumentException for a negative index
     */
    public static DeviceSelector index(int platform, int device) {
        if (platform < 0 || device < 0) {
            throw new IllegalArgumentException("invalid device index " + platform + ":" + device
                    + " (must be two numbers >= 0, platform:device)");
        }
        return new DeviceSelector(platform, device, null);
    }

    /**
     * The first device whose "platform: name" contains {@code text}, ignoring case.
     *
     * @param text the text to look for; surrounding blanks are ignored
     * @return the selector
     * @throws IllegalArgumentException for null or blank text
     */
    public static DeviceSelector nameContains(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("invalid device name: must not be empty");
        }
        return new DeviceSelector(-1, -1, text.trim());
    }

    /**
     * {@code P:D} selects by index; any other text by name; empty text is the default.
     *
     * @param spec {@code P:D}, a name's part, or null or blank text
     * @return the selector
     */
    public static DeviceSelector parse(String spec) {
        if (spec == null || spec.isBlank()) {
            return firstGpuElseAny();
        }
        Matcher m = INDEX.matcher(spec.trim());
        if (m.matches()) {
            return index(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
        }
        return nameContains(spec);
    }

    /**
     * {@link #parse} of {@value #ENVIRONMENT_VARIABLE}, or the default when it is unset.
     *
     * @return the selector
     */
    public static DeviceSelector fromEnvironment() {
        return parse(System.getenv(ENVIRONMENT_VARIABLE));
    }

    /** Picks from the runtime's devices, or explains what was there. */
    DeviceInfo choose(List<DeviceInfo> devices) {
        if (devices.isEmpty()) {
            throw new OpenClUnavailableException(
                    "no OpenCL device found: " + OpenClUnavailableException.INSTALL_HINT);
        }
        for (DeviceInfo d : devices) {
            if (matches(d)) {
                return d;
            }
        }
        if (platform < 0 && nameContains == null) {
            return devices.get(0);
        }
        StringBuilder available = new StringBuilder();
        for (DeviceInfo d : devices) {
            available.append(available.length() == 0 ? "" : "; ")
                    .append(d.platformIndex()).append(':').append(d.deviceIndex()).append(' ')
                    .append(d.qualifiedName());
        }
        throw new OpenClUnavailableException("no OpenCL device matches " + this
                + " (available: " + available + ")");
    }

    private boolean matches(DeviceInfo d) {
        if (nameContains != null) {
            return d.qualifiedName().toLowerCase(Locale.ROOT)
                    .contains(nameContains.toLowerCase(Locale.ROOT));
        }
        if (platform >= 0) {
            return d.platformIndex() == platform && d.deviceIndex() == device;
        }
        return d.type().equals("GPU");
    }

    @Override
    public String toString() {
        if (nameContains != null) {
            return "name '" + nameContains + "'";
        }
        return platform >= 0 ? "index " + platform + ":" + device : "the first GPU, else any device";
    }
}
