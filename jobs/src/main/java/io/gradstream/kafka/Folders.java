package io.gradstream.kafka;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** Removal of the folders that local mode, the embedded broker, benchmarks and tests create. */
public final class Folders {
    private Folders() {}

    /**
     * Deletes a folder and everything in it, as far as it can (what cannot be deleted is left); nothing when it does
     * not exist. Parts may vanish during the walk: Flink deletes its own temporary folders while it shuts down, and a
     * benchmark once stopped on the NoSuchFileException of a walk that met one of them.
     */
    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                file.toFile().delete();
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null && !(e instanceof NoSuchFileException)) {
                    throw e;
                }
                d.toFile().delete();
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
