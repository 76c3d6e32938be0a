package io.gradstream.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FoldersTest {
    @TempDir
    Path tmp;

    @Test
    void deletesATreeAndIgnoresAFolderThatIsNotThere() throws Exception {
        Path root = tree(tmp.resolve("a"), new ArrayList<>());
        Folders.deleteTree(root);
        assertThat(root).doesNotExist();
        Folders.deleteTree(root); // no longer there: nothing to do
    }

    /** Another thread deleting parts of the tree during the walk (as Flink does with its temporary folders). */
    @Test
    void partsThatVanishDuringTheWalkAreNoError() throws Exception {
        Random random = new Random(5);
        for (int round = 0; round < 30; round++) {
            List<Path> paths = new ArrayList<>();
            Path root = tree(tmp.resolve("r" + round), paths);
            Collections.shuffle(paths, random);
            CountDownLatch go = new CountDownLatch(1);
            Thread other = new Thread(() -> {
                try {
                    go.await();
                    for (Path p : paths) {
                        p.toFile().delete();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            other.start();
            go.countDown();
            Folders.deleteTree(root);
            other.join();
            Folders.deleteTree(root); // whatever the race left (a folder emptied after its visit)
            assertThat(root).doesNotExist();
        }
    }

    /** 8 folders of 8 folders of 8 files; every path into {@code paths}. */
    private static Path tree(Path root, List<Path> paths) throws Exception {
        for (int i = 0; i < 8; i++) {
            for (int j = 0; j < 8; j++) {
                Path d = Files.createDirectories(root.resolve("d" + i).resolve("e" + j));
                paths.add(d);
                for (int k = 0; k < 8; k++) {
                    paths.add(Files.writeString(d.resolve("f" + k), "x"));
                }
            }
            paths.add(root.resolve("d" + i));
        }
        return root;
    }
}
