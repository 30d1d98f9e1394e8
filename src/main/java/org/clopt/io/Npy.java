package org.clopt.io;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A strict reader and writer for NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0)
 * holding little-endian float32 ({@code <f4}) arrays in C order, the one dtype clopt computes
 * in; any other dtype, float64 included, is refused rather than converted.
 *
 * <p>Reading validates everything the header claims against the file before allocating, so a
 * hostile or damaged file costs at most the header limit in memory and ends in a one-line
 * {@link NpyFormatException}. Writing produces the bytes {@code np.save} produces for a C-ordered
 * float32 array and replaces the target atomically.
 */
public final class Npy {
    /** Headers larger than this are refused; NumPy's own writer never comes close. */
    static final int MAX_HEADER_BYTES = 1 << 20;

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** NumPy aligns the start of the data to this many bytes so it can be memory-mapped. */
    private static final int ALIGN = 64;
    /** NumPy leaves room for the first dimension to grow to this many digits in place. */
    private static final int GROWTH_DIGITS = 21;
    /** Bytes moved per read or write call: large enough for bulk transfers, small in memory. */
    private static final int CHUNK_BYTES = 1 << 20;
    private static final Set<String> KEYS = Set.of("descr", "fortran_order", "shape");
    /** How the one readable dtype is named in messages. */
    private static final String EXPECTED_DTYPE = "little-endian float32, <f4";

    private Npy() {
    }

    /** A malformed or unsupported {@code .npy} file; the message is one line naming the problem. */
    public static final class NpyFormatException extends IOException {
        private static final long serialVersionUID = 1L;

        NpyFormatException(String message) {
            super(message);
        }
    }

    /**
     * A float32 array read from a {@code .npy} file: its shape and its values in C order.
     * Callers check {@link #shape()} themselves.
     */
    public static final class Array {
        private final String descr;
        private final long[] shape;
        private final float[] float32;

        private Array(String descr, long[] shape, float[] float32) {
            this.descr = descr;
            this.shape = shape;
            this.float32 = float32;
        }

        /**
         * The dtype string from the header: always {@code <f4}, the only one read.
         *
         * @return {@code <f4}
         */
        public String descr() {
            return descr;
        }

        /**
         * A copy of the shape; empty for a scalar.
         *
         * @return the shape (a copy)
         */
        public long[] shape() {
            return shape.clone();
        }

        /**
         * The number of elements: the product of the shape, 1 for a scalar.
         *
         * @return the element count
         */
        public long elementCount() {
            return float32.length;
        }

        /**
         * The values in C order. This is the array's own storage, not a copy, since arrays may
         * be large.
         *
         * @return the values, not a copy
         */
        public float[] floats() {
            return float32;
        }

        @Override
        public String toString() {
            return "Npy.Array[" + descr + ", shape " + shapeText(shape) + "]";
        }
    }

