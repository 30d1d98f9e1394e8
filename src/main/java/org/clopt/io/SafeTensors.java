package org.clopt.io;

import com.google.gson.Gson;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.MalformedJsonException;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * ({@code {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}}),
 * then the tensors' bytes, little-endian and row-major. The reader checks everything the format
 * promises before any data is used, and allocates nothing larger than the file.
 */
public final class SafeTensors {
    /** The largest header accepted, as the reference reader. */
    static final long MAX_HEADER_BYTES = 100_000_000;

    private SafeTensors() {
    }

    /** The file breaks a rule of the format; the message says which. */
    public static final class FormatException extends IOException {
        private static final long serialVersionUID = 1L;

        /**
         * An exception with this message.
         *
         * @param message the rule broken
         */
        public FormatException(String message) {
            super(message);
        }

        /**
         * An exception with this message and cause.
         *
         * @param message the rule broken
         * @param cause the underlying failure
         */
        public FormatException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Bytes per element of the dtypes clopt reads and writes.
     *
     * @param dtype a safetensors dtype, such as {@code F32}
     * @return 4 for {@code F32}, 2 for {@code BF16} and {@code F16}, 8 for {@code I64}, 1 for
     *     {@code U8}, -1 for any other
     */
    public static int itemSize(String dtype) {
        switch (dtype) {
            case "F32":
                return 4;
            case "BF16":
            case "F16":
                return 2;
            case "I64":
                return 8;
            case "U8":
                return 1;
            default:
                return -1;
        }
    }

    /**
     * One tensor: its dtype, shape and byte range within the data section.
     *
     * @param name the tensor's name
     * @param dtype its dtype, such as {@code F32}
     * @param shape its dimensions
     * @param begin where its bytes start in the data section
     * @param end where they end, exclusive
     */
    public record Entry(String name, String dtype, long[] shape, long begin, long end) {
        long elementCount() {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    /**
     * A parsed and checked header.
     *
     * @param entries the tensors by name
     * @param metadata the {@code __metadata__} strings, empty when absent
     * @param dataStart where the data section starts in the file
     */
    public record Header(Map<String, Entry> entries, Map<String, String> metadata, long dataStart) {
    }

    /**
     * A whole file: its checked header, the header's bytes as they were in the file (for a
     * checksum over the whole file), and each tensor's little-endian bytes by name, in file order.
     *
     * @param header the checked header
     * @param headerBytes the header's JSON bytes as read
     * @param data each tensor's bytes by name
     */
    public record Contents(Header header, byte[] headerBytes, Map<String, ByteBuffer> data) {
    }

    /**
     * Reads and checks a whole safetensors file from {@code in}, which must end where the data
     * ends. Memory grows with the bytes actually read, never with what the header claims.
     *
     * @param in the stream to read
     * @param size the total length when known (a regular file), else -1
     * @return the file's contents
     * @throws FormatException naming the rule the bytes break
     * @throws IOException if reading the stream fails
     */
    public static Contents read(InputStream in, long size) throws IOException {
        byte[] lengthBytes = in.readNBytes(8);
        if (lengthBytes.length < 8) {
            throw new FormatException("truncated: " + lengthBytes.length + " bytes, no header length");
        }
        long n = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 2 || n > MAX_HEADER_BYTES || (size >= 0 && n > size - 8)) {
            throw new FormatException("header length " + Long.toUnsignedString(n) + " is impossible"
                    + (size >= 0 ? " for a file of " + size + " bytes" : "") + " (limit " + MAX_HEADER_BYTES + ")");
        }
        byte[] headerBytes = in.readNBytes((int) n);
        if (headerBytes.length < n) {
            throw new FormatException("truncated: the header has " + headerBytes.length + " of " + n + " bytes");
        }
        String json;
        try {
            json = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(headerBytes)).toString();
        } catch (CharacterCodingException e) {
            throw new FormatException("header is not valid UTF-8", e);
        }
        Header header = parse(json, 8 + n);
        List<Entry> inFileOrder = checkLayout(header.entries().values(), size >= 0 ? size - 8 - n : -1);
        Map<String, ByteBuffer> data = new LinkedHashMap<>();
        long read = 0;
        for (Entry e : inFileOrder) {
            long bytes = e.end() - e.begin();
            if (bytes > Integer.MAX_VALUE - 8) {
                throw new FormatException(e.name() + ": " + bytes + " bytes, more than one tensor may hold here");
            }
            byte[] b = in.readNBytes((int) bytes);
            read += b.length;
            if (b.length < bytes) {
                throw new FormatException("truncated: the data section ends after " + read
                        + " bytes, the header describes " + inFileOrder.get(inFileOrder.size() - 1).end());
            }
            data.put(e.name(), ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN));
        }
        if (in.read() != -1) {
            throw new FormatException("trailing bytes after the data");
        }
        return new Contents(header, headerBytes, data);
    }

    private static Header parse(String json, long dataStart) throws FormatException {
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        try (JsonReader in = new JsonReader(new StringReader(json))) {
            in.beginObject();
            Set<String> seen = new HashSet<>();
            while (in.hasNext()) {
                String name = in.nextName();
                if (!seen.add(name)) {
                    throw new FormatException("duplicate name '" + name + "' in the header");
                }
                if (name.equals("__metadata__")) {
                    in.beginObject();
                    while (in.hasNext()) {
                        String key = in.nextName();
                        if (metadata.put(key, in.nextString()) != null) {
                            throw new FormatException("duplicate metadata key '" + key + "'");
                        }
                    }
                    in.endObject();
                } else {
                    entries.put(name, entry(name, in));
                }
            }
            in.endObject();
            if (in.peek() != JsonToken.END_DOCUMENT) {
                throw new FormatException("text after the header's JSON object");
            }
        } catch (FormatException e) {
            throw e;
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            throw new FormatException("header is not valid safetensors JSON: " + e.getMessage(), e);
        }
        return new Header(entries, metadata, dataStart);
    }

