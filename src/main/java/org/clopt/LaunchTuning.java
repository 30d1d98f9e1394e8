package org.clopt;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import org.clopt.io.AtomicFile;

/**
 * Tuned work-group sizes of the step kernels ({@code clopt tune}), cached per device in the
 * user's cache directory: {@code $XDG_CACHE_HOME/clopt/launch.json}, else
 * {@code ~/.cache/clopt/launch.json} (the system property {@code clopt.cacheDir} names another
 * directory). An entry holds for one kernel program on one device: its key is the platform, the
 * device, its OpenCL and driver versions, and a digest of the program's source and build options,
 * so that another driver or another clopt's kernels find no entry and take the rule
 * ({@link LaunchShape#localSizeFor}) again. A missing, unreadable or malformed file is no
 * tuning at all: a step never fails because of the cache.
 */
public final class LaunchTuning {
    static final String FORMAT = "clopt-launch-tuning";

    /** The file read last, its time stamp, and its entries. */
    private static Path loadedFile;
    private static FileTime loadedTime;
    private static Map<String, Long> loaded = Map.of();

    private LaunchTuning() {
    }

    /**
     * Where the tuned sizes are kept.
     *
     * @return the cache file, which may not exist
     */
    public static Path cacheFile() {
        String dir = System.getProperty("clopt.cacheDir");
        if (dir != null && !dir.isEmpty()) {
            return Path.of(dir, "launch.json");
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isEmpty() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("clopt").resolve("launch.json");
    }

    /** The key of a program of these files and options on this device. */
    static String key(Device device, java.util.List<String> files, String options) {
        DeviceInfo info = device.info();
        return info.qualifiedName() + " | " + info.version() + " | driver " + device.driverVersion() + " | "
                + String.join("+", files) + " " + options.trim() + " | " + Device.sourceDigest(files);
    }

    /** The tuned work-group size under {@code key}, if the cache has one. */
    static synchronized OptionalLong tuned(String key) {
        Long size = entries().get(key);
        return size == null ? OptionalLong.empty() : OptionalLong.of(size);
    }

    /** The tuned work-group size of a program of these files and options, if the cache has one. */
    static synchronized OptionalLong tuned(Device device, java.util.List<String> files, String options) {
        // Without a cache (the usual case) no key is made.
        return entries().isEmpty() ? OptionalLong.empty() : tuned(key(device, files, options));
    }

    /**
     * The tuned work-group size of {@code config}'s step kernel in this precision on
     * {@code device}, if {@code clopt tune} measured one.
     *
     * @param device the device
     * @param config the configuration (its algorithm and structural options)
     * @param precision the group's precision
     * @return the tuned size, or empty where the rule applies
     */
    public static OptionalLong tuned(Device device, OptimizerConfig config, Precision precision) {
        return tuned(device, ClEngine.files(config), ClEngine.baseOptions(device, config, precision));
    }

    /**
     * Records a tuned work-group size for {@code config}'s step kernel on {@code device},
     * replacing the file atomically.
     *
     * @param device the device it was measured on
     * @param config the configuration
     * @param precision the precision
     * @param localSize the work-group size to use from now on
     * @throws IOException if the file cannot be written
     */
    public static synchronized void store(Device device, OptimizerConfig config, Precision precision, long localSize)
            throws IOException {
        Map<String, Long> all = new LinkedHashMap<>(entries());
        all.put(key(device, ClEngine.files(config), ClEngine.baseOptions(device, config, precision)), localSize);
        JsonArray list = new JsonArray();
        all.forEach((k, v) -> {
            JsonObject o = new JsonObject();
            o.addProperty("key", k);
            o.addProperty("local_size", v);
            list.add(o);
        });
        JsonObject root = new JsonObject();
        root.addProperty("format", FORMAT);
        root.add("entries", list);
        Path file = cacheFile();
        Files.createDirectories(file.toAbsolutePath().getParent());
        byte[] bytes = new Gson().toJson(root).getBytes(StandardCharsets.UTF_8);
        AtomicFile.write(file, out -> out.write(java.nio.ByteBuffer.wrap(bytes)));
        loadedFile = null;
    }

    /**
     * How many step kernels the cache holds tuned sizes for on this device and driver.
     *
     * @param device the device
     * @return the count, 0 without a cache
     */
    public static synchronized int tunedCount(Device device) {
        DeviceInfo info = device.info();
        String prefix = info.qualifiedName() + " | " + info.version() + " | driver " + device.driverVersion() + " | ";
        return (int) entries().keySet().stream().filter(k -> k.startsWith(prefix)).count();
    }

    /** The cache's entries, read again when the file changed; empty when it cannot be read. */
    private static Map<String, Long> entries() {
        Path file = cacheFile();
        try {
            FileTime time = Files.exists(file) ? Files.getLastModifiedTime(file) : null;
            if (Objects.equals(file, loadedFile) && Objects.equals(time, loadedTime)) {
                return loaded;
            }
            loadedFile = file;
            loadedTime = time;
            loaded = time == null ? Map.of() : parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            loaded = Map.of();
        }
        return loaded;
    }

    private static Map<String, Long> parse(String text) {
        JsonElement root = JsonParser.parseString(text);
        Map<String, Long> entries = new LinkedHashMap<>();
        if (!root.isJsonObject() || !FORMAT.equals(string(root.getAsJsonObject().get("format")))
                || !(root.getAsJsonObject().get("entries") instanceof JsonArray list)) {
            return entries;
        }
        for (JsonElement e : list) {
            if (e.isJsonObject() && e.getAsJsonObject().get("key") != null
                    && e.getAsJsonObject().get("local_size") != null) {
                long size = e.getAsJsonObject().get("local_size").getAsLong();
                if (size >= 1) {
                    entries.put(e.getAsJsonObject().get("key").getAsString(), size);
                }
            }
        }
        return entries;
    }

    private static String string(JsonElement e) {
        return e != null && e.isJsonPrimitive() ? e.getAsString() : null;
    }
}
