package org.clopt.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The golden-file reader the float64 comparisons rest on: exact values, and loud failures. */
class GoldenNpyTest {
    @TempDir
    Path dir;

    @Test
    void readsFloat64WithoutNarrowing() throws IOException {
        double[] values = new double[12];
        for (int i = 0; i < values.length; i++) {
            values[i] = i + 0.1; // not representable as float: proves nothing was narrowed
        }
        Path file = float64(dir.resolve("f8.npy"), "(3, 4)", values);
        assertArrayEquals(values, GoldenNpy.read(file));
    }

    @Test
    void readsFloat32WidenedExactly() throws IOException {
        float[] values = {0.1f, -2.5f, Float.MIN_VALUE};
        Path file = dir.resolve("f4.npy");
        Npy.write(file, values, 3);
        assertArrayEquals(new double[] {0.1f, -2.5f, Float.MIN_VALUE}, GoldenNpy.read(file));
    }

    @Test
    void refusesDataThatDoesNotMatchTheShape() throws IOException {
        Path file = float64(dir.resolve("short.npy"), "(3, 5)", new double[12]);
        IOException e = assertThrows(IOException.class, () -> GoldenNpy.read(file));
        assertTrue(e.getMessage().contains("96 bytes of data for 15 elements"), e.getMessage());
        Path fortran = dir.resolve("fortran.npy");
        Files.write(fortran, new String(Files.readAllBytes(float64(fortran, "(12,)", new double[12])),
                StandardCharsets.ISO_8859_1).replace("False", "True ").getBytes(StandardCharsets.ISO_8859_1));
        assertThrows(IOException.class, () -> GoldenNpy.read(fortran));
    }

    /** The file {@code np.save} writes for a float64 array of this shape. */
    private static Path float64(Path file, String shape, double[] values) throws IOException {
        String dict = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
        String header = dict + " ".repeat(117 - dict.length()) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + 8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
        b.put(header.getBytes(StandardCharsets.ISO_8859_1));
        Arrays.stream(values).forEach(b::putDouble);
        return Files.write(file, b.array());
    }
}