    /**
     * Reads a {@code .npy} file holding a {@code <f4} array.
     *
     * @param file the file to read
     * @return the array
     * @throws NpyFormatException if the file is not a well-formed {@code .npy} file of dtype
     *     {@code <f4} (float64 included: it is refused, not narrowed), or its data does not match
     *     its header exactly
     * @throws IOException if the file cannot be read (for example {@link
     *     java.nio.file.NoSuchFileException})
     */
    public static Array read(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size == 0) {
                throw new NpyFormatException("not a .npy file (file is empty)");
            }
            ByteBuffer prefix = ByteBuffer.allocate((int) Math.min(size, 12))
                    .order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, prefix, "header");
            for (int i = 0; i < Math.min(prefix.limit(), MAGIC.length); i++) {
                if (prefix.get(i) != MAGIC[i]) {
                    throw new NpyFormatException("not a .npy file (bad magic)");
                }
            }
            if (size < 8) {
                throw new NpyFormatException("truncated header (file is " + size + " bytes)");
            }
            int major = prefix.get(6) & 0xff;
            int minor = prefix.get(7) & 0xff;
            if (major < 1 || major > 3 || minor != 0) {
                throw new NpyFormatException("unsupported .npy format version " + major + "." + minor
                        + " (expected 1.0, 2.0 or 3.0)");
            }
            int headerStart = major == 1 ? 10 : 12;
            if (size < headerStart) {
                throw new NpyFormatException("truncated header (file is " + size + " bytes)");
            }
            long headerLength = major == 1 ? prefix.getShort(8) & 0xffff : prefix.getInt(8) & 0xffffffffL;
            if (headerLength > MAX_HEADER_BYTES) {
                throw new NpyFormatException("header length " + headerLength
                        + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
            }
            if (headerStart + headerLength > size) {
                throw new NpyFormatException("truncated header (header length " + headerLength
                        + " but the file has " + (size - headerStart) + " bytes after the prefix)");
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            channel.position(headerStart);
            readFully(channel, headerBytes, "header");
            headerBytes.flip();
            Header header = Header.parse(decode(headerBytes, major));

            long count = elementCount(header.shape);
            long needed = count * Float.BYTES; // cannot overflow: count <= Integer.MAX_VALUE
            long available = size - headerStart - headerLength;
            String what = "shape " + shapeText(header.shape) + " of " + header.descr + " needs " + needed;
            if (available < needed) {
                throw new NpyFormatException("data is " + available + " bytes but " + what);
            }
            if (available > needed) {
                throw new NpyFormatException("trailing bytes after data (" + available
                        + " bytes but " + what + ")");
            }
            return new Array(header.descr, header.shape, readFloats(channel, (int) count));
        }
    }

    /**
     * Writes {@code data} as a C-ordered {@code <f4} array of this shape in format 1.0, with the
     * header NumPy writes, so the data starts at a multiple of 64 bytes. The file appears
     * atomically: a reader, or a crash, sees either the old file or the complete new one.
     *
     * @param file the file to write
     * @param data the values, in C order
     * @param shape the dimensions; none for a scalar. Their product must equal {@code data.length}.
     * @throws IllegalArgumentException if the shape is negative or does not match the data
     * @throws IOException if writing fails; the target is then unchanged and no temporary file is
     *     left behind
     */
    public static void write(Path file, float[] data, long... shape) throws IOException {
        AtomicFile.write(file, contents(data, shape));
    }

    /**
     * The whole {@code .npy} file for {@code data} of this shape, for {@link AtomicFile#prepare}
     * when it is one of several outputs written together.
     *
     * @param data the values in C order
     * @param shape the array's shape
     * @return the file's contents as an {@link AtomicFile.Body}
     * @throws IllegalArgumentException if the shape is negative or does not match the data
     */
    public static AtomicFile.Body contents(float[] data, long... shape) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(shape, "shape");
        long count;
        try {
            count = elementCount(shape);
        } catch (NpyFormatException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        if (count != data.length) {
            throw new IllegalArgumentException("shape " + shapeText(shape) + " has " + count
                    + " elements but data has " + data.length);
        }
        byte[] header = header(shape);
        return out -> {
            writeFully(out, ByteBuffer.wrap(header));
            writeFloats(out, data);
        };
    }

    /** The dtype, order and shape of a parsed header, already checked for support. */
    private static final class Header {
        final String descr;
        final long[] shape;

        private Header(String descr, long[] shape) {
            this.descr = descr;
            this.shape = shape;
        }

        static Header parse(String text) throws NpyFormatException {
            if (text.isEmpty() || text.charAt(text.length() - 1) != '\n') {
                throw new NpyFormatException("malformed header: it does not end with a newline");
            }
            Map<String, Object> dict = new DictParser(text).parse();
            for (String key : dict.keySet()) {
                if (!KEYS.contains(key)) {
                    throw new NpyFormatException("malformed header: unexpected key '" + key
                            + "' (expected descr, fortran_order, shape)");
                }
            }
            for (String key : List.of("descr", "fortran_order", "shape")) {
                if (!dict.containsKey(key)) {
                    throw new NpyFormatException("malformed header: missing key '" + key + "'");
                }
            }
            if (!(dict.get("descr") instanceof String)) {
                throw new NpyFormatException("malformed header: descr must be a string");
            }
            if (!(dict.get("fortran_order") instanceof Boolean)) {
                throw new NpyFormatException("malformed header: fortran_order must be True or False");
            }
            if (!(dict.get("shape") instanceof long[])) {
                throw new NpyFormatException("malformed header: shape must be a tuple of integers");
            }
            String descr = (String) dict.get("descr");
            if (descr.startsWith(">")) {
                throw new NpyFormatException("big-endian dtype '" + descr
                        + "' is not supported (expected " + EXPECTED_DTYPE + ")");
            }
            if (!descr.equals("<f4")) {
                throw new NpyFormatException("unsupported dtype '" + descr + "' (expected "
                        + EXPECTED_DTYPE + ")");
            }
            // NumPy writes True only when the layouts really differ, so it cannot be read as C order.
            if ((Boolean) dict.get("fortran_order")) {
                throw new NpyFormatException("fortran_order True is not supported");
            }
            return new Header(descr, (long[]) dict.get("shape"));
        }
    }

    /**
     * A parser for the one Python literal a header holds: a dict whose keys are strings and whose
     * values are strings, {@code True}/{@code False} or tuples of integers. Anything else is an
     * error; nothing is evaluated. Values come back as String, Boolean, long[] (a tuple) or Long
     * (a bare or parenthesized integer, which is not a tuple in Python).
     */
    private static final class DictParser {
        private final String text;
        private int pos;

        DictParser(String text) {
            this.text = text;
        }

        Map<String, Object> parse() throws NpyFormatException {
            skipSpace();
            expect('{', "the header is not a dict");
            Map<String, Object> dict = new LinkedHashMap<>();
            skipSpace();
            while (peek() != '}') {
                if (peek() != '\'' && peek() != '"') {
                    throw error("expected a quoted key");
                }
                String key = string();
                skipSpace();
                expect(':', "expected ':' after key '" + key + "'");
                skipSpace();
                Object value = value(key);
                if (dict.put(key, value) != null) {
                    throw new NpyFormatException("malformed header: duplicate key '" + key + "'");
                }
                skipSpace();
                if (peek() == ',') {
                    pos++;
                    skipSpace();
                } else if (peek() != '}') {
                    throw error("expected ',' or '}'");
                }
            }
            pos++;
            skipSpace();
            if (pos != text.length()) {
                throw error("unexpected text after the dict");
            }
            return dict;
        }

        private Object value(String key) throws NpyFormatException {
            char c = peek();
            if (c == '\'' || c == '"') {
                return string();
            }
            if (c == '(') {
                return tuple();
            }
            if (c == '-' || (c >= '0' && c <= '9')) {
                return integer();
            }
            if (Character.isLetter(c)) {
                int start = pos;
                while (pos < text.length() && Character.isLetterOrDigit(text.charAt(pos))) {
                    pos++;
                }
                String word = text.substring(start, pos);
                if (word.equals("True") || word.equals("False")) {
                    return word.equals("True");
                }
                pos = start;
                throw error("unexpected value '" + word + "'");
            }
            if (c == '[' && key.equals("descr")) {
                throw new NpyFormatException("unsupported dtype: a structured dtype "
                        + "(expected " + EXPECTED_DTYPE + ")");
            }
            throw error("unexpected value for '" + key + "'");
        }

        private Object tuple() throws NpyFormatException {
            pos++; // '('
            List<Long> items = new ArrayList<>();
            boolean comma = false;
            skipSpace();
            while (peek() != ')') {
                char c = peek();
                if (c != '-' && (c < '0' || c > '9')) {
                    throw error("expected an integer in the tuple");
                }
                items.add(integer());
                skipSpace();
                if (peek() == ',') {
                    pos++;
                    comma = true;
                    skipSpace();
                } else if (peek() != ')') {
                    throw error("expected ',' or ')' in the tuple");
                } else {
                    comma = false;
                }
            }
            pos++;
            if (items.size() == 1 && !comma) {
                return items.get(0); // "(5)" is the integer 5 in Python, not a tuple
            }
            long[] values = new long[items.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = items.get(i);
            }
            return values;
        }

        private Long integer() throws NpyFormatException {
            int start = pos;
            if (peek() == '-') {
                pos++;
            }
            int digits = pos;
            while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') {
                pos++;
            }
            String number = text.substring(start, pos);
            if (pos == digits) {
                pos = start;
                throw error("expected digits");
            }
            if (text.charAt(digits) == '0' && pos - digits > 1) {
                pos = start;
                throw error("integer with leading zeros '" + number + "'");
            }
            try {
                return Long.parseLong(number);
            } catch (NumberFormatException e) {
                throw new NpyFormatException("malformed header: integer " + number + " is too large");
            }
        }

        private String string() throws NpyFormatException {
            char quote = text.charAt(pos);
            int start = ++pos;
            while (pos < text.length() && text.charAt(pos) != quote) {
                char c = text.charAt(pos);
                if (c == '\n' || c == '\r') {
                    pos = start - 1;
                    throw error("unterminated string");
                }
                // Escapes never occur in a dtype or key; refusing them keeps this parser from
                // having to know Python's escape rules.
                if (c == '\\') {
                    throw error("unsupported character in string");
                }
                pos++;
            }
            if (pos == text.length()) {
                pos = start - 1;
                throw error("unterminated string");
            }
            return text.substring(start, pos++);
        }

        private void skipSpace() {
            while (pos < text.length() && " \t\r\n\f".indexOf(text.charAt(pos)) >= 0) {
                pos++;
            }
        }

        private char peek() throws NpyFormatException {
            if (pos >= text.length()) {
                throw error("unexpected end");
            }
            return text.charAt(pos);
        }

        private void expect(char c, String problem) throws NpyFormatException {
            if (peek() != c) {
                throw error(problem);
            }
            pos++;
        }

        private NpyFormatException error(String problem) {
            return new NpyFormatException("malformed header: " + problem + " at offset " + pos);
        }
    }

    /** Header text in the encoding of the format version: UTF-8 for 3.0, latin-1 before. */
    private static String decode(ByteBuffer bytes, int major) throws NpyFormatException {
        if (major < 3) {
            return ISO_8859_1.decode(bytes).toString();
        }
        try {
            return UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw new NpyFormatException("malformed header: not valid UTF-8");
        }
    }

    /** The product of the shape, checked to be a valid Java array length. */
    private static long elementCount(long[] shape) throws NpyFormatException {
        long count = 1;
        for (long dimension : shape) {
            if (dimension < 0) {
                throw new NpyFormatException("shape " + shapeText(shape) + " has a negative dimension");
            }
        }
        try {
            for (long dimension : shape) {
                count = Math.multiplyExact(count, dimension);
            }
        } catch (ArithmeticException e) {
            throw new NpyFormatException("shape " + shapeText(shape) + " is too large");
        }
        if (count > Integer.MAX_VALUE) {
            throw new NpyFormatException("shape " + shapeText(shape) + " has " + count
                    + " elements, more than the " + Integer.MAX_VALUE + " supported");
        }
        return count;
    }

    /**
     * A shape as Python writes a tuple: {@code ()}, {@code (3,)}, {@code (3, 4)}.
     *
     * @param shape the dimensions
     * @return the tuple's text
     */
    public static String shapeText(long[] shape) {
        StringBuilder s = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            s.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        return s.append(shape.length == 1 ? ",)" : ")").toString();
    }

    /** The magic, version 1.0, length and header exactly as NumPy's {@code np.save} writes them. */
    private static byte[] header(long[] shape) {
        StringBuilder dict = new StringBuilder("{'descr': '<f4', 'fortran_order': False, 'shape': ")
                .append(shapeText(shape)).append(", }");
        if (shape.length > 0) {
            dict.append(" ".repeat(GROWTH_DIGITS - Long.toString(shape[0]).length()));
        }
        int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
        // Like NumPy: always at least one space, up to a full ALIGN when already aligned.
        dict.append(" ".repeat(ALIGN - unpadded % ALIGN)).append('\n');
        if (dict.length() > 0xffff) {
            throw new IllegalArgumentException("shape " + shapeText(shape)
                    + " has too many dimensions for a .npy 1.0 header");
        }
        ByteBuffer bytes = ByteBuffer.allocate(MAGIC.length + 4 + dict.length())
                .order(ByteOrder.LITTLE_ENDIAN);
        bytes.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) dict.length());
        bytes.put(dict.toString().getBytes(ISO_8859_1));
        return bytes.array();
    }

    private static float[] readFloats(FileChannel channel, int count) throws IOException {
        float[] values = new float[count];
        ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(CHUNK_BYTES, (long) count * Float.BYTES))
                .order(ByteOrder.LITTLE_ENDIAN);
        for (int done = 0; done < count; ) {
            int n = Math.min(count - done, chunk.capacity() / Float.BYTES);
            chunk.clear().limit(n * Float.BYTES);
            readFully(channel, chunk, "data");
            chunk.flip();
            chunk.asFloatBuffer().get(values, done, n);
            done += n;
        }
        return values;
    }

    private static void writeFloats(FileChannel channel, float[] data) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(CHUNK_BYTES, (long) data.length * Float.BYTES))
                .order(ByteOrder.LITTLE_ENDIAN);
        for (int done = 0; done < data.length; ) {
            int n = Math.min(data.length - done, chunk.capacity() / Float.BYTES);
            chunk.clear().limit(n * Float.BYTES);
            chunk.asFloatBuffer().put(data, done, n);
            writeFully(channel, chunk);
            done += n;
        }
    }

    /** Fills the buffer; the file was measured first, so running out means it shrank meanwhile. */
    private static void readFully(FileChannel channel, ByteBuffer buffer, String part) throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new NpyFormatException("truncated " + part + " (the file ended early)");
            }
        }
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }
}
