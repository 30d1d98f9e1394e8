package org.clopt.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the golden files {@code scripts/golden.py} writes as doubles: float64 ({@code <f8})
 * trajectories, which {@link Npy} refuses on purpose, and float32 ones widened exactly. Only the
 * header NumPy writes (format 1.0, C order) is understood; anything else fails the test.
 */
public final class GoldenNpy {
    private static final Pattern HEADER = Pattern.compile(
            "\\{'descr': '(<f[48])', 'fortran_order': False, 'shape': \\(([0-9, ]*)\\), \\} *\n");

    private GoldenNpy() {
    }

    /** The values of a {@code <f8} or {@code <f4} file in C order, as doubles. */
    public static double[] read(Path file) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.limit() < 10 || bytes.get(0) != (byte) 0x93 || bytes.get(6) != 1 || bytes.get(7) != 0) {
            throw new IOException(file + ": not a .npy 1.0 file");
        }
        int headerLength = bytes.getShort(8) & 0xffff;
        if (10 + headerLength > bytes.limit()) {
            throw new IOException(file + ": truncated header");
        }
        String header = new String(bytes.array(), 10, headerLength, StandardCharsets.ISO_8859_1);
        Matcher m = HEADER.matcher(header);
        if (!m.matches()) {
            throw new IOException(file + ": unexpected header " + header.strip());
        }
        long count = 1;
        for (String dimension : m.group(2).split(",")) {
            if (!dimension.isBlank()) {
                count *= Long.parseLong(dimension.strip());
            }
        }
        boolean f8 = m.group(1).equals("<f8");
        long data = (long) bytes.limit() - 10 - headerLength;
        if (data != count * (f8 ? 8 : 4)) {
            throw new IOException(file + ": " + data + " bytes of data for " + count + " elements of " + m.group(1));
        }
        bytes.position(10 + headerLength);
        double[] values = new double[(int) count];
        for (int i = 0; i < values.length; i++) {
            values[i] = f8 ? bytes.getDouble() : bytes.getFloat();
        }
        return values;
    }
}
