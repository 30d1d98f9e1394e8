package org.clopt.io;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Round trips, NumPy's exact bytes, every rejection and its message, and atomic replacement. */
class NpyTest {
    private static final String F4_3 = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";

    @TempDir
    Path dir;

    @Test
    void roundTripsOneDimension() throws IOException {
        float[] data = {1.5f, -2f, 0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.MIN_VALUE, Float.MAX_VALUE};
        Path file = dir.resolve("a.npy");
        Npy.write(file, data, data.length);
        Npy.Array array = Npy.read(file);
        assertEquals("<f4", array.descr());
        assertArrayEquals(new long[] {data.length}, array.shape());
        assertEquals(data.length, array.elementCount());
        assertArrayEquals(data, array.floats()); // compares bit patterns: NaN and -0 survive
    }

    @Test
    void roundTripsTwoDimensions() throws IOException {
        float[] data = new float[12];
        for (int i = 0; i < data.length; i++) {
            data[i] = i * 0.25f;
        }
        Path file = dir.resolve("b.npy");
        Npy.write(file, data, 3, 4);
        Npy.Array array = Npy.read(file);
        assertArrayEquals(new long[] {3, 4}, array.shape());
        assertArrayEquals(data, array.floats());
    }

    @Test
    void roundTripsEmptyArrays() throws IOException {
        Path file = dir.resolve("empty.npy");
        Npy.write(file, new float[0], 0);
        Npy.Array array = Npy.read(file);
        assertArrayEquals(new long[] {0}, array.shape());
        assertEquals(0, array.floats().length);

        Npy.write(file, new float[0], 5, 0);
        assertArrayEquals(new long[] {5, 0}, Npy.read(file).shape());
    }

    @Test
    void roundTripsScalar() throws IOException {
        Path file = dir.resolve("scalar.npy");
        Npy.write(file, new float[] {7.25f});
        Npy.Array array = Npy.read(file);
        assertArrayEquals(new long[0], array.shape());
        assertEquals(1, array.elementCount());
        assertArrayEquals(new float[] {7.25f}, array.floats());
    }

