package org.clopt;

import org.clopt.io.AtomicFile;
import org.clopt.io.SafeTensors;
import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Saves and loads the complete optimizer state of a {@link ParameterSet} as a safetensors file
 * that PyTorch users can read with the {@code safetensors} package or a few lines of NumPy.
 *
 * <p>Tensors, named as in PyTorch's optimizer {@code state_dict} with the tensor's index i in the
 * set: {@code state.i.step} (I64 scalar), {@code state.i.<key>} for each state array
 * ({@code exp_avg}, {@code sum} ... F32, the tensor's shape), {@code state.i.mu_product} (F32
 * scalar, NAdam), and, when asked for, {@code param.i} (the parameters). {@code __metadata__}
 * holds {@code format} ("clopt-optimizer-state"), {@code format_version} ("1"), {@code params}
 * (JSON: each tensor's name, shape and group), {@code param_groups} (JSON: each group's
 * algorithm and hyperparameters under PyTorch's names) and {@code data_crc32} (the CRC-32 of the
 * data section, in decimal).
 *
 * <p>Saving is crash-safe ({@link AtomicFile}): a checkpoint on disk is always whole. Loading
 * checks the whole file, and that it fits the set (algorithms, structural options, tensor names
 * and shapes), before it changes anything; on any problem it throws
 * {@link CheckpointException} and the set is as it was.
 */
public final class Checkpoint {
    static final String FORMAT = "clopt-optimizer-state";
    static final String FORMAT_VERSION = "1";

    private Checkpoint() {
    }

    /** Saves the optimizer state, without the parameters. */
    public static void save(ParameterSet set, Path file) {
        save(set, file, false);
    }

    /** Saves the optimizer state and, with {@code includeParameters}, the parameters too. */
    public static void save(ParameterSet set, Path file, boolean includeParameters) {
        List<SafeTensors.Output> tensors = new ArrayList<>();
        List<String> names = set.names();
        JsonArray params = new JsonArray();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            long[] shape = Arrays.stream(set.shape(name)).asLongStream().toArray();
            JsonObject p = new JsonObject();
            p.addProperty("name", name);
            p.add("shape", new Gson().toJsonTree(shape));
            p.addProperty("group", set.group(name));
            params.add(p);
            ByteBuffer step = le(8).putLong(0, set.stepCount(name));
            tensors.add(new SafeTensors.Output("state." + i + ".step", "I64", new long[0], step));
            for (String key : set.stateNames(name)) {
                float[] values = new float[set.size(name)];
                set.readState(name, key, values);
                tensors.add(new SafeTensors.Output("state." + i + "." + key, "F32", shape, floats(values)));
            }
            if (set.config(set.group(name)).algorithm().equals("nadam")) {
                tensors.add(new SafeTensors.Output("state." + i + ".mu_product", "F32", new long[0],
                        floats(new float[] {set.muProduct(name)})));
            }
            if (includeParameters) {
                float[] values = new float[set.size(name)];
                set.readParameters(name, values);
                tensors.add(new SafeTensors.Output("param." + i, "F32", shape, floats(values)));
            }
        }
        JsonArray groups = new JsonArray();
        for (int g = 0; g < set.groupCount(); g++) {
            JsonObject group = new JsonObject();
            group.addProperty("algorithm", set.config(g).algorithm());
            group.add("hyperparameters", new Gson().toJsonTree(set.config(g).hyperparameters()));
            groups.add(group);
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", FORMAT);
        metadata.put("format_version", FORMAT_VERSION);
        metadata.put("params", params.toString());
        metadata.put("param_groups", groups.toString());
        // A checksum of the data: a flipped bit there would otherwise load as a valid state.
        CRC32 crc = new CRC32();
        tensors.forEach(t -> crc.update(t.data().duplicate()));
        metadata.put("data_crc32", Long.toString(crc.getValue()));
        try {
            AtomicFile.write(file, out -> SafeTensors.write(out, tensors, metadata));
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot write the checkpoint: " + e.getMessage(), e);
        }
    }

