package org.clopt.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Crash-safe file replacement: a reader, or a crash at any moment, sees either the old file or
 * the complete new one, never a part. Used for checkpoints and the command line's outputs.
 */
public final class AtomicFile {
    private AtomicFile() {
    }

    /** Writes a file's whole contents to a channel. */
    @FunctionalInterface
    public interface Body {
        void writeTo(FileChannel out) throws IOException;
    }

    /** The prefix and suffix of the temporary files {@link #write} leaves only if killed. */
    public static final String TEMP_PREFIX = ".";
    public static final String TEMP_SUFFIX = ".tmp";

    /**
     * Writes {@code body} to a temporary file in the target's directory, forces it to disk,
     * renames it over {@code file} atomically, then forces the directory.
     *
     * @throws IOException if writing fails; the target is then unchanged and the temporary file
     *     removed
     */
    public static void write(Path file, Body body) throws IOException {
        Path target = file.toAbsolutePath();
        Path directory = target.getParent();
        if (directory == null || target.getFileName() == null) {
            throw new IOException(file + ": not a file path");
        }
        String name = target.getFileName().toString();
        // Same directory as the target so the rename cannot cross file systems. Not
        // Files.createTempFile: it creates the file owner-only, and the output should get the
        // permissions any newly created file gets.
        String base = name.codePointCount(0, name.length()) > 32
                ? name.substring(0, name.offsetByCodePoints(0, 32)) : name;
        Path temp = null;
        FileChannel channel = null;
        for (int attempt = 0; channel == null; attempt++) {
            temp = directory.resolve(TEMP_PREFIX + base + "."
                    + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + TEMP_SUFFIX);
            try {
                channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            } catch (FileAlreadyExistsException e) {
                if (attempt == 100) {
                    throw e;
                }
            }
        }
        try {
            try (FileChannel out = channel) {
                body.writeTo(out);
                // Durable before it becomes visible: otherwise a crash after the rename could
                // leave a complete-looking name over incomplete data.
                out.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (Throwable t) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException e) {
                t.addSuppressed(e);
            }
            throw t;
        }
        // Make the rename itself durable. Some platforms cannot open a directory; the file is
        // already in place there, so that is not a failure of the write.
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException ignored) {
            // The rename has happened; only its durability across a crash is unconfirmed.
        }
    }
}