    @Test
    void roundTripsArraysLargerThanOneTransferChunk() throws IOException {
        float[] data = new float[300_007]; // over 1 MiB and not a multiple of the chunk
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) Math.sin(i);
        }
        Path file = dir.resolve("large.npy");
        Npy.write(file, data, data.length);
        assertArrayEquals(data, Npy.read(file).floats());
    }

    @Test
    void alignsTheDataTo64Bytes() throws IOException {
        long[][] shapes = {{}, {0}, {3}, {3, 4}, {1, 2, 3, 4, 5, 1}, {123456789, 0}};
        for (long[] shape : shapes) {
            long count = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            Path file = dir.resolve("aligned.npy");
            Npy.write(file, new float[(int) count], shape);
            byte[] bytes = Files.readAllBytes(file);
            int dataStart = 10 + (ByteBuffer.wrap(bytes, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff);
            assertEquals(0, dataStart % 64, Npy.shapeText(shape));
            assertEquals('\n', bytes[dataStart - 1], Npy.shapeText(shape));
            assertEquals(bytes.length, dataStart + 4 * count, Npy.shapeText(shape));
        }
    }

    /** The bytes of {@code np.save(f, np.arange(3, dtype='<f4'))}. */
    @Test
    void writesTheBytesNumPyWrites() throws IOException {
        Path file = dir.resolve("arange.npy");
        Npy.write(file, new float[] {0, 1, 2}, 3);
        assertArrayEquals(numpyFile(F4_3, floats(0, 1, 2)), Files.readAllBytes(file));
    }

    @Test
    void readsFloat32WrittenByNumPy() throws IOException {
        Npy.Array array = Npy.read(file(numpyFile(F4_3, floats(0, 1, 2))));
        assertEquals("<f4", array.descr());
        assertArrayEquals(new long[] {3}, array.shape());
        assertArrayEquals(new float[] {0, 1, 2}, array.floats());
    }

    /** float64 is refused, not narrowed: a silent rounding would hide a wrong input file. */
    @Test
    void refusesFloat64WrittenByNumPyNamingFloat32() throws IOException {
        double[] values = new double[12];
        for (int i = 0; i < values.length; i++) {
            values[i] = i + 0.1;
        }
        Path file = file(numpyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }",
                doubles(values)));
        Npy.NpyFormatException e = assertThrows(Npy.NpyFormatException.class, () -> Npy.read(file));
        assertEquals("unsupported dtype '<f8' (expected little-endian float32, <f4)", e.getMessage());
    }

    @Test
    void readsScalarAndEmptyWrittenByNumPy() throws IOException {
        Npy.Array scalar = Npy.read(file(numpyFile(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", floats(2.5f))));
        assertArrayEquals(new long[0], scalar.shape());
        assertArrayEquals(new float[] {2.5f}, scalar.floats());
        Npy.Array empty = Npy.read(file(numpyFile(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", new byte[0])));
        assertArrayEquals(new long[] {0}, empty.shape());
        assertEquals(0, empty.floats().length);
    }

    @Test
    void readsFormatVersions2And3() throws IOException {
        assertArrayEquals(new float[] {0, 1, 2},
                Npy.read(file(npy(2, F4_3, ISO_8859_1, floats(0, 1, 2)))).floats());
        assertArrayEquals(new float[] {0, 1, 2},
                Npy.read(file(npy(3, F4_3, UTF_8, floats(0, 1, 2)))).floats());
    }

    @Test
    void acceptsOtherSpellingsOfTheSameDict() throws IOException {
        String dict = "{ \"shape\" : ( 2 , 1 , ) ,\t'fortran_order':False,'descr':\"<f4\"}";
        Npy.Array array = Npy.read(file(npy(1, dict, ISO_8859_1, floats(1, 2))));
        assertArrayEquals(new long[] {2, 1}, array.shape());
        assertArrayEquals(new float[] {1, 2}, array.floats());
    }

    static Stream<Arguments> rejections() {
        byte[] valid = numpyFile(F4_3, floats(0, 1, 2));
        return Stream.of(
            Arguments.of("empty file", new byte[0], "not a .npy file (file is empty)"),
            Arguments.of("bad magic", "PK\3\4 this is a zip".getBytes(ISO_8859_1), "not a .npy file (bad magic)"),
            Arguments.of("bad magic, short", new byte[] {(byte) 0x93, 'X'}, "not a .npy file (bad magic)"),
            Arguments.of("cut in the magic", Arrays.copyOf(valid, 4), "truncated header"),
            Arguments.of("cut in the length", Arrays.copyOf(valid, 9), "truncated header"),
            Arguments.of("cut in the header", Arrays.copyOf(valid, 100), "truncated header"),
            Arguments.of("version 4.0", version(valid, 4, 0), "unsupported .npy format version 4.0"),
            Arguments.of("version 1.1", version(valid, 1, 1), "unsupported .npy format version 1.1"),
            Arguments.of("version 0.0", version(valid, 0, 0), "unsupported .npy format version 0.0"),
            Arguments.of("huge header", hugeHeaderLength(), "header length 2097152 exceeds the limit"),
            Arguments.of("no newline", raw(1, F4_3 + "   "), "malformed header: it does not end with a newline"),
            Arguments.of("not a dict", raw(1, "[1, 2]\n"), "malformed header: the header is not a dict"),
            Arguments.of("unclosed dict", raw(1, "{'descr': '<f4'\n"), "malformed header: unexpected end"),
            Arguments.of("text after dict", header(F4_3 + " 1"), "malformed header: unexpected text after the dict"),
            Arguments.of("unquoted key", header("{descr: '<f4'}"), "malformed header: expected a quoted key"),
            Arguments.of("misplaced quote", header("{'descr: '<f4'}"), "malformed header: expected ':'"),
            Arguments.of("open quote", header("{'descr': '<f4}"), "malformed header: unterminated string"),
            Arguments.of("escape", header("{'descr': '<\\x66'}"), "malformed header: unsupported character"),
            Arguments.of("missing key", header("{'descr': '<f4', 'shape': (3,), }"),
                    "malformed header: missing key 'fortran_order'"),
            Arguments.of("extra key", header("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': True}"),
                    "malformed header: unexpected key 'x'"),
            Arguments.of("duplicate key", header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}"),
                    "malformed header: duplicate key 'descr'"),
            Arguments.of("descr not a string", header("{'descr': 4, 'fortran_order': False, 'shape': (3,)}"),
                    "malformed header: descr must be a string"),
            Arguments.of("structured dtype", header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}"),
                    "unsupported dtype: a structured dtype"),
            Arguments.of("int32", header("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }"),
                    "unsupported dtype '<i4' (expected little-endian float32, <f4)"),
            Arguments.of("native order", header("{'descr': '=f4', 'fortran_order': False, 'shape': (3,), }"),
                    "unsupported dtype '=f4'"),
            Arguments.of("big-endian", header("{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }"),
                    "big-endian dtype '>f4' is not supported (expected little-endian float32, <f4)"),
            Arguments.of("big-endian float64", header("{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }"),
                    "big-endian dtype '>f8' is not supported"),
            Arguments.of("fortran order", header("{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }"),
                    "fortran_order True is not supported"),
            Arguments.of("fortran_order 0", header("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }"),
                    "malformed header: fortran_order must be True or False"),
            Arguments.of("None", header("{'descr': '<f4', 'fortran_order': None, 'shape': (3,), }"),
                    "malformed header: unexpected value 'None'"),
            Arguments.of("shape not a tuple", header("{'descr': '<f4', 'fortran_order': False, 'shape': (3), }"),
                    "malformed header: shape must be a tuple of integers"),
            Arguments.of("shape a list", header("{'descr': '<f4', 'fortran_order': False, 'shape': [3], }"),
                    "malformed header: unexpected value for 'shape'"),
            Arguments.of("shape of strings", header("{'descr': '<f4', 'fortran_order': False, 'shape': ('3',), }"),
                    "malformed header: expected an integer in the tuple"),
            Arguments.of("empty tuple element", header("{'descr': '<f4', 'fortran_order': False, 'shape': (,), }"),
                    "malformed header: expected an integer in the tuple"),
            Arguments.of("leading zero", header("{'descr': '<f4', 'fortran_order': False, 'shape': (03,), }"),
                    "malformed header: integer with leading zeros '03'"),
            Arguments.of("negative", header("{'descr': '<f4', 'fortran_order': False, 'shape': (3, -1), }"),
                    "shape (3, -1) has a negative dimension"),
            Arguments.of("beyond long", header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"),
                    "malformed header: integer 99999999999999999999 is too large"),
            Arguments.of("overflow", header("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"),
                    "shape (4294967296, 4294967296) is too large"),
            Arguments.of("over int", header("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 32768), }"),
                    "shape (65536, 32768) has 2147483648 elements, more than the 2147483647 supported"),
            Arguments.of("short data", numpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (10, 12), }",
                    new byte[400]), "data is 400 bytes but shape (10, 12) of <f4 needs 480"),
            Arguments.of("trailing bytes", numpyFile(F4_3, new byte[13]),
                    "trailing bytes after data (13 bytes but shape (3,) of <f4 needs 12)"),
            Arguments.of("bad utf-8", npy(3, "{'descr': '<f4\u00ff', 'fortran_order': False, 'shape': (3,), }",
                    ISO_8859_1, floats(0, 1, 2)), "malformed header: not valid UTF-8"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejections")
    void rejectsMalformedFilesWithOneLineMessage(String name, byte[] bytes, String message) throws IOException {
        Path file = file(bytes);
        Npy.NpyFormatException e = assertThrows(Npy.NpyFormatException.class, () -> Npy.read(file));
        assertTrue(e.getMessage().startsWith(message), () -> "message: " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), () -> "message: " + e.getMessage());
    }

    @Test
    void replacesAnExistingFileAndLeavesNoTemporaryFile() throws IOException {
        Path file = dir.resolve("out.npy");
        Npy.write(file, new float[] {1, 2, 3}, 3);
        Npy.write(file, new float[] {4, 5}, 2);
        assertArrayEquals(new float[] {4, 5}, Npy.read(file).floats());
        assertEquals(List.of("out.npy"), listing(dir));
    }

    @Test
    void failedWriteLeavesNoTemporaryFile() throws IOException {
        Path target = Files.createDirectory(dir.resolve("target.npy"));
        assertThrows(IOException.class, () -> Npy.write(target, new float[] {1}, 1));
        assertTrue(Files.isDirectory(target));
        assertEquals(List.of("target.npy"), listing(dir));
    }

    @Test
    void rejectedArgumentsLeaveTheTargetUntouched() throws IOException {
        Path file = dir.resolve("out.npy");
        Npy.write(file, new float[] {1, 2, 3}, 3);
        byte[] before = Files.readAllBytes(file);
        IllegalArgumentException mismatch = assertThrows(IllegalArgumentException.class,
                () -> Npy.write(file, new float[] {1, 2, 3}, 2, 2));
        assertEquals("shape (2, 2) has 4 elements but data has 3", mismatch.getMessage());
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                () -> Npy.write(file, new float[0], -1));
        assertEquals("shape (-1,) has a negative dimension", negative.getMessage());
        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(List.of("out.npy"), listing(dir));
    }

    @Test
    void missingDirectoryFailsWithoutCreatingIt() {
        Path file = dir.resolve("missing").resolve("out.npy");
        assertThrows(IOException.class, () -> Npy.write(file, new float[] {1}, 1));
        assertFalse(Files.exists(file.getParent()));
    }

    // Fixtures.

    /**
     * The file NumPy writes for this header dict: format 1.0 and the header padded with spaces to
     * 118 bytes, so the data starts at byte 128. NumPy 1.24 and later add 21 - digits spaces of
     * room to grow the first dimension before aligning and NumPy before 1.24 adds none; for these
     * small shapes both come to 128 (checked against np.save of NumPy 2.4).
     */
    private static byte[] numpyFile(String dict, byte[] data) {
        String header = dict + " ".repeat(117 - dict.length()) + "\n";
        return concat(prefix(1, header.length()), header.getBytes(ISO_8859_1), data);
    }

    /** A file of this format version whose header is the dict, padded to 64 bytes like NumPy's. */
    private static byte[] npy(int major, String dict, java.nio.charset.Charset charset, byte[] data) {
        byte[] text = dict.getBytes(charset);
        int prefix = major == 1 ? 10 : 12;
        int padding = 64 - (prefix + text.length + 1) % 64;
        byte[] header = concat(text, " ".repeat(padding).getBytes(ISO_8859_1), new byte[] {'\n'});
        return concat(prefix(major, header.length), header, data);
    }

    /** A version-1.0 file with this dict and three floats of data. */
    private static byte[] header(String dict) {
        return npy(1, dict, ISO_8859_1, floats(0, 1, 2));
    }

    /** A version-1.0 file whose header is exactly this text, unpadded. */
    private static byte[] raw(int major, String header) {
        return concat(prefix(major, header.length()), header.getBytes(ISO_8859_1));
    }

    private static byte[] prefix(int major, int headerLength) {
        ByteBuffer b = ByteBuffer.allocate(major == 1 ? 10 : 12).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) {
            b.putShort((short) headerLength);
        } else {
            b.putInt(headerLength);
        }
        return b.array();
    }

    private static byte[] version(byte[] file, int major, int minor) {
        byte[] copy = file.clone();
        copy[6] = (byte) major;
        copy[7] = (byte) minor;
        return copy;
    }

    private static byte[] hugeHeaderLength() {
        return concat(prefix(2, 2 << 20), "{}\n".getBytes(ISO_8859_1));
    }

    private static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b.array();
    }

    private static byte[] doubles(double... values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asDoubleBuffer().put(values);
        return b.array();
    }

    private static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        ByteBuffer b = ByteBuffer.allocate(length);
        for (byte[] part : parts) {
            b.put(part);
        }
        return b.array();
    }

    private Path file(byte[] bytes) throws IOException {
        return Files.write(Files.createTempFile(dir, "fixture", ".npy"), bytes);
    }

    private static List<String> listing(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }
}
