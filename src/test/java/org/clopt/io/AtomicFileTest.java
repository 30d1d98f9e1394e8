package org.clopt.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Atomic outputs: all or nothing, named failures, regular files only, no orphans kept. */
class AtomicFileTest {
    @TempDir
    Path dir;

    private static AtomicFile.Body bytes(String text) {
        return out -> out.write(ByteBuffer.wrap(text.getBytes()));
    }

    @Test
    void outputsPreparedTogetherChangeNothingWhenOneFails() throws IOException {
        Path a = Files.writeString(dir.resolve("a"), "old a");
        Path b = Files.writeString(dir.resolve("b"), "old b");
        IOException e = assertThrows(IOException.class, () -> {
            try (AtomicFile first = AtomicFile.prepare(a, bytes("new a"));
                 AtomicFile second = AtomicFile.prepare(b, out -> {
                     throw new IOException("No space left on device");
                 })) {
                first.commit();
                second.commit();
            }
        });
        assertEquals(b + ": No space left on device", e.getMessage());
        assertEquals("old a", Files.readString(a));
        assertEquals("old b", Files.readString(b));
        try (var files = Files.list(dir)) {
            assertEquals(List.of("a", "b"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void onlyRegularFilesAreReplaced() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("sub"));
        IOException e = assertThrows(IOException.class, () -> AtomicFile.write(sub, bytes("x")));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
        assertTrue(Files.isDirectory(sub));
        Path target = Files.writeString(dir.resolve("target"), "old");
        Path link = Files.createSymbolicLink(dir.resolve("link"), target);
        AtomicFile.write(link, bytes("new"));
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("new", Files.readString(target));
    }

    @Test
    void aSuccessfulWriteRemovesWhatKilledWritersLeft() throws IOException {
        long dead = 4_000_000;
        while (ProcessHandle.of(dead).isPresent()) {
            dead++;
        }
        Path orphan = Files.writeString(dir.resolve(".out.npy." + dead + "-abc.tmp"), "partial");
        Path live = Files.writeString(dir.resolve(".out.npy." + ProcessHandle.current().pid() + "-def.tmp"), "busy");
        Path other = Files.writeString(dir.resolve(".other.npy." + dead + "-abc.tmp"), "not ours");
        AtomicFile.write(dir.resolve("out.npy"), bytes("done"));
        assertFalse(Files.exists(orphan));
        assertTrue(Files.exists(live), "a running writer's file stays");
        assertTrue(Files.exists(other), "another target's file stays");
        assertArrayEquals("done".getBytes(), Files.readAllBytes(dir.resolve("out.npy")));
    }
}
