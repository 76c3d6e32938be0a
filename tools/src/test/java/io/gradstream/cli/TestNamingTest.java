package io.gradstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Guards the split between fast unit tests ({@code *Test}, surefire) and tests that start Kafka, a Flink MiniCluster,
 * OpenCL or a browser ({@code *ITCase}, failsafe): a heavy test with the wrong name would slow every build, and a test
 * class with neither suffix would silently never run.
 */
class TestNamingTest {
    private static final List<String> HEAVY_MARKERS = List.of(
            "KafkaRaftServer",
            "KafkaClusterTestKit",
            "MiniClusterExtension",
            "MiniClusterWithClientResource",
            "org.jocl",
            "chromium",
            "EmbeddedKafka");

    private static List<Path> testSources() throws IOException {
        Path root = Path.of(System.getProperty("gradstream.project.dir"));
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(p -> p.toString().contains("/src/test/java/")
                            && p.toString().endsWith(".java"))
                    .filter(p -> !p.toString().contains("/target/"))
                    .toList();
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void everyTestClassIsNamedSoThatARunnerPicksItUp() throws IOException {
        List<Path> sources = testSources();
        assertThat(sources).as("test sources found").hasSizeGreaterThan(5);
        List<String> misnamed = sources.stream()
                .filter(p -> read(p).matches("(?s).*@(Test|ParameterizedTest|RepeatedTest)\\b.*"))
                .map(p -> p.getFileName().toString())
                .filter(n -> !n.endsWith("Test.java") && !n.endsWith("ITCase.java"))
                .toList();
        assertThat(misnamed)
                .as("test classes that neither surefire nor failsafe would run")
                .isEmpty();
    }

    @Test
    void heavyTestsAreIntegrationTests() throws IOException {
        List<String> heavyUnitTests = testSources().stream()
                .filter(p -> p.getFileName().toString().endsWith("Test.java"))
                // These two name the markers (and JOCL's packages) in their rules, without using them.
                .filter(p -> !p.getFileName().toString().equals("TestNamingTest.java")
                        && !p.getFileName().toString().equals("LayeringTest.java"))
                .filter(p -> HEAVY_MARKERS.stream().anyMatch(read(p)::contains))
                .map(p -> p.getFileName().toString())
                .toList();
        assertThat(heavyUnitTests)
                .as("*Test classes that start Kafka, Flink, OpenCL or a browser")
                .isEmpty();
    }
}