    private static Entry entry(String name, JsonReader in) throws IOException {
        String dtype = null;
        long[] shape = null;
        long[] offsets = null;
        in.beginObject();
        while (in.hasNext()) {
            String key = in.nextName();
            switch (key) {
                case "dtype":
                    if (dtype != null) {
                        throw new FormatException(name + ": duplicate dtype");
                    }
                    dtype = in.nextString();
                    break;
                case "shape":
                    if (shape != null) {
                        throw new FormatException(name + ": duplicate shape");
                    }
                    shape = longs(in);
                    break;
                case "data_offsets":
                    if (offsets != null) {
                        throw new FormatException(name + ": duplicate data_offsets");
                    }
                    offsets = longs(in);
                    break;
                default:
                    throw new FormatException(name + ": unknown field '" + key + "'");
            }
        }
        in.endObject();
        if (dtype == null || shape == null || offsets == null) {
            throw new FormatException(name + ": needs dtype, shape and data_offsets");
        }
        if (itemSize(dtype) < 0) {
            throw new FormatException(name + ": unsupported dtype '" + dtype + "' (F32, BF16, F16 or I64)");
        }
        for (long d : shape) {
            if (d < 0) {
                throw new FormatException(name + ": negative dimension in shape");
            }
        }
        if (offsets.length != 2 || offsets[0] < 0 || offsets[1] < offsets[0]) {
            throw new FormatException(name + ": invalid data_offsets");
        }
        return new Entry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] longs(JsonReader in) throws IOException {
        List<Long> values = new ArrayList<>();
        in.beginArray();
        while (in.hasNext()) {
            if (in.peek() != JsonToken.NUMBER) {
                throw new MalformedJsonException("expected an integer at " + in.getPath());
            }
            String text = in.nextString();
            if (!text.matches("0|[1-9][0-9]{0,17}")) {
                throw new FormatException("not a non-negative integer of at most 18 digits: " + text);
            }
            values.add(Long.parseLong(text));
        }
        in.endArray();
        return values.stream().mapToLong(Long::longValue).toArray();
    }

    /** Offsets contiguous from 0, non-overlapping, sized by dtype and shape, filling the data. */
    private static List<Entry> checkLayout(java.util.Collection<Entry> entries, long dataBytes)
            throws FormatException {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long expected = 0;
        for (Entry e : sorted) {
            if (e.begin() != expected) {
                throw new FormatException(e.name() + ": data_offsets begin at " + e.begin()
                        + " but " + (e.begin() < expected ? "overlap the previous tensor" : "leave a gap")
                        + " (expected " + expected + ")");
            }
            long bytes;
            try {
                bytes = Math.multiplyExact(e.elementCount(), itemSize(e.dtype()));
            } catch (ArithmeticException x) {
                throw new FormatException(e.name() + ": shape too large");
            }
            if (e.end() - e.begin() != bytes) {
                throw new FormatException(e.name() + ": " + (e.end() - e.begin()) + " bytes but "
                        + e.dtype() + " of " + e.elementCount() + " elements needs " + bytes);
            }
            expected = e.end();
        }
        if (dataBytes >= 0 && expected < dataBytes) {
            throw new FormatException((dataBytes - expected) + " trailing bytes after the data");
        }
        if (dataBytes >= 0 && expected > dataBytes) {
            throw new FormatException("truncated: the data section has " + dataBytes
                    + " bytes, the header describes " + expected);
        }
        return sorted;
    }

    /**
     * A tensor to write: its name, dtype, shape and little-endian bytes.
     *
     * @param name the tensor's name
     * @param dtype its dtype, such as {@code F32}
     * @param shape its dimensions
     * @param data its bytes from position to limit
     */
    public record Output(String name, String dtype, long[] shape, ByteBuffer data) {
    }

    /**
     * The header for these tensors, padded with spaces to a multiple of 8 bytes.
     *
     * @param tensors the tensors, in file order
     * @param metadata the {@code __metadata__} strings
     * @return the header's UTF-8 JSON bytes
     */
    public static byte[] header(List<Output> tensors, Map<String, String> metadata) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("__metadata__", metadata);
        long offset = 0;
        for (Output t : tensors) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("dtype", t.dtype());
            e.put("shape", t.shape());
            e.put("data_offsets", new long[] {offset, offset + t.data().remaining()});
            offset += t.data().remaining();
            json.put(t.name(), e);
        }
        String text = new Gson().toJson(json);
        int padding = (8 - text.getBytes(StandardCharsets.UTF_8).length % 8) % 8;
        return (text + " ".repeat(padding)).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Writes a whole file's bytes: header length, header, then each tensor's data in order.
     *
     * @param out where the file's bytes go
     * @param tensors the tensors, in file order
     * @param metadata the {@code __metadata__} strings
     * @throws IOException if writing fails
     */
    public static void write(WritableByteChannel out, List<Output> tensors, Map<String, String> metadata)
            throws IOException {
        write(out, header(tensors, metadata), tensors);
    }

    /**
     * Writes a file from a header made by {@link #header} (perhaps patched since) and its tensors.
     *
     * @param out where the file's bytes go
     * @param header the header's bytes, from {@link #header}
     * @param tensors the same tensors as the header, in the same order
     * @throws IOException if writing fails
     */
    public static void write(WritableByteChannel out, byte[] header, List<Output> tensors) throws IOException {
        ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
        writeFully(out, length);
        writeFully(out, ByteBuffer.wrap(header));
        for (Output t : tensors) {
            writeFully(out, t.data().duplicate());
        }
    }

    private static void writeFully(WritableByteChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }
}
