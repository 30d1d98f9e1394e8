package org.clopt;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import org.clopt.io.AtomicFile;
import org.clopt.io.SafeTensors;

/**
 * Encodes and decodes a {@link StateDict}, the complete optimizer state of a
 * {@link ParameterSet}, as a safetensors file that PyTorch users can read with the
 * {@code safetensors} package or a few lines of NumPy: to and from a {@link Path} (saved
 * atomically) or a stream.
 *
 * <p>Tensors, named as in PyTorch's optimizer {@code state_dict} with the tensor's index i in the
 * set: {@code state.i.step} (I64 scalar), {@code state.i.<key>} for each state array
 * ({@code exp_avg}, {@code sum} ... F32, the tensor's shape), {@code state.i.mu_product} (F32
 * scalar, NAdam), and, when asked for, {@code param.i} (the parameters). {@code __metadata__}
 * holds {@code format} ("clopt-optimizer-state"), {@code format_version} ("1"), {@code params}
 * (JSON: each tensor's name, shape and group), {@code param_groups} (JSON: each group's
 * algorithm and every hyperparameter under PyTorch's names) and {@code data_crc32} (the CRC-32
 * of the data section, in decimal). The file alone is enough to rebuild the set:
 * {@code ParameterSet.builder(Checkpoint.read(path)).build(device)}.
 *
 * <p>Saving is crash-safe ({@link AtomicFile}): a checkpoint on disk is always whole. Reading
 * checks the whole file before anything is returned, and loading checks that it fits the set
 * (algorithms, structural options, tensor names and shapes) before it changes anything; on any
 * problem it throws {@link CheckpointException} and the set is as it was.
 */
public final class Checkpoint {
    static final String FORMAT = "clopt-optimizer-state";
    static final String FORMAT_VERSION = "1";

    private Checkpoint() {
    }

    /** Saves the optimizer state of {@code set}, without the parameters. */
    public static void save(ParameterSet set, Path file) {
        save(set, file, false);
    }

    /** Saves the optimizer state and, with {@code includeParameters}, the parameters too. */
    public static void save(ParameterSet set, Path file, boolean includeParameters) {
        write(set.stateDict(includeParameters), file);
    }

