package io.gradstream.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SignalChainingTest {
    @TempDir
    Path dir;

    @Test
    void aProcessWithLibjsigMappedMayUseOpenCl() throws Exception {
        Path maps = Files.writeString(
                dir.resolve("maps"),
                String.join(
                        "\n",
                        "7f0000000000-7f0000001000 r--p 00000000 fe:01 123 /usr/lib/jvm/jdk-17/lib/libjsig.so",
                        "7f0000002000-7f0000003000 r-xp 00000000 fe:01 456 /usr/lib/jvm/jdk-17/lib/server/libjvm.so"));
        assertThat(SignalChaining.missing(maps, "/usr/lib/jvm/jdk-17")).isEmpty();
    }

    @Test
    void withoutItTheRefusalNamesTheLibraryToPreload() throws Exception {
        Path maps = Files.writeString(
                dir.resolve("maps"),
                String.join(
                        "\n",
                        "7f0000002000-7f0000003000 r-xp 00000000 fe:01 456 /usr/lib/jvm/jdk-17/lib/server/libjvm.so",
                        "7f0000004000-7f0000005000 r-xp 00000000 fe:01 789 /usr/lib/x86_64-linux-gnu/libjsig.so.bak"));
        assertThat(SignalChaining.missing(maps, "/usr/lib/jvm/jdk-17"))
                .hasValueSatisfying(w -> assertThat(w).contains("LD_PRELOAD=/usr/lib/jvm/jdk-17/lib/libjsig.so"));
    }

    @Test
    void whereThereIsNoProcMapsNothingIsRefused() {
        assertThat(SignalChaining.missing(dir.resolve("no-such-maps"), "/jdk")).isEmpty();
    }
}
