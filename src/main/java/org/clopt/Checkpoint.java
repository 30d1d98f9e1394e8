package org.clopt;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
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
 * ({@code exp_avg}, {@code sum} ... F32, the tensor's shape; Adafactor's {@code row_var} and
 * {@code col_var} their own, as PyTorch's), {@code state.i.<key>} for each
 * scalar state (F32 scalars: NAdam's {@code mu_product}, ASGD's {@code eta} and {@code mu}),
 * when asked for, {@code param.i} (the parameters as a forward pass reads them: {@code F32}, or
 * {@code BF16}/{@code F16} for a 16-bit group, the working copy), {@code master.i} for a group
 * with master weights ({@code F32}, always saved: they are optimizer state), and with
 * {@link Averaging}, {@code averaged.i} (the averaged parameters, {@code F32}). {@code __metadata__}
 * holds {@code format} ("clopt-optimizer-state"), {@code format_version} ("5"), {@code params}
 * (JSON: each tensor's name, shape and group), {@code param_groups} (JSON: each group's
 * algorithm, every hyperparameter under PyTorch's names and its {@code precision}: {@code dtype}
 * "fp32", "bf16" or "fp16", {@code master_weights}, {@code stochastic_rounding} and
 * {@code seed}), {@code schedulers} (JSON: each
 * attached {@link Stateful} object's state), {@code averaging} (JSON: null, or {@code type}
 * "ema" with its {@code decay}, or "swa", and {@code n_averaged}) and {@code file_crc32} (the CRC-32
 * of the whole file in 8 hex digits, computed with those digits as {@code 00000000}); version 1
 * files, whose {@code data_crc32} covers the data section only, still load. The file alone is
 * enough to rebuild the set: {@code ParameterSet.builder(Checkpoint.read(path)).build(device)}.
 *
 * <p>Saving is crash-safe ({@link AtomicFile}): a checkpoint on disk is always whole. Reading
 * checks the whole file before anything is returned, and loading checks that it fits the set
 * (algorithms, structural options, tensor names and shapes) before it changes anything; on any
 * problem it throws {@link CheckpointException} and the set is as it was.
 */
public final class Checkpoint {
    static final String FORMAT = "clopt-optimizer-state";
    /**
     * Version 5 adds the hyperparameter state_dtype (bf16 state arrays are BF16 tensors);
     * version 4 each group's precision (16-bit parameters, master weights); version 3 the
     * schedulers' states; version 2 checks the whole file; files of versions 1 (a checksum of
     * the data only) to 3 still load, as fp32 groups.
     */
    static final String FORMAT_VERSION = "6";
    private static final String CHECKSUM = "file_crc32";
    private static final String OLD_CHECKSUM = "data_crc32";
    /** The checksum's value while it is computed: 8 hex digits, replaced by the real ones. */
    private static final String PLACEHOLDER = "00000000";

    private Checkpoint() {
    }

    /**
     * Saves the optimizer state of {@code set}, without the parameters.
     *
     * @param set the set to save
     * @param file the file to write, replaced atomically
     * @throws CheckpointException if the file cannot be written
     */
    public static void save(ParameterSet set, Path file) {
        save(set, file, false);
    }

    /**
     * Saves the optimizer state and, with {@code includeParameters}, the parameters too.
     *
     * @param set the set to save
     * @param file the file to write, replaced atomically
     * @param includeParameters whether to save the parameters too
     * @throws CheckpointException if the file cannot be written
     */
    public static void save(ParameterSet set, Path file, boolean includeParameters) {
        write(set.stateDict(includeParameters), file);
    }

    /**
     * Loads a checkpoint into {@code set}: every state array, step count and scalar state, each
     * group's hyperparameters, and the parameters if the file has them.
     *
     * @param set the set to load into
     * @param file the checkpoint file
     * @throws CheckpointException if the file is unreadable, corrupt, or does not fit the set;
     *     the set is then unchanged
     */
    public static void load(ParameterSet set, Path file) {
        StateDict state = read(file);
        try {
            set.loadStateDict(state);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file + ": " + e.getMessage(), e);
        } catch (OpenClException e) {
            throw new CheckpointException(file + ": loading into the device failed, and the set was "
                    + "put back as it was: " + e.getMessage(), e);
        }
    }

    /**
     * Writes {@code state} to {@code file} atomically: the old file or the new one, never a mix.
     *
     * @param state the snapshot to write
     * @param file the file to write
     * @throws CheckpointException if the file cannot be written
     */
    public static void write(StateDict state, Path file) {
        Encoded encoded = encode(state);
        try {
            AtomicFile.write(file, out -> SafeTensors.write(out, encoded.header, encoded.tensors));
        } catch (IOException e) {
            throw new CheckpointException("cannot write the checkpoint " + e.getMessage(), e);
        }
    }

    /**
     * Writes {@code state} to {@code out}, which is flushed but not closed.
     *
     * @param state the snapshot to write
     * @param out the stream to write to
     * @throws IOException if writing the stream fails
     */
    public static void write(StateDict state, OutputStream out) throws IOException {
        Encoded encoded = encode(state);
        SafeTensors.write(Channels.newChannel(out), encoded.header, encoded.tensors);
        out.flush();
    }

    /**
     * Reads and checks a checkpoint file.
     *
     * @param file the checkpoint file
     * @return the snapshot
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
     * @param in the stream to read from
     * @return the snapshot
     * @throws CheckpointException saying what is wrong
     * @throws IOException if reading the stream fails
     */
    public static StateDict read(InputStream in) throws IOException {
        return decode(in, -1);
    }

    private record Encoded(byte[] header, List<SafeTensors.Output> tensors) {
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
            OptimizerConfig config = state.groups().get(p.group());
            for (String key : p.stateKeys()) {
                long[] stateShape = Arrays.stream(config.stateShape(key, p.shape())).asLongStream().toArray();
                StateDict.Quantized q = p.quantized(key);
                if (q != null) {
                    // int8: the codes, their block maxima and the code map, as stored.
                    String at = "state." + i + "." + key;
                    float[] absmax = q.absmax();
                    tensors.add(new SafeTensors.Output(at, "U8", stateShape, ByteBuffer.wrap(q.codes())));
                    tensors.add(new SafeTensors.Output(at + ".absmax", "F32", new long[] {absmax.length}, floats(absmax)));
                    tensors.add(new SafeTensors.Output(at + ".qmap", "F32", new long[] {256},
                            floats(Int8State.map(OptimizerConfig.nonNegativeState(key)))));
                    continue;
                }
                Dtype stateDtype = config.stateDtype();
                tensors.add(new SafeTensors.Output("state." + i + "." + key, stateDtype.safetensorsName(), stateShape,
                        encode(stateDtype, p.stateArray(key))));
            }
            for (Map.Entry<String, Float> scalar : p.scalarState().entrySet()) {
                tensors.add(new SafeTensors.Output("state." + i + "." + scalar.getKey(), "F32", new long[0],
                        floats(new float[] {scalar.getValue()})));
            }
            Dtype dtype = state.precisions().get(p.group()).dtype();
            if (p.parameterArray() != null) {
                tensors.add(new SafeTensors.Output("param." + i, dtype.safetensorsName(), shape,
                        encode(dtype, p.parameterArray())));
            }
            if (p.masterArray() != null) {
                tensors.add(new SafeTensors.Output("master." + i, "F32", shape, floats(p.masterArray())));
            }
            if (p.averagedArray() != null) {
                tensors.add(new SafeTensors.Output("averaged." + i, "F32", shape, floats(p.averagedArray())));
            }
        }
        JsonArray groups = new JsonArray();
        for (int g = 0; g < state.groups().size(); g++) {
            OptimizerConfig config = state.groups().get(g);
            JsonObject group = new JsonObject();
            group.addProperty("algorithm", config.algorithm());
            group.add("hyperparameters", new Gson().toJsonTree(config.hyperparameters()));
            Precision precision = state.precisions().get(g);
            JsonObject json = new JsonObject();
            json.addProperty("dtype", precision.dtype().cliName());
            json.addProperty("master_weights", precision.masterWeights());
            json.addProperty("stochastic_rounding", precision.stochasticRounding());
            json.addProperty("seed", precision.seed());
            group.add("precision", json);
            groups.add(group);
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", FORMAT);
        metadata.put("format_version", FORMAT_VERSION);
        metadata.put("params", params.toString());
        metadata.put("param_groups", groups.toString());
        metadata.put("schedulers", new Gson().toJsonTree(state.schedulers()).toString());
        JsonObject averaging = new JsonObject();
        if (state.averaging() != null) {
            averaging.addProperty("type", state.averaging().ema() ? "ema" : "swa");
            if (state.averaging().ema()) {
                averaging.addProperty("decay", state.averaging().decay());
            }
            averaging.addProperty("n_averaged", state.averagedCount());
        }
        metadata.put("averaging", state.averaging() == null ? "null" : averaging.toString());
        // A checksum of the whole file, header included: a flipped bit anywhere, in a
        // hyperparameter as in the data, would otherwise load as a valid state.
        metadata.put(CHECKSUM, PLACEHOLDER);
        byte[] header = SafeTensors.header(tensors, metadata);
        int at = checksumPosition(header);
        long crc = fileCrc(header, tensors.stream().map(SafeTensors.Output::data).toList());
        byte[] digits = String.format("%08x", crc).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(digits, 0, header, at, digits.length);
        return new Encoded(header, tensors);
    }

    private static StateDict decode(InputStream in, long size) throws IOException {
        SafeTensors.Contents contents;
        try {
            contents = SafeTensors.read(in, size);
        } catch (SafeTensors.FormatException e) {
            throw new CheckpointException(e.getMessage(), e);
        }
        Map<String, String> meta = contents.header().metadata();
        String version = meta.get("format_version");
        // Every version up to this build's is read; a newer one may hold what this build lacks.
        boolean known = version != null && version.matches("[1-9][0-9]{0,8}")
                && Integer.parseInt(version) <= Integer.parseInt(FORMAT_VERSION);
        if (!FORMAT.equals(meta.get("format")) || !known) {
            throw new CheckpointException("not a clopt optimizer state this build reads (format '"
                    + meta.get("format") + "', version '" + version + "'; expected '" + FORMAT
                    + "', version 1 to " + FORMAT_VERSION + ")");
        }
        String checksum = version.equals("1") ? OLD_CHECKSUM : CHECKSUM;
        for (String key : meta.keySet()) {
            boolean since3 = (key.equals("schedulers") || key.equals("averaging")) && Integer.parseInt(version) >= 3;
            if (!since3 && !List.of("format", "format_version", "params", "param_groups", checksum).contains(key)) {
                throw new CheckpointException("unexpected metadata key '" + key + "'");
            }
        }
        // A file written by another tool may have no checksum; one that has one must match it.
        if (meta.containsKey(checksum)) {
            boolean matches;
            if (version.equals("1")) {
                CRC32 crc = new CRC32();
                contents.data().values().forEach(b -> crc.update(b.duplicate()));
                matches = Long.toString(crc.getValue()).equals(meta.get(checksum));
            } else {
                byte[] header = contents.headerBytes().clone();
                int at = checksumPosition(header);
                String digits = new String(header, at, PLACEHOLDER.length(), StandardCharsets.US_ASCII);
                System.arraycopy(PLACEHOLDER.getBytes(StandardCharsets.US_ASCII), 0, header, at, PLACEHOLDER.length());
                matches = digits.equals(meta.get(checksum)) && digits.matches("[0-9a-f]{8}")
                        && String.format("%08x", fileCrc(header, contents.data().values())).equals(digits);
            }
            if (!matches) {
                throw new CheckpointException("the file does not match its checksum (" + checksum
                        + "): the file is corrupt");
            }
        }
        try {
            return stateDict(contents);
        } catch (CheckpointException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(e.getMessage(), e);
        }
    }

    /** Where the checksum's hex digits start in the header's bytes; there must be exactly one. */
    private static int checksumPosition(byte[] header) {
        byte[] key = ("\"" + CHECKSUM + "\":\"").getBytes(StandardCharsets.US_ASCII);
        int found = -1;
        for (int i = 0; i + key.length <= header.length; i++) {
            if (Arrays.equals(header, i, i + key.length, key, 0, key.length)) {
                if (found >= 0) {
                    throw new CheckpointException("the header holds " + CHECKSUM + " more than once");
                }
                found = i + key.length;
            }
        }
        if (found < 0 || found + PLACEHOLDER.length() > header.length) {
            throw new CheckpointException("the header's " + CHECKSUM + " is not where the format puts it");
        }
        return found;
    }

    /** CRC-32 of the file: its header length, header and data, with the checksum digits zeroed. */
    private static long fileCrc(byte[] header, java.util.Collection<ByteBuffer> data) {
        CRC32 crc = new CRC32();
        crc.update(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length));
        crc.update(header);
        data.forEach(b -> crc.update(b.duplicate()));
        return crc.getValue();
    }

    /** The snapshot the checked contents describe, with every tensor the metadata calls for. */
    private static StateDict stateDict(SafeTensors.Contents contents) {
        Map<String, String> meta = contents.header().metadata();
        int version = Integer.parseInt(meta.get("format_version"));
        List<JsonElement> params = array(Json.parse("params", meta.get("params")), "params");
        List<JsonElement> groups = array(Json.parse("param_groups", meta.get("param_groups")), "param_groups");
        List<OptimizerConfig> configs = new ArrayList<>();
        List<Precision> precisions = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            configs.add(groupConfig(g, groups.get(g), version));
            precisions.add(version >= 4 ? precision(g, groups.get(g).getAsJsonObject().get("precision"))
                    : Precision.FP32);
        }
        Map<String, ByteBuffer> data = new HashMap<>(contents.data());
        Map<String, String> dtypes = new HashMap<>();
        contents.header().entries().forEach((name, entry) -> dtypes.put(name, entry.dtype()));
        Averaging averaging = null;
        long averagedCount = 0;
        if (version >= 3) {
            JsonElement json = Json.parse("averaging", meta.get("averaging"));
            if (!json.isJsonNull()) {
                boolean ema = json.isJsonObject() && json.getAsJsonObject().has("decay");
                Map<String, JsonElement> a = ema ? object(json, "averaging", "type", "decay", "n_averaged")
                        : object(json, "averaging", "type", "n_averaged");
                String type = string(a.get("type"), "averaging.type");
                if (!type.equals(ema ? "ema" : "swa")) {
                    throw new CheckpointException("averaging.type must be \"ema\" (with a decay) or \"swa\" "
                            + "(without), not " + a.get("type"));
                }
                JsonElement count = a.get("n_averaged");
                if (!count.isJsonPrimitive() || !count.getAsJsonPrimitive().isNumber()) {
                    throw new CheckpointException("averaging.n_averaged must be a number, not " + count);
                }
                try {
                    averagedCount = count.getAsBigDecimal().longValueExact();
                } catch (ArithmeticException e) {
                    throw new CheckpointException("averaging.n_averaged must be an integer, not " + count);
                }
                JsonElement decay = a.get("decay");
                if (ema && (!decay.isJsonPrimitive() || !decay.getAsJsonPrimitive().isNumber())) {
                    throw new CheckpointException("averaging.decay must be a number, not " + decay);
                }
                averaging = ema ? Averaging.ema(decay.getAsDouble()) : Averaging.swa();
            }
        }
        boolean hasParameters = data.containsKey("param.0");
        List<StateDict.Param> list = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) {
            String where = "params[" + i + "]";
            Map<String, JsonElement> p = object(params.get(i), where, "name", "shape", "group");
            String name = string(p.get("name"), where + ".name");
            int group = integer(p.get("group"), where + ".group");
            List<JsonElement> dims = array(p.get("shape"), where + ".shape");
            int[] shape = new int[dims.size()];
            for (int d = 0; d < shape.length; d++) {
                shape[d] = integer(dims.get(d), where + ".shape[" + d + "]");
            }
            if (group < 0 || group >= configs.size()) {
                throw new CheckpointException(where + " names group " + group + " of " + configs.size());
            }
            OptimizerConfig config = configs.get(group);
            long[] longShape = Arrays.stream(shape).asLongStream().toArray();
            long step = take(data, dtypes, "state." + i + ".step", "I64", new long[0]).getLong(0);
            Map<String, float[]> state = new LinkedHashMap<>();
            Map<String, StateDict.Quantized> quantized = new LinkedHashMap<>();
            long elements = Arrays.stream(shape).asLongStream().reduce(1, (a, b) -> a * b);
            boolean int8 = config.int8State() && elements > 0 && elements >= config.min8bitSize();
            for (String key : config.stateKeys(shape)) {
                long[] stateShape = Arrays.stream(config.stateShape(key, shape)).asLongStream().toArray();
                String at = "state." + i + "." + key;
                if (int8) {
                    quantized.put(key, takeQuantized(data, dtypes, at, key, stateShape, elements));
                    state.put(key, dequantize(quantized.get(key), Int8State.map(OptimizerConfig.nonNegativeState(key))));
                    continue;
                }
                Dtype stateDtype = config.stateDtype();
                state.put(key, decode(stateDtype, take(data, dtypes, at, stateDtype.safetensorsName(), stateShape)));
            }
            Map<String, Float> scalars = new LinkedHashMap<>();
            for (String key : config.scalarStateNames()) {
                scalars.put(key, take(data, dtypes, "state." + i + "." + key, "F32", new long[0]).getFloat(0));
            }
            Dtype dtype = precisions.get(group).dtype();
            float[] parameters = hasParameters
                    ? decode(dtype, take(data, dtypes, "param." + i, dtype.safetensorsName(), longShape)) : null;
            float[] averaged = averaging != null ? toFloats(take(data, dtypes, "averaged." + i, "F32", longShape)) : null;
            float[] master = precisions.get(group).masterWeights()
                    ? toFloats(take(data, dtypes, "master." + i, "F32", longShape)) : null;
            StateDict.Param param = new StateDict.Param(name, shape, group, step, state, scalars, parameters, averaged,
                    master);
            list.add(quantized.isEmpty() ? param : param.withQuantized(quantized));
        }
        if (!data.isEmpty()) {
            throw new CheckpointException("unexpected tensor '" + data.keySet().iterator().next() + "'");
        }
        List<Map<String, Object>> schedulers = new ArrayList<>();
        if (version >= 3) {
            List<JsonElement> states = array(Json.parse("schedulers", meta.get("schedulers")), "schedulers");
            for (int i = 0; i < states.size(); i++) {
                if (!states.get(i).isJsonObject()) {
                    throw new CheckpointException("schedulers[" + i + "] must be a JSON object, not " + states.get(i));
                }
                @SuppressWarnings("unchecked")
                Map<String, Object> state = (Map<String, Object>) data(states.get(i), "schedulers[" + i + "]");
                schedulers.add(state);
            }
        }
        return new StateDict(configs, precisions, list, schedulers, averaging, averagedCount);
    }

    /** A group's saved precision: exactly its four keys, each of its kind. */
    private static Precision precision(int g, JsonElement json) {
        String where = "param_groups[" + g + "].precision";
        Map<String, JsonElement> p = object(json, where, "dtype", "master_weights", "stochastic_rounding", "seed");
        try {
            Dtype dtype = Dtype.parse(string(p.get("dtype"), where + ".dtype"));
            boolean master = bool(p.get("master_weights"), where + ".master_weights");
            boolean stochastic = bool(p.get("stochastic_rounding"), where + ".stochastic_rounding");
            JsonElement seed = p.get("seed");
            if (!seed.isJsonPrimitive() || !seed.getAsJsonPrimitive().isNumber()) {
                throw new CheckpointException(where + ".seed must be an integer, not " + seed);
            }
            long value;
            try {
                value = seed.getAsBigDecimal().longValueExact();
            } catch (ArithmeticException e) {
                throw new CheckpointException(where + ".seed must be an integer, not " + seed);
            }
            return new Precision(dtype, master, stochastic, value);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(where + " is invalid: " + e.getMessage(), e);
        }
    }

    private static boolean bool(JsonElement e, String where) {
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw new CheckpointException(where + " must be true or false, not " + e);
        }
        return e.getAsBoolean();
    }

    /** JSON as Java data: maps, lists, strings, booleans, and numbers as Long (integers) or Double. */
    private static Object data(JsonElement e, String where) {
        if (e.isJsonObject()) {
            Map<String, Object> map = new LinkedHashMap<>();
            e.getAsJsonObject().entrySet().forEach(m -> map.put(m.getKey(), data(m.getValue(), where + "." + m.getKey())));
            return map;
        }
        if (e.isJsonArray()) {
            List<Object> list = new ArrayList<>();
            e.getAsJsonArray().forEach(x -> list.add(data(x, where + "[" + list.size() + "]")));
            return list;
        }
        if (e.isJsonPrimitive()) {
            JsonPrimitive p = e.getAsJsonPrimitive();
            if (p.isBoolean()) {
                return p.getAsBoolean();
            }
            if (p.isString()) {
                return p.getAsString();
            }
            java.math.BigDecimal v = p.getAsBigDecimal();
            try {
                return v.longValueExact();
            } catch (ArithmeticException notALong) {
                return v.doubleValue();
            }
        }
        throw new CheckpointException(where + " is null (scheduler states hold no nulls)");
    }

    private static List<JsonElement> array(JsonElement e, String where) {
        if (e == null || !e.isJsonArray()) {
            throw new CheckpointException(where + " must be a JSON array, not " + e);
        }
        List<JsonElement> list = new ArrayList<>();
        e.getAsJsonArray().forEach(list::add);
        return list;
    }

    /** The object's members, which must be exactly {@code keys}. */
    private static Map<String, JsonElement> object(JsonElement e, String where, String... keys) {
        if (e == null || !e.isJsonObject()) {
            throw new CheckpointException(where + " must be a JSON object, not " + e);
        }
        Map<String, JsonElement> members = new LinkedHashMap<>();
        e.getAsJsonObject().entrySet().forEach(m -> members.put(m.getKey(), m.getValue()));
        if (!members.keySet().equals(new java.util.HashSet<>(List.of(keys)))) {
            throw new CheckpointException(where + " must have exactly the keys " + String.join(", ", keys)
                    + ", not " + String.join(", ", members.keySet()));
        }
        return members;
    }

    private static String string(JsonElement e, String where) {
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new CheckpointException(where + " must be a string, not " + e);
        }
        return e.getAsString();
    }

    /** A JSON number that is an int exactly (64 is, 64.5 and 1e10 are not). */
    private static int integer(JsonElement e, String where) {
        if (e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
            java.math.BigDecimal v = e.getAsBigDecimal();
            try {
                return v.intValueExact();
            } catch (ArithmeticException notAnInt) {
                // reported below
            }
        }
        throw new CheckpointException(where + " must be an integer, not " + e);
    }

    /** Removes and returns tensor {@code name}, which must have this dtype and shape. */
    private static ByteBuffer take(Map<String, ByteBuffer> data, Map<String, String> dtypes, String name, String dtype,
                                   long[] shape) {
        ByteBuffer bytes = data.remove(name);
        if (bytes == null) {
            throw new CheckpointException("missing tensor '" + name + "'");
        }
        if (!dtype.equals(dtypes.get(name))) {
            throw new CheckpointException(name + ": " + dtypes.get(name) + ", expected " + dtype
                    + " (the group's state_dtype or precision)");
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

    /**
     * Removes and returns int8 state array {@code name}: its codes (U8, the state's shape), block
     * maxima ({@code .absmax}, F32) and code map ({@code .qmap}, F32 [256]), which must be the one
     * this version quantizes with.
     */
    private static StateDict.Quantized takeQuantized(Map<String, ByteBuffer> data, Map<String, String> dtypes,
                                                     String name, String key, long[] shape, long elements) {
        ByteBuffer codes = take(data, dtypes, name, "U8", shape);
        long blocks = (elements + Int8State.BLOCK - 1) / Int8State.BLOCK;
        float[] absmax = toFloats(take(data, dtypes, name + ".absmax", "F32", new long[] {blocks}));
        float[] qmap = toFloats(take(data, dtypes, name + ".qmap", "F32", new long[] {256}));
        float[] map = Int8State.map(OptimizerConfig.nonNegativeState(key));
        for (int c = 0; c < 256; c++) {
            if (Float.floatToRawIntBits(qmap[c]) != Float.floatToRawIntBits(map[c])) {
                throw new CheckpointException(name + ".qmap: code " + c + " is " + qmap[c] + ", this version's "
                        + (map == Int8State.SIGNED ? "signed" : "unsigned") + " dynamic map has " + map[c]);
            }
        }
        byte[] bytes = new byte[codes.remaining()];
        codes.duplicate().get(bytes);
        return new StateDict.Quantized(bytes, absmax);
    }

    /** The values of int8 state as stored. */
    private static float[] dequantize(StateDict.Quantized q, float[] map) {
        byte[] codes = q.codes();
        float[] absmax = q.absmax();
        float[] values = new float[codes.length];
        for (int i = 0; i < values.length; i++) {
            values[i] = Int8State.dequantize(map, codes[i], absmax[i / Int8State.BLOCK]);
        }
        return values;
    }

    /** A group's saved hyperparameters: every one the algorithm has, each of its kind. */
    private static OptimizerConfig groupConfig(int g, JsonElement json, int version) {
        String where = "param_groups[" + g + "]";
        Map<String, JsonElement> group = version >= 4
                ? object(json, where, "algorithm", "hyperparameters", "precision")
                : object(json, where, "algorithm", "hyperparameters");
        try {
            Algorithm algorithm = Algorithms.named(string(group.get("algorithm"), where + ".algorithm"));
            JsonElement h = group.get("hyperparameters");
            if (!h.isJsonObject()) {
                throw new CheckpointException(where + ".hyperparameters must be a JSON object, not " + h);
            }
            Map<String, Object> values = new LinkedHashMap<>();
            for (Map.Entry<String, JsonElement> e : h.getAsJsonObject().entrySet()) {
                // A choice is a JSON string, and only a choice: a number given as text is refused.
                boolean choice = algorithm.hyperparameters().stream()
                        .anyMatch(x -> x.key().equals(e.getKey()) && x.kind() == Hyperparameter.Kind.CHOICE);
                values.put(e.getKey(), choice ? choiceValue(e.getKey(), e.getValue()) : value(e.getKey(), e.getValue()));
            }
            for (Hyperparameter spec : algorithm.hyperparameters()) {
                // A file written before clopt had the hyperparameter ran with its default.
                if (!values.containsKey(spec.key()) && spec.since() <= version) {
                    throw new IllegalArgumentException("missing " + spec.key() + " (a file must give every "
                            + "hyperparameter: a default could differ from what was used)");
                }
            }
            return algorithm.create(values);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(where + " is invalid: " + e.getMessage(), e);
        }
    }

    /** A JSON string as a choice's value. */
    private static String choiceValue(String key, JsonElement v) {
        if (v.isJsonPrimitive() && v.getAsJsonPrimitive().isString()) {
            return v.getAsString();
        }
        throw new IllegalArgumentException("invalid " + key + ": " + v + " (must be a string)");
    }

    /** A JSON number, boolean or array of two numbers as the Java value a Hyperparameter takes. */
    private static Object value(String key, JsonElement v) {
        if (v.isJsonArray()) {
            List<Object> parts = new ArrayList<>();
            // A null element is a pair's None (Adafactor's eps); the hyperparameter says if it may be.
            v.getAsJsonArray().forEach(x -> parts.add(x.isJsonNull() ? null : value(key, x)));
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
        throw new IllegalArgumentException("invalid " + key + ": " + v
                + (v.isJsonNull() ? " (null: clopt has no such setting; every value must be a number, a boolean or a pair)"
                : " (must be a number, a boolean or a pair)"));
    }

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer floats(float[] values) {
        ByteBuffer b = le(4 * values.length);
        b.asFloatBuffer().put(values);
        return b;
    }

    /** Values of a 16-bit type as their little-endian bits (they are of the type already). */
    private static ByteBuffer encode(Dtype dtype, float[] values) {
        if (dtype == Dtype.FP32) {
            return floats(values);
        }
        ByteBuffer b = le(2 * values.length);
        for (int i = 0; i < values.length; i++) {
            b.putShort(2 * i, dtype.toBits(values[i]));
        }
        return b;
    }

    private static float[] decode(Dtype dtype, ByteBuffer bytes) {
        if (dtype == Dtype.FP32) {
            return toFloats(bytes);
        }
        ByteBuffer in = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[in.remaining() / 2];
        for (int i = 0; i < values.length; i++) {
            values[i] = dtype.fromBits(in.getShort(in.position() + 2 * i));
        }
        return values;
    }

    private static float[] toFloats(ByteBuffer bytes) {
        float[] values = new float[bytes.remaining() / 4];
        bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }
}
