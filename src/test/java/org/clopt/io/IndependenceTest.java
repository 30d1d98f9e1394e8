package org.clopt.io;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The file formats depend on nothing else in clopt, as the package documentation promises. */
class IndependenceTest {
    private static final Pattern CLOPT_NAME = Pattern.compile("\\borg\\.clopt\\.(?!io\\b)[A-Za-z_*][\\w.]*");

    @Test
    void ioNamesNoOtherCloptPackage() throws IOException {
        Path sources = Path.of("src/main/java/org/clopt/io");
        assertTrue(Files.isDirectory(sources), "run from the project root: " + sources.toAbsolutePath());
        List<Path> files;
        try (Stream<Path> list = Files.list(sources)) {
            files = list.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
        assertTrue(files.size() >= 4, files.toString());
        for (Path file : files) {
            Matcher m = CLOPT_NAME.matcher(Files.readString(file));
            assertFalse(m.find(), () -> file + " names " + m.group());
        }
    }
}