    /**
     * Loads a checkpoint into {@code set}: every state array, step count and mu_product, each
     * group's hyperparameters, and the parameters if the file has them.
     *
     * @throws CheckpointException if the file is unreadable, corrupt, or does not fit the set;
     *     the set is then unchanged
     */
    public static void load(ParameterSet set, Path file) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            SafeTensors.Header header = SafeTensors.readHeader(channel);
            Restore restore;
            try {
                restore = plan(set, header);
            } catch (CheckpointException e) {
                throw e;
            } catch (RuntimeException e) {
                // Gson reports a malformed value in the metadata's JSON as one of several
                // runtime exceptions; all mean the same here.
                throw new CheckpointException("invalid metadata: " + e, e);
            }
            List<SafeTensors.Entry> inFileOrder = new ArrayList<>(header.entries().values());
            inFileOrder.sort(java.util.Comparator.comparingLong(SafeTensors.Entry::begin));
            CRC32 crc = new CRC32();
            for (SafeTensors.Entry entry : inFileOrder) {
                ByteBuffer bytes = le((int) (entry.end() - entry.begin()));
                SafeTensors.readFully(channel, bytes, header.dataStart() + entry.begin());
                crc.update(bytes.duplicate().flip());
                restore.data.put(entry.name(), bytes.flip());
            }
            if (!Long.toString(crc.getValue()).equals(header.metadata().get("data_crc32"))) {
                throw new CheckpointException("the data does not match its checksum (data_crc32): "
                        + "the file is corrupt");
            }
            restore.apply(set);
        } catch (CheckpointException e) {
            throw new CheckpointException(file + ": " + e.getMessage(), e);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file + ": no such file", e);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** What a checked file will change, applied only once everything has been read. */
    private static final class Restore {
        final OptimizerConfig[] configs;
        final Map<String, ByteBuffer> data = new HashMap<>();
        final boolean hasParameters;

        Restore(OptimizerConfig[] configs, boolean hasParameters) {
            this.configs = configs;
            this.hasParameters = hasParameters;
        }

        void apply(ParameterSet set) {
            List<String> names = set.names();
            long[] steps = new long[names.size()];
            float[] mu = new float[names.size()];
            for (int i = 0; i < names.size(); i++) {
                steps[i] = data.get("state." + i + ".step").getLong(0);
                if (steps[i] < 0) {
                    throw new CheckpointException("state." + i + ".step is negative: " + steps[i]);
                }
                ByteBuffer m = data.get("state." + i + ".mu_product");
                mu[i] = m == null ? 1f : m.getFloat(0);
            }
            for (int i = 0; i < names.size(); i++) {
                String name = names.get(i);
                for (String key : configs[set.group(name)].stateNames()) {
                    set.writeState(name, key, toFloats(data.get("state." + i + "." + key)));
                }
                if (hasParameters) {
                    set.writeParameters(name, toFloats(data.get("param." + i)));
                }
            }
            set.restoreCounters(steps, mu, configs);
        }
    }

    /** Checks that the file fits the set and lists what must be in it. */
    private static Restore plan(ParameterSet set, SafeTensors.Header header) {
        Map<String, String> meta = header.metadata();
        if (!FORMAT.equals(meta.get("format")) || !FORMAT_VERSION.equals(meta.get("format_version"))) {
            throw new CheckpointException("not a clopt optimizer state (format '" + meta.get("format")
                    + "', version '" + meta.get("format_version") + "')");
        }
        List<String> names = set.names();
        JsonArray params;
        JsonArray groups;
        try {
            params = JsonParser.parseString(String.valueOf(meta.get("params"))).getAsJsonArray();
            groups = JsonParser.parseString(String.valueOf(meta.get("param_groups"))).getAsJsonArray();
        } catch (JsonParseException | IllegalStateException e) {
            throw new CheckpointException("metadata params or param_groups is not a JSON array", e);
        }
        if (params.size() != names.size() || groups.size() != set.groupCount()) {
            throw new CheckpointException("the file has " + params.size() + " tensors in "
                    + groups.size() + " groups, the set " + names.size() + " in " + set.groupCount());
        }
        OptimizerConfig[] configs = new OptimizerConfig[groups.size()];
        for (int g = 0; g < groups.size(); g++) {
            configs[g] = groupConfig(g, groups.get(g), set.config(g));
        }
        Map<String, SafeTensors.Entry> expected = new HashMap<>();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            JsonObject p = params.get(i).getAsJsonObject();
            long[] shape = Arrays.stream(set.shape(name)).asLongStream().toArray();
            if (!p.has("name") || !name.equals(p.get("name").getAsString())
                    || !Arrays.equals(shape, new Gson().fromJson(p.get("shape"), long[].class))
                    || p.get("group").getAsInt() != set.group(name)) {
                throw new CheckpointException("tensor " + i + " is " + p + " in the file but '" + name
                        + "' of shape " + Arrays.toString(shape) + " in group " + set.group(name) + " in the set");
            }
            expected.put("state." + i + ".step", new SafeTensors.Entry("", "I64", new long[0], 0, 0));
            for (String key : configs[set.group(name)].stateNames()) {
                expected.put("state." + i + "." + key, new SafeTensors.Entry("", "F32", shape, 0, 0));
            }
            if (configs[set.group(name)].algorithm().equals("nadam")) {
                expected.put("state." + i + ".mu_product", new SafeTensors.Entry("", "F32", new long[0], 0, 0));
            }
        }
        boolean hasParameters = header.entries().containsKey("param.0");
        for (int i = 0; hasParameters && i < names.size(); i++) {
            expected.put("param." + i, new SafeTensors.Entry("", "F32",
                    Arrays.stream(set.shape(names.get(i))).asLongStream().toArray(), 0, 0));
        }
        for (SafeTensors.Entry e : header.entries().values()) {
            SafeTensors.Entry want = expected.get(e.name());
            if (want == null) {
                throw new CheckpointException("unexpected tensor '" + e.name() + "'");
            }
            if (!want.dtype().equals(e.dtype()) || !Arrays.equals(want.shape(), e.shape())) {
                throw new CheckpointException(e.name() + ": " + e.dtype() + " " + Arrays.toString(e.shape())
                        + ", expected " + want.dtype() + " " + Arrays.toString(want.shape()));
            }
        }
        for (String name : expected.keySet()) {
            if (!header.entries().containsKey(name)) {
                throw new CheckpointException("missing tensor '" + name + "'");
            }
        }
        return new Restore(configs, hasParameters);
    }

    /** The group's saved hyperparameters, which must keep the set's algorithm and structure. */
    private static OptimizerConfig groupConfig(int g, JsonElement json, OptimizerConfig current) {
        OptimizerConfig config;
        try {
            JsonObject group = json.getAsJsonObject();
            Map<String, String> settings = new LinkedHashMap<>();
            for (Map.Entry<String, JsonElement> h : group.getAsJsonObject("hyperparameters").entrySet()) {
                JsonElement v = h.getValue();
                if (v.isJsonArray()) {
                    List<String> parts = new ArrayList<>();
                    v.getAsJsonArray().forEach(x -> parts.add(x.getAsString()));
                    settings.put(h.getKey(), String.join(",", parts));
                } else {
                    settings.put(h.getKey(), v.getAsString());
                }
            }
            config = OptimizerConfig.of(group.get("algorithm").getAsString(), settings);
        } catch (IllegalArgumentException e) {
            // A hyperparameter the config rejects; malformed JSON is reported by load().
            throw new CheckpointException("param_groups[" + g + "] is invalid: " + e.getMessage(), e);
        }
        if (!config.algorithm().equals(current.algorithm()) || !config.stateNames().equals(current.stateNames())
                || !config.buildOptions().equals(current.buildOptions())) {
            throw new CheckpointException("group " + g + " is " + config + " in the file but "
                    + current + " in the set");
        }
        return config;
    }

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer floats(float[] values) {
        ByteBuffer b = le(4 * values.length);
        b.asFloatBuffer().put(values);
        return b;
    }

    private static float[] toFloats(ByteBuffer bytes) {
        float[] values = new float[bytes.capacity() / 4];
        bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }
}