    /**
     * Loads a checkpoint into {@code set}: every state array, step count and mu_product, each
     * group's hyperparameters, and the parameters if the file has them.
     *
     * @throws CheckpointException if the file is unreadable, corrupt, or does not fit the set;
     *     the set is then unchanged
     */
    public static void load(ParameterSet set, Path file) {
        StateDict state = read(file);
        try {
            set.loadStateDict(state);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file + ": " + e.getMessage(), e);
        }
    }

    /** Writes {@code state} to {@code file} atomically: the old file or the new one, never a mix. */
    public static void write(StateDict state, Path file) {
        Encoded encoded = encode(state);
        try {
            AtomicFile.write(file, out -> SafeTensors.write(out, encoded.tensors, encoded.metadata));
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot write the checkpoint: " + e.getMessage(), e);
        }
    }

    /** Writes {@code state} to {@code out}, which is flushed but not closed. */
    public static void write(StateDict state, OutputStream out) throws IOException {
        Encoded encoded = encode(state);
        SafeTensors.write(Channels.newChannel(out), encoded.tensors, encoded.metadata);
        out.flush();
    }

    /**
     * Reads and checks a checkpoint file.
     *
     * @throws CheckpointException naming the file and what is wrong with it
     */
    public static StateDict read(Path file) {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            return decode(in, Files.size(file));
        } catch (CheckpointException e) {
            throw new CheckpointException(file + ": " + e.getMessage(), e);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file + ": no such file", e);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * Reads and checks a checkpoint from {@code in}, which must end where the checkpoint ends.
     *
     * @throws CheckpointException saying what is wrong
     * @throws IOException if reading the stream fails
     */
    public static StateDict read(InputStream in) throws IOException {
        return decode(in, -1);
    }

    private record Encoded(List<SafeTensors.Output> tensors, Map<String, String> metadata) {
    }

    private static Encoded encode(StateDict state) {
        List<SafeTensors.Output> tensors = new ArrayList<>();
        JsonArray params = new JsonArray();
        List<StateDict.Param> list = state.params();
        for (int i = 0; i < list.size(); i++) {
            StateDict.Param p = list.get(i);
            long[] shape = Arrays.stream(p.shape()).asLongStream().toArray();
            JsonObject json = new JsonObject();
            json.addProperty("name", p.name());
            json.add("shape", new Gson().toJsonTree(shape));
            json.addProperty("group", p.group());
            params.add(json);
            tensors.add(new SafeTensors.Output("state." + i + ".step", "I64", new long[0],
                    le(8).putLong(0, p.step())));
            for (String key : p.stateKeys()) {
                tensors.add(new SafeTensors.Output("state." + i + "." + key, "F32", shape, floats(p.stateArray(key))));
            }
            for (Map.Entry<String, Float> scalar : p.scalarState().entrySet()) {
                tensors.add(new SafeTensors.Output("state." + i + "." + scalar.getKey(), "F32", new long[0],
                        floats(new float[] {scalar.getValue()})));
            }
            if (p.parameterArray() != null) {
                tensors.add(new SafeTensors.Output("param." + i, "F32", shape, floats(p.parameterArray())));
            }
        }
        JsonArray groups = new JsonArray();
        for (OptimizerConfig config : state.groups()) {
            JsonObject group = new JsonObject();
            group.addProperty("algorithm", config.algorithm());
            group.add("hyperparameters", new Gson().toJsonTree(config.hyperparameters()));
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
        return new Encoded(tensors, metadata);
    }

    private static StateDict decode(InputStream in, long size) throws IOException {
        SafeTensors.Contents contents;
        try {
            contents = SafeTensors.read(in, size);
        } catch (SafeTensors.FormatException e) {
            throw new CheckpointException(e.getMessage(), e);
        }
        Map<String, String> meta = contents.header().metadata();
        if (!FORMAT.equals(meta.get("format")) || !FORMAT_VERSION.equals(meta.get("format_version"))) {
            throw new CheckpointException("not a clopt optimizer state (format '" + meta.get("format")
                    + "', version '" + meta.get("format_version") + "')");
        }
        CRC32 crc = new CRC32();
        contents.data().values().forEach(b -> crc.update(b.duplicate()));
        if (!Long.toString(crc.getValue()).equals(meta.get("data_crc32"))) {
            throw new CheckpointException("the data does not match its checksum (data_crc32): "
                    + "the file is corrupt");
        }
        try {
            return stateDict(contents);
        } catch (CheckpointException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(e.getMessage(), e);
        } catch (RuntimeException e) {
            // Gson reports a malformed value in the metadata's JSON as one of several runtime
            // exceptions; all mean the same here.
            throw new CheckpointException("invalid metadata: " + e, e);
        }
    }

    /** The snapshot the checked contents describe, with every tensor the metadata calls for. */
    private static StateDict stateDict(SafeTensors.Contents contents) {
        Map<String, String> meta = contents.header().metadata();
        JsonArray params;
        JsonArray groups;
        try {
            params = JsonParser.parseString(String.valueOf(meta.get("params"))).getAsJsonArray();
            groups = JsonParser.parseString(String.valueOf(meta.get("param_groups"))).getAsJsonArray();
        } catch (JsonParseException | IllegalStateException e) {
            throw new CheckpointException("metadata params or param_groups is not a JSON array", e);
        }
        List<OptimizerConfig> configs = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            configs.add(groupConfig(g, groups.get(g)));
        }
        Map<String, ByteBuffer> data = new HashMap<>(contents.data());
        boolean hasParameters = data.containsKey("param.0");
        List<StateDict.Param> list = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) {
            JsonObject p = params.get(i).getAsJsonObject();
            String name = p.get("name").getAsString();
            int group = p.get("group").getAsInt();
            int[] shape = new Gson().fromJson(p.get("shape"), int[].class);
            if (group < 0 || group >= configs.size()) {
                throw new CheckpointException("params[" + i + "] names group " + group + " of " + configs.size());
            }
            OptimizerConfig config = configs.get(group);
            long[] longShape = Arrays.stream(shape).asLongStream().toArray();
            long step = take(data, "state." + i + ".step", "I64", new long[0]).getLong(0);
            Map<String, float[]> state = new LinkedHashMap<>();
            for (String key : config.stateNames()) {
                state.put(key, toFloats(take(data, "state." + i + "." + key, "F32", longShape)));
            }
            Map<String, Float> scalars = new LinkedHashMap<>();
            for (String key : config.scalarStateNames()) {
                scalars.put(key, take(data, "state." + i + "." + key, "F32", new long[0]).getFloat(0));
            }
            float[] parameters = hasParameters ? toFloats(take(data, "param." + i, "F32", longShape)) : null;
            list.add(new StateDict.Param(name, shape, group, step, state, scalars, parameters));
        }
        if (!data.isEmpty()) {
            throw new CheckpointException("unexpected tensor '" + data.keySet().iterator().next() + "'");
        }
        return new StateDict(configs, list);
    }

    /** Removes and returns tensor {@code name}, which must have this dtype and shape. */
    private static ByteBuffer take(Map<String, ByteBuffer> data, String name, String dtype, long[] shape) {
        ByteBuffer bytes = data.remove(name);
        if (bytes == null) {
            throw new CheckpointException("missing tensor '" + name + "'");
        }
        long expected = SafeTensors.itemSize(dtype);
        for (long d : shape) {
            expected *= d;
        }
        if (bytes.remaining() != expected) {
            throw new CheckpointException(name + ": " + bytes.remaining() + " bytes, expected " + dtype + " "
                    + Arrays.toString(shape));
        }
        return bytes;
    }

    /** A group's saved hyperparameters: every one the algorithm has, each of its kind. */
    private static OptimizerConfig groupConfig(int g, JsonElement json) {
        try {
            JsonObject group = json.getAsJsonObject();
            Algorithm algorithm = Algorithms.named(group.get("algorithm").getAsString());
            Map<String, Object> values = new LinkedHashMap<>();
            for (Map.Entry<String, JsonElement> h : group.getAsJsonObject("hyperparameters").entrySet()) {
                values.put(h.getKey(), value(h.getKey(), h.getValue()));
            }
            for (Hyperparameter h : algorithm.hyperparameters()) {
                if (!values.containsKey(h.key())) {
                    throw new IllegalArgumentException("missing " + h.key());
                }
            }
            return algorithm.create(values);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("param_groups[" + g + "] is invalid: " + e.getMessage(), e);
        }
    }

    /** A JSON number, boolean or array of two numbers as the Java value a Hyperparameter takes. */
    private static Object value(String key, JsonElement v) {
        if (v.isJsonArray()) {
            List<Object> parts = new ArrayList<>();
            v.getAsJsonArray().forEach(x -> parts.add(value(key, x)));
            return parts;
        }
        if (v.isJsonPrimitive()) {
            JsonPrimitive p = v.getAsJsonPrimitive();
            if (p.isBoolean()) {
                return p.getAsBoolean();
            }
            if (p.isNumber()) {
                return p.getAsDouble();
            }
        }
        throw new IllegalArgumentException("invalid " + key + ": " + v + " (must be a number, a boolean or a pair)");
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
        float[] values = new float[bytes.remaining() / 4];
        bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }
}
