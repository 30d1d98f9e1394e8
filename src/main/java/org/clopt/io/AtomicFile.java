package org.clopt.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Crash-safe file replacement: a reader, or a crash at any moment, sees either the old file or
 * the complete new one, never a part. Used for checkpoints and the command line's outputs.
 *
 * <p>{@link #write} replaces one file. A command with several outputs {@link #prepare}s each
 * (written in full and forced to disk, not yet visible), then {@link #commit}s them together, so
 * a failure while writing any of them changes none. Only regular files are replaced: a device,
 * a pipe or a directory at the target is refused, and a symbolic link is written through, its
 * target replaced. Temporary files carry the writer's process id; a write that succeeds removes
 * the ones that writers killed before they could clean up left for the same target.
 */
public final class AtomicFile implements AutoCloseable {
    /** Writes a file's whole contents to a channel. */
    @FunctionalInterface
    public interface Body {
        /**
         * Writes the contents.
         *
         * @param out the temporary file, positioned at its start
         * @throws IOException if writing fails
         */
        void writeTo(FileChannel out) throws IOException;
    }

    /** The prefix of temporary files: hidden, next to their target. */
    public static final String TEMP_PREFIX = ".";
    /** The suffix of temporary files. */
    public static final String TEMP_SUFFIX = ".tmp";

    private final Path target;
    private final Path temp;
    private boolean done;

    private AtomicFile(Path target, Path temp) {
        this.target = target;
        this.temp = temp;
    }

    /**
     * Writes {@code body} to a temporary file in the target's directory, forces it to disk,
     * renames it over {@code file} atomically, then forces the directory.
     *
     * @param file the file to replace or create
     * @param body what to write
     * @throws IOException naming the file, if writing fails; the target is then unchanged and the
     *     temporary file removed
     */
    public static void write(Path file, Body body) throws IOException {
        try (AtomicFile pending = prepare(file, body)) {
            pending.commit();
        }
    }

    /**
     * Writes the new contents of {@code file} to a temporary file beside it and forces them to
     * disk; nothing is visible until {@link #commit}, and {@link #close} without a commit removes
     * the temporary file.
     *
     * @param file the file to replace or create
     * @param body what to write
     * @return the pending replacement
     * @throws IOException naming the file, if it is not a regular file or writing fails
     */
    public static AtomicFile prepare(Path file, Body body) throws IOException {
        Path target = target(file);
        Path directory = target.getParent();
        String name = target.getFileName().toString();
        // Same directory as the target so the rename cannot cross file systems. Not
        // Files.createTempFile: it creates the file owner-only, and the output should get the
        // permissions any newly created file gets.
        Path temp = null;
        FileChannel channel = null;
        for (int attempt = 0; channel == null; attempt++) {
            temp = directory.resolve(tempPrefix(name) + ProcessHandle.current().pid() + "-"
                    + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + TEMP_SUFFIX);
            try {
                channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            } catch (FileAlreadyExistsException e) {
                if (attempt == 100) {
                    throw named(file, e);
                }
            } catch (IOException e) {
                throw named(file, e);
            }
        }
        AtomicFile pending = new AtomicFile(target, temp);
        boolean written = false;
        try (FileChannel out = channel) {
            body.writeTo(out);
            // Durable before it becomes visible: otherwise a crash after the rename could
            // leave a complete-looking name over incomplete data.
            out.force(true);
            written = true;
        } catch (IOException e) {
            throw named(file, e);
        } finally {
            if (!written) {
                Files.deleteIfExists(temp);
            }
        }
        return pending;
    }

    /**
     * Makes the new contents visible: renames the temporary file over the target atomically and
     * forces the directory.
     *
     * @throws IOException naming the file, if the rename fails; the target is then unchanged
     */
    public void commit() throws IOException {
        if (done) {
            throw new IllegalStateException(target + ": already committed or closed");
        }
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw named(target, e);
        }
        done = true;
        // Make the rename itself durable. Some platforms cannot open a directory; the file is
        // already in place there, so that is not a failure of the write.
        try (FileChannel dir = FileChannel.open(target.getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException ignored) {
            // The rename has happened; only its durability across a crash is unconfirmed.
        }
        removeOrphans();
    }

    /** Removes the temporary file unless it was committed. Idempotent. */
    @Override
    public void close() throws IOException {
        if (!done) {
            done = true;
            Files.deleteIfExists(temp);
        }
    }

    /**
     * The file a write replaces: {@code file} itself, or the file a symbolic link points to.
     *
     * @throws IOException if that is not a regular file, or a link points nowhere
     */
    private static Path target(Path file) throws IOException {
        Path target = file.toAbsolutePath().normalize();
        if (target.getParent() == null || target.getFileName() == null) {
            throw new IOException(file + ": not a file path");
        }
        if (Files.isSymbolicLink(target)) {
            try {
                target = target.toRealPath();
            } catch (IOException e) {
                throw new IOException(file + ": a symbolic link to nothing", e);
            }
        }
        if (Files.exists(target) && !Files.isRegularFile(target)) {
            throw new IOException(file + ": not a regular file (a directory, device or pipe); "
                    + "it is never replaced");
        }
        return target;
    }

    /** Temporary files of {@code name}: {@code .<up to 32 characters of name>.}. */
    private static String tempPrefix(String name) {
        String base = name.codePointCount(0, name.length()) > 32
                ? name.substring(0, name.offsetByCodePoints(0, 32)) : name;
        return TEMP_PREFIX + base + ".";
    }

    /** Deletes temporary files of this target whose writer process no longer exists. */
    private void removeOrphans() {
        String prefix = tempPrefix(target.getFileName().toString());
        try (DirectoryStream<Path> files = Files.newDirectoryStream(target.getParent(),
                p -> p.getFileName().toString().startsWith(prefix)
                        && p.getFileName().toString().endsWith(TEMP_SUFFIX))) {
            for (Path p : files) {
                String rest = p.getFileName().toString().substring(prefix.length());
                int dash = rest.indexOf('-');
                if (dash <= 0) {
                    continue;
                }
                long pid;
                try {
                    pid = Long.parseLong(rest.substring(0, dash));
                } catch (NumberFormatException e) {
                    continue;
                }
                if (ProcessHandle.of(pid).isEmpty()) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException | RuntimeException e) {
            // Cleaning up after others is a courtesy; the write itself has succeeded.
        }
    }

    private static IOException named(Path file, IOException e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.contains(file.toString()) ? e : new IOException(file + ": " + message, e);
    }
}
